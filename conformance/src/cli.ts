#!/usr/bin/env node
import { runConformanceCli } from "./conformance-cli.js";

runConformanceCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`langgraph-persist-conformance: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
