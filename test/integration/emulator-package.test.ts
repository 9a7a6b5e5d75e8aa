/**
 * The emulator package (emulator/, `@aml-steward/azure-emulator`) stands alone: packed as npm
 * would publish it, installed in a folder outside the repository where only its declared
 * dependencies resolve, it starts from plain `node` (no tsx), from code and from its bin, and
 * serves a token, an ARM call and a Graph call with RBAC and Graph permissions enforced.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const MANIFEST = JSON.parse(readFileSync(path.join(ROOT, "emulator/package.json"), "utf8")) as {
  name: string;
  dependencies: Record<string, string>;
};

const SP = {
  objectId: "5a0c6a51-3f4e-4d9b-8c1a-2b3c4d5e6f70",
  appId: "6b1d7b62-4a5f-4eac-9d2b-3c4d5e6f7a81",
  displayName: "package-test-client",
  clientSecret: "package-test-secret",
};
const SUBSCRIPTION = "11111111-2222-4333-8444-555555555555";
const SEED = {
  subscriptions: [{ subscriptionId: SUBSCRIPTION, displayName: "Package test" }],
  resourceGroups: [{ subscriptionId: SUBSCRIPTION, name: "rg-package", location: "westeurope" }],
  servicePrincipals: [SP],
  // Reader on the subscription; Application.Read.All in Graph.
  roleAssignments: [
    {
      scope: `/subscriptions/${SUBSCRIPTION}`,
      roleDefinitionId: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
      principalId: SP.objectId,
      principalType: "ServicePrincipal" as const,
    },
  ],
  graphPermissions: [{ principalId: SP.objectId, permissions: ["Application.Read.All"] }],
};

/** What a client does with the emulator: a client-credentials token, then one ARM and one Graph call. */
const CLIENT = `
const [url, tenant] = process.argv.slice(1);
const token = async (scope) => {
  const res = await fetch(url + "/" + tenant + "/oauth2/v2.0/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: "${SP.appId}",
      client_secret: "${SP.clientSecret}", scope }),
  });
  return (await res.json()).access_token;
};
const get = async (path, scope) => {
  const res = await fetch(url + path, { headers: { authorization: "Bearer " + (await token(scope)) } });
  return { status: res.status, body: await res.json() };
};
const arm = await get("/subscriptions/${SUBSCRIPTION}/resourcegroups?api-version=2021-04-01", "https://management.azure.com/.default");
const write = await fetch(url + "/subscriptions/${SUBSCRIPTION}/resourcegroups/rg-new?api-version=2021-04-01", {
  method: "PUT",
  headers: { authorization: "Bearer " + (await token("https://management.azure.com/.default")), "content-type": "application/json" },
  body: JSON.stringify({ location: "westeurope" }),
});
const graph = await get("/v1.0/servicePrincipals?$select=appId", "https://graph.microsoft.com/.default");
const users = await get("/v1.0/users", "https://graph.microsoft.com/.default");
console.log(JSON.stringify({
  arm: { status: arm.status, names: arm.body.value.map((g) => g.name) },
  armWrite: write.status,
  graph: { status: graph.status, appIds: graph.body.value.map((s) => s.appId) },
  users: users.status,
}));
`;

/** Starts the emulator from code, as a user of the package would, and reports what it seeded. */
const FROM_CODE = `
import { startEmulator, EmulatorPrincipalCredential } from "@aml-steward/azure-emulator";
const emulator = await startEmulator({ seed: JSON.parse(process.argv[1]) });
console.log(JSON.stringify({
  url: emulator.url,
  client: emulator.directory.getServicePrincipalByAppId("${SP.appId}")?.displayName,
  credential: typeof EmulatorPrincipalCredential,
}));
await emulator.stop();
`;

let work: string;
let app: string;
let bin: ChildProcess | undefined;

/** Installs a dependency into the app by linking the repository's copy: only declared dependencies are there. */
function linkDependency(name: string): void {
  const target = path.join(app, "node_modules", name);
  mkdirSync(path.dirname(target), { recursive: true });
  symlinkSync(path.join(ROOT, "node_modules", name), target, "dir");
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "emulator-package-"));
  app = path.join(work, "app");
  mkdirSync(app);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ type: "module", private: true }));
  // `npm pack` runs the package's prepack (its tsc build) and keeps only its `files`.
  execFileSync("npm", ["pack", path.join(ROOT, "emulator"), "--pack-destination", work, "--silent"], {
    cwd: work,
    stdio: "pipe",
  });
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"))!;
  const installed = path.join(app, "node_modules", MANIFEST.name);
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["xzf", path.join(work, tarball), "-C", installed, "--strip-components=1"]);
  for (const dependency of Object.keys(MANIFEST.dependencies)) linkDependency(dependency);
}, 120_000);

afterAll(() => {
  bin?.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

describe("the emulator package, installed outside the repository", () => {
  it("holds the build and its README, no TypeScript sources", () => {
    const files = readdirSync(path.join(app, "node_modules", MANIFEST.name), { recursive: true }) as string[];
    expect(files).toContain("README.md");
    expect(files).toContain(path.join("dist", "index.js"));
    expect(files).toContain(path.join("dist", "index.d.ts"));
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
  });

  it("starts from code under plain node", () => {
    const out = execFileSync(
      process.execPath,
      ["--input-type=module", "-e", FROM_CODE, JSON.stringify(SEED)],
      {
        cwd: app,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "" },
      },
    );
    expect(JSON.parse(out)).toEqual({
      url: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/),
      client: SP.displayName,
      credential: "function",
    });
  });

  it("starts from its bin and serves a token, ARM and Graph with RBAC and Graph permissions", async () => {
    const seedFile = path.join(work, "seed.json");
    writeFileSync(seedFile, JSON.stringify(SEED));
    const certDir = path.join(work, "cert");
    bin = spawn(
      process.execPath,
      [
        path.join(app, "node_modules", MANIFEST.name, "dist/bin.js"),
        "--port",
        "0",
        "--seed",
        seedFile,
        "--cert-dir",
        certDir,
      ],
      { cwd: app, env: { PATH: process.env.PATH ?? "" } },
    );
    const banner = await new Promise<string>((resolve, reject) => {
      let text = "";
      bin!.stdout!.on("data", (c: Buffer) => {
        text += c.toString();
        if (text.includes("Control API")) resolve(text);
      });
      bin!.stderr!.on("data", (c: Buffer) => (text += c.toString()));
      bin!.once("exit", (code) => reject(new Error(`the bin exited with ${code}:\n${text}`)));
    });
    const [, url, tenant] = /listening on (\S+) \(tenant ([0-9a-f-]+)\)/.exec(banner)!;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", CLIENT, url!, tenant!], {
      cwd: app,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", NODE_EXTRA_CA_CERTS: path.join(certDir, "emulator-cert.pem") },
    });
    const result = JSON.parse(out);
    expect(result.arm).toEqual({ status: 200, names: ["rg-package"] });
    // Reader may read, not write: ARM authorisation is on by default.
    expect(result.armWrite).toBe(403);
    expect(result.graph.status).toBe(200);
    expect(result.graph.appIds).toContain(SP.appId);
    // Application.Read.All does not read users: Graph permissions are enforced.
    expect(result.users).toBe(403);
  });
});
