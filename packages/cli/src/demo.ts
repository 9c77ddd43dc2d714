#!/usr/bin/env node
import { runReporting } from "./main.js";
import { processIo } from "./format.js";
import { runDemo } from "./demo/run.js";

// `pnpm demo` runs this file; `langgraph-persist demo` runs the same function.
const argv = process.argv.slice(2).filter((a) => a !== "--");
runReporting(argv, processIo, () => runDemo(argv, processIo)).then(
  (code) => process.stdout.write("", () => process.exit(code)),
  (err) => {
    process.stderr.write(`langgraph-persist demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
