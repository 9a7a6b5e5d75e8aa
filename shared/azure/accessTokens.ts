/**
 * Bearer tokens for the lean clients, from the app's own TokenCredential (managed identity in
 * Azure, the emulator's service principal locally), cached per scope. The credential caches
 * too (MSAL), but asking it costs a cache lookup with claims checks on every call; the SDKs'
 * bearer policy keeps the token itself for the same reason, and so does this.
 *
 * Same refresh rule as that policy: a token is used until its `refreshAfterTimestamp` (or two
 * minutes before it expires); then the next call asks the credential again, concurrent calls
 * sharing that one request. If the refresh fails while the old token still has 30 s, the old
 * one is used (the credential's failure is thrown once it has not).
 */
import type { AccessToken, TokenCredential } from "@azure/core-auth";

const REFRESH_BEFORE_EXPIRY_MS = 2 * 60_000;
const STILL_USABLE_MS = 30_000;

export class AccessTokens {
  private readonly cached = new Map<string, AccessToken>();
  private readonly pending = new Map<string, Promise<AccessToken>>();

  constructor(
    private readonly credential: TokenCredential,
    private readonly now: () => number = Date.now,
  ) {}

  /** `Bearer <token>` for `scope`, from the cache while it is fresh. */
  async authorization(scope: string): Promise<string> {
    const token = this.cached.get(scope);
    if (token && this.now() < refreshAt(token)) return `Bearer ${token.token}`;
    try {
      return `Bearer ${(await this.refresh(scope)).token}`;
    } catch (e) {
      if (token && this.now() < token.expiresOnTimestamp - STILL_USABLE_MS) return `Bearer ${token.token}`;
      throw e;
    }
  }

  private refresh(scope: string): Promise<AccessToken> {
    let p = this.pending.get(scope);
    if (!p) {
      p = this.credential.getToken(scope).then((token) => {
        if (!token) throw new Error(`the credential returned no token for ${scope}`);
        this.cached.set(scope, token);
        return token;
      });
      const settle = () => this.pending.delete(scope);
      p.then(settle, settle);
      this.pending.set(scope, p);
    }
    return p;
  }
}

function refreshAt(token: AccessToken): number {
  return token.refreshAfterTimestamp ?? token.expiresOnTimestamp - REFRESH_BEFORE_EXPIRY_MS;
}
