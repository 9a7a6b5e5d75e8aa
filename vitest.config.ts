import os from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The emulator package by name, from its sources, as tsconfig.json's `paths` map it for tsc and tsx.
const emulator = (file: string): string => fileURLToPath(new URL(`./emulator/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@aml-steward\/azure-emulator$/, replacement: emulator("index.ts") },
      { find: /^@aml-steward\/azure-emulator\/cli$/, replacement: emulator("cli.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The integration files mostly wait (long-running operations, throttling, delivery), so one
    // file per core keeps the cores busy; vitest's default (cores - 1) ran them one at a time
    // on a 2-core machine.
    maxWorkers: Math.max(2, os.availableParallelism()),
  },
});
