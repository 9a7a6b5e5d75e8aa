/**
 * Who runs `steward`: the caller's access token for aml-steward's API, sent with every request
 * and approval. In Azure it is the person signed in to the Azure CLI or the Azure Developer CLI
 * (`az login` / `azd auth login`); against the local stack, `--as UPN` (or STEWARD_AS) names a
 * seeded person and the emulator's Entra signs them in. There is no other way to say who you are.
 */
import { AzureCliCredential, AzureDeveloperCliCredential, ChainedTokenCredential } from "@azure/identity";
import type { Settings } from "../shared/config/settings.js";
import { UsageError } from "./io.js";

export async function callerAccessToken(settings: Settings, as: string | undefined): Promise<string> {
  const api = settings.STEWARD_API_CLIENT_ID;
  if (!api)
    throw new UsageError(
      "STEWARD_API_CLIENT_ID is not set: steward cannot ask for a token for aml-steward's API",
    );
  const scope = `api://${api}/.default`;
  const who = as ?? process.env.STEWARD_AS;
  const emulator = process.env.STEWARD_EMULATOR_URL;
  if (who) {
    if (!emulator)
      throw new UsageError(
        "--as works only against the local stack (STEWARD_EMULATOR_URL); in Azure you are whoever `az login` signed in",
      );
    const res = await fetch(`${emulator.replace(/\/+$/, "")}/_emulator/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userPrincipalName: who, scope }),
    });
    if (!res.ok)
      throw new UsageError(`the local emulator cannot sign in ${who}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }
  if (emulator)
    throw new UsageError(
      "say who you are on the local stack: --as UPN (e.g. --as alice@contoso.com) or STEWARD_AS",
    );
  const credential = new ChainedTokenCredential(
    new AzureCliCredential({ tenantId: settings.STEWARD_TENANT_ID }),
    new AzureDeveloperCliCredential({ tenantId: settings.STEWARD_TENANT_ID }),
  );
  try {
    return (await credential.getToken(scope)).token;
  } catch (e) {
    throw new UsageError(`sign in first (az login or azd auth login): ${(e as Error).message}`);
  }
}
