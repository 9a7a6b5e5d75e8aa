#!/usr/bin/env node
/**
 * The package's `azure-emulator` command: an emulator with no estate but one empty subscription,
 * or the one given with --seed FILE (cli.ts lists the options).
 */
import { runEmulatorCli } from "./cli.js";
import { runCommand } from "./lifecycle.js";

runCommand(() => runEmulatorCli());
