#!/usr/bin/env node
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { runReporting } from "./main.js";
import { processIo } from "./format.js";
import { runDemo } from "./demo/run.js";

// `pnpm demo` runs this file; `langgraph-persist demo` runs the same function.
const argv = process.argv.slice(2).filter((a) => a !== "--");
// Run from a checkout (`pnpm demo`) the bin is not on PATH: point at the built CLI instead.
const cliCommand = `node ${relative(process.cwd(), join(dirname(fileURLToPath(import.meta.url)), "cli.js"))}`;
runReporting(argv, processIo, () => runDemo(argv, processIo, { cliCommand })).then(
  (code) => process.stdout.write("", () => process.exit(code)),
  (err) => {
    process.stderr.write(`langgraph-persist demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
