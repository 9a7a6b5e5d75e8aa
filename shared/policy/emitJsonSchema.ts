/** Writes estate-policy.schema.json beside the default policy, for editors (`npm run policy:schema`). */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { policyJsonSchema } from "./index.js";

const target = fileURLToPath(new URL("./estate-policy.schema.json", import.meta.url));
writeFileSync(target, JSON.stringify(policyJsonSchema(), null, 2) + "\n");
console.log(`wrote ${target}`);
