/**
 * What `npm start` prints: every endpoint of the local stack and, for each function, how to
 * call it with the values of the env file it writes (so what is printed can be pasted into a
 * shell after `set -a; . .steward/local.env; set +a`).
 */
import type { LocalStack } from "../stack.js";

export function stackBanner(
  stack: Pick<LocalStack, "emulator" | "host" | "azurite" | "settings" | "missingModules">,
  opts: { envFile: string; eventSubscription: string },
): string {
  const s = stack.settings;
  const host = stack.host.url;
  const out: string[] = [];
  out.push(
    "",
    "aml-steward local stack is running (Ctrl-C stops it).",
    "",
    `  Azure emulator (ARM, Graph, Entra)  ${stack.emulator.url}   control API: ${stack.emulator.url}/_emulator/state`,
    `  Functions host                      ${host}`,
    `  Azurite (queues, tables, blobs)     ${stack.azurite?.queueUrl ?? "(given connection)"}`,
    "",
    "Functions, and how to call each one ($NAMES are settings in the env file):",
  );
  for (const f of stack.host.functions) {
    const head = `  ${f.name.padEnd(22)} ${f.trigger.padEnd(13)}`;
    switch (f.trigger) {
      case "eventGrid":
        out.push(
          `${head} POST $STEWARD_EVENTGRID_URL (Event Grid subscription '${opts.eventSubscription}' delivers every resource write)`,
          `${" ".repeat(39)}= ${stack.host.eventGridWebhookUrl(f.name)}`,
        );
        break;
      case "http": {
        const methods = (f.options.methods ?? ["GET", "POST"]).join("|");
        const key = f.options.authLevel === "anonymous" ? "" : "?code=$STEWARD_FUNCTION_KEY";
        const auth = f.options.authLevel === "anonymous" ? "  (Authorization: Bearer $TOKEN)" : "";
        out.push(`${head} ${methods} $STEWARD_FUNCTIONS_URL/api/${f.options.route ?? f.name}${key}${auth}`);
        break;
      }
      case "storageQueue":
        out.push(`${head} queue '${f.options.queueName}' (steward promote / approve put messages there)`);
        break;
      case "timer":
        out.push(
          `${head} schedule '${f.options.schedule}' (next ${stack.host.nextRun(f.name)?.toISOString() ?? "on demand"});` +
            ` run now: POST $STEWARD_FUNCTIONS_URL/admin/functions/${f.name} with x-functions-key: $STEWARD_MASTER_KEY`,
        );
        break;
    }
  }
  if (stack.missingModules.length > 0) out.push(`  Not available yet: ${stack.missingModules.join(", ")}`);
  const rel = opts.envFile;
  out.push(
    "",
    `Settings written to ${rel}:`,
    ...Object.entries(s).map(([k, v]) => `  ${k}=${v}`),
    "",
    "Use them in a shell:",
    `  set -a; . ${rel}; set +a`,
    "Post an event to the Event Grid function (a resource write event, Event Grid schema):",
    `  curl -s -X POST "$STEWARD_EVENTGRID_URL" -H 'aeg-event-type: Notification' -H 'content-type: application/json' -d @event.json`,
    "The HTTP functions take a bearer token for aml-steward's API, not a key; locally the emulator signs in a seeded person:",
    `  TOKEN=$(curl -sk -X POST "$STEWARD_EMULATOR_URL/_emulator/tokens" -H 'content-type: application/json' \\`,
    `    -d "{\\"userPrincipalName\\":\\"erin@contoso.com\\",\\"scope\\":\\"api://$STEWARD_API_CLIENT_ID/.default\\"}" | jq -r .access_token)`,
    `  curl -s -H "Authorization: Bearer $TOKEN" "$STEWARD_FUNCTIONS_URL/api/promotions/<request id>"`,
    "",
    "Try:",
    `  npx steward --settings ${rel} policy show`,
    `  npx steward --settings ${rel} promote docs/examples/promotion-request.json --as alice@contoso.com`,
    `  npx steward --settings ${rel} reconcile --dry-run`,
    "",
  );
  return out.join("\n");
}
