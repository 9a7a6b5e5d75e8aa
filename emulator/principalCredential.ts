/**
 * A TokenCredential that acts as any seeded principal of the emulator (a user such as a data
 * scientist, or a managed identity), through the emulator's POST /_emulator/tokens. Real users
 * sign in interactively and managed identities use their host's endpoint; neither exists on
 * a laptop, so tests and the demo use this to make writes "by" those people.
 */

/** The shape of @azure/core-auth's AccessToken, spelled out so the package needs no Azure SDK. */
export interface EmulatorAccessToken {
  token: string;
  expiresOnTimestamp: number;
}

/** Structurally a TokenCredential of @azure/core-auth: any Azure SDK client takes it. */
export class EmulatorPrincipalCredential {
  private cached = new Map<string, EmulatorAccessToken>();

  constructor(
    private readonly emulatorUrl: string,
    private readonly principal: { objectId: string },
  ) {}

  async getToken(scopes: string | string[], _options?: unknown): Promise<EmulatorAccessToken> {
    const scope = Array.isArray(scopes) ? scopes[0]! : scopes;
    const hit = this.cached.get(scope);
    if (hit && hit.expiresOnTimestamp - Date.now() > 60_000) return hit;
    const res = await fetch(`${this.emulatorUrl}/_emulator/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ objectId: this.principal.objectId, scope }),
    });
    if (!res.ok)
      throw new Error(
        `emulator refused a token for ${this.principal.objectId}: ${res.status} ${await res.text()}`,
      );
    const body = (await res.json()) as { access_token: string; expires_in: number };
    const token = { token: body.access_token, expiresOnTimestamp: Date.now() + body.expires_in * 1000 };
    this.cached.set(scope, token);
    return token;
  }
}
