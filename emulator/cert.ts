/**
 * Makes the emulator's self-signed TLS certificate. The Azure SDKs refuse to send bearer
 * tokens over plain http, so the emulator must speak https; clients trust this certificate
 * through NODE_EXTRA_CA_CERTS (read only when a Node process starts).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import selfsigned from "selfsigned";

export async function createCertificate(dir: string): Promise<{ certPath: string; keyPath: string }> {
  await mkdir(dir, { recursive: true });
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 825 * 24 * 3600 * 1000);
  const pems = await selfsigned.generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      // The certificate is its own CA: NODE_EXTRA_CA_CERTS needs a trust anchor, and the SANs
      // cover both ways a user may spell the loopback host.
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
        ],
      },
    ],
  });
  const certPath = path.join(dir, "emulator-cert.pem");
  const keyPath = path.join(dir, "emulator-key.pem");
  await writeFile(certPath, pems.cert, { mode: 0o644 });
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  return { certPath, keyPath };
}
