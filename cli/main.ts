/** Process entry of the `steward` CLI (bin/steward.js loads it through tsx). */
import { main } from "./index.js";
import { processIo } from "./io.js";

export async function run(argv: string[] = process.argv.slice(2)): Promise<number> {
  return main(argv, processIo());
}
