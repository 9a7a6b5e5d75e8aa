/**
 * The tenant's signing key and JWT signing: an RSA key pair made in this process (the private
 * key never leaves it, so nothing outside can mint a token and a token of one emulator process
 * is worthless in another), published as a JWKS with an RFC 7638 thumbprint as kid.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";

/** A public signing key as the tenant's JWKS publishes it. */
export interface PublicJwk {
  kty: "RSA";
  use: "sig";
  alg: "RS256";
  kid: string;
  n: string;
  e: string;
}

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: PublicJwk;
}

export function makeSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const { n, e } = publicKey.export({ format: "jwk" });
  if (!n || !e) throw new Error("node:crypto exported an RSA public key without n or e");
  // RFC 7638 thumbprint: the same key always gets the same kid, whoever computes it.
  const kid = createHash("sha256")
    .update(JSON.stringify({ e, kty: "RSA", n }))
    .digest("base64url");
  return { privateKey, publicKey, jwk: { kty: "RSA", use: "sig", alg: "RS256", kid, n, e } };
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

/** A compact RS256 JWS of the claims, with the key's kid in the header. */
export function signJwt(key: SigningKey, claims: object): string {
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid: key.jwk.kid }));
  const payload = b64url(JSON.stringify(claims));
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), key.privateKey).toString("base64url");
  return `${header}.${payload}.${signature}`;
}
