/**
 * The package's entry: startEmulator starts the whole emulator in-process (Entra token
 * endpoint, Microsoft Graph, ARM, the Event Grid bus and the control API) on one HTTPS port,
 * and the names its users need beside it are re-exported here. The command line is the
 * `./cli` export (cli.ts).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { LroManager } from "./arm/lro.js";
import { armRouter } from "./arm/router.js";
import { ArmState } from "./arm/state.js";
import { ArmThrottle } from "./arm/throttling.js";
import { ActivityLog } from "./arm/activityLog.js";
import type { ArmContext } from "./arm/context.js";
import { createCertificate } from "./cert.js";
import { cloudMetadataRouter } from "./cloudMetadata.js";
import { controlRouter } from "./control.js";
import { Directory, GRAPH_SERVICE_PRINCIPAL_ID } from "./directory.js";
import { entraRouter } from "./entra/router.js";
import { EventBus } from "./eventgrid/bus.js";
import { eventsRouter } from "./eventgrid/router.js";
import { FaultInjector } from "./faults.js";
import { graphRouter } from "./graph/router.js";
import { RequestLog } from "./requestLog.js";
import { startServer } from "./server.js";
import type { EmulatorSeed } from "./types.js";

export type * from "./types.js";
export type { RequestLogEntry, RouteKind } from "./requestLog.js";
export type { CloudEvent, EventGridEvent, EventLogEntry, EventSubscription } from "./eventgrid/types.js";
export { buildResourceEvent, toCloudEvent } from "./eventgrid/resourceEvents.js";
export { USER_TOKEN_CLIENT_APP_ID } from "./entra/claims.js";
export { GRAPH_APP_ID, GRAPH_SERVICE_PRINCIPAL_ID } from "./graph/appRoles.js";
export { createCertificate } from "./cert.js";
export { EmulatorPrincipalCredential, type EmulatorAccessToken } from "./principalCredential.js";
export type { Directory, GroupRecord } from "./directory.js";
export type { EventBus } from "./eventgrid/bus.js";
export type { ArmState } from "./arm/state.js";
export type { FaultInjector } from "./faults.js";
export type { RequestLog } from "./requestLog.js";
export type { ArmThrottle } from "./arm/throttling.js";
export type { ActivityLog } from "./arm/activityLog.js";

export interface StartEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: "127.0.0.1";
  seed?: EmulatorSeed;
  /** Where to create the TLS certificate when certPath/keyPath are not given (default: a temp dir). */
  certDir?: string;
  certPath?: string;
  keyPath?: string;
  /** Largest page a list returns (Azure: 1000). */
  pageSize?: number;
  tenantId?: string;
  /**
   * Authorise every ARM request against the role assignments in the emulator's state, and every
   * app-only Graph request against the caller's Graph app roles, as Azure does. Default true;
   * false only for tests about something else that act as principals without grants.
   */
  enforceRbac?: boolean;
}

export interface EmulatorHandle {
  url: string;
  caCertPath: string;
  tenantId: string;
  /** Environment settings that point the app (and NODE_EXTRA_CA_CERTS) at this emulator. */
  settings: Record<string, string>;
  stop(): Promise<void>;
  events: EventBus;
  directory: Directory;
  state: ArmState;
  faults: FaultInjector;
  requests: RequestLog;
  /** ARM throttling state and counters (settings: faults.update({throttling})). */
  throttle: ArmThrottle;
  /** The Activity Log built from the writes served. */
  activityLog: ActivityLog;
  /** Restores the initial seed (ARM, directory, event subscriptions and faults). */
  reset(): void;
  /** Adds to the current state. */
  seed(seed: EmulatorSeed): void;
}

/** Grants the seed's Microsoft Graph application permissions (app role values on Graph's service principal). */
function seedGraphPermissions(directory: Directory, seed: EmulatorSeed): void {
  const graph = directory.getPrincipal(GRAPH_SERVICE_PRINCIPAL_ID)!;
  for (const grant of seed.graphPermissions ?? []) {
    const principal = directory.getPrincipal(grant.principalId);
    if (!principal) throw new Error(`seed: graphPermissions names unknown principal ${grant.principalId}`);
    for (const value of grant.permissions) {
      const role = graph.appRoles?.find((r) => r.value === value);
      if (!role) throw new Error(`seed: Microsoft Graph has no application permission '${value}'`);
      directory.addAppRoleAssignment({
        principalId: principal.objectId,
        principalType: "ServicePrincipal",
        principalDisplayName: principal.displayName,
        resourceId: graph.objectId,
        resourceDisplayName: graph.displayName,
        appRoleId: role.id,
      });
    }
  }
}

export const DEFAULT_TENANT_ID = "7a1f3c2e-5b8d-4e6f-9a0b-1c2d3e4f5a6b";
export const DEFAULT_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000001";
export const DEFAULT_PAGE_SIZE = 1000;

export async function startEmulator(opts: StartEmulatorOptions = {}): Promise<EmulatorHandle> {
  const initialSeed: EmulatorSeed = opts.seed ?? {};
  const tenantId = opts.tenantId ?? initialSeed.tenantId ?? DEFAULT_TENANT_ID;
  let certPath = opts.certPath;
  let keyPath = opts.keyPath;
  // A certificate made in a temporary folder lives as long as this emulator.
  let tempCertDir: string | undefined;
  if (!certPath || !keyPath) {
    if (!opts.certDir) tempCertDir = await mkdtemp(path.join(os.tmpdir(), "steward-emulator-"));
    ({ certPath, keyPath } = await createCertificate(opts.certDir ?? tempCertDir!));
  }
  const [cert, key] = await Promise.all([readFile(certPath), readFile(keyPath)]);

  const now = (): number => Date.now();
  const faults = new FaultInjector();
  const log = new RequestLog();
  const directory = new Directory({ tenantId, now });
  const events = new EventBus({ tenantId, now });
  const state = new ArmState(tenantId);
  const lro = new LroManager(
    now,
    () => faults.get(),
    () => state.generation,
  );
  const throttle = new ArmThrottle(now, () => faults.get().throttling);
  const activityLog = new ActivityLog(tenantId, now);
  const ctx: ArmContext = {
    state,
    tenantId,
    now,
    faults: () => faults.get(),
    pageSize: opts.pageSize ?? DEFAULT_PAGE_SIZE,
    directory,
    // What Event Grid is told, the Activity Log records: both hear of a write when it succeeds.
    events: {
      publish: (write) => {
        activityLog.record(write);
        events.publish(write);
      },
    },
    lro,
    enforceRbac: opts.enforceRbac ?? true,
    throttle,
    activityLog,
  };

  const applySeed = (seed: EmulatorSeed): void => {
    directory.seed(seed);
    seedGraphPermissions(directory, seed);
    state.seed(seed, now());
  };
  const applyInitial = (): void => {
    applySeed(initialSeed);
    const hasArm =
      (initialSeed.subscriptions?.length ?? 0) +
        (initialSeed.resourceGroups?.length ?? 0) +
        (initialSeed.resources?.length ?? 0) >
      0;
    // With no ARM seed at all, one empty subscription makes the emulator usable out of the box.
    if (!hasArm)
      state.seed(
        {
          subscriptions: [{ subscriptionId: DEFAULT_SUBSCRIPTION_ID, displayName: "Emulated subscription" }],
        },
        now(),
      );
  };
  const reset = (): void => {
    state.clear();
    lro.clear();
    directory.reset();
    events.reset();
    faults.reset();
    throttle.reset();
    activityLog.clear();
    applyInitial();
  };
  applyInitial();

  const cloudMetadata = cloudMetadataRouter();
  const entra = entraRouter(directory, () => faults.get());
  const server = await startServer({
    cert,
    key,
    host: opts.host ?? "127.0.0.1",
    port: opts.port ?? 0,
    directory,
    faults,
    log,
    emulatorRouters: [
      eventsRouter(events),
      controlRouter({
        faults,
        log,
        reset,
        seed: applySeed,
        throttling: throttle,
        dump: () => ({
          arm: state.dump(),
          directory: directory.dump(),
          events: events.dump(),
          faults: faults.get(),
        }),
      }),
    ],
    // Unrouted paths go to Entra; ARM's cloud metadata is one of them (no /subscriptions prefix).
    entra: (req) => cloudMetadata(req) ?? entra(req),
    graph: graphRouter(directory, () => faults.get(), { enforcePermissions: opts.enforceRbac ?? true }),
    arm: armRouter(ctx),
  });

  const settings = {
    STEWARD_ARM_ENDPOINT: server.url,
    STEWARD_GRAPH_ENDPOINT: server.url,
    STEWARD_AUTHORITY_HOST: server.url,
    STEWARD_TENANT_ID: tenantId,
    NODE_EXTRA_CA_CERTS: certPath,
  };

  return {
    url: server.url,
    caCertPath: certPath,
    tenantId,
    settings,
    stop: async () => {
      await server.close();
      if (tempCertDir) await rm(tempCertDir, { recursive: true, force: true });
    },
    events,
    directory,
    state,
    faults,
    requests: log,
    throttle,
    activityLog,
    reset,
    seed: applySeed,
  };
}
