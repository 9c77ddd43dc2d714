#!/usr/bin/env node
// The package's command. This file is part of the package as written (not built), so package managers
// can link the command even when the package is installed before it is built, as in a workspace
// checkout; the CLI itself is dist/cli.js.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(`langgraph-persist-conformance: ${fileURLToPath(cli)} is missing: the package has not been built (in its repository: pnpm build)\n`);
  process.exit(1);
}
await import(cli.href);
