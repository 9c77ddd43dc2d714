#!/usr/bin/env node
import { main } from "./main.js";

// Exit explicitly: a driver that is still reconnecting to an unreachable server must not keep the
// process alive after the error has been reported.
main(process.argv.slice(2)).then(
  (code) => process.stdout.write("", () => process.exit(code)),
  (err) => {
    process.stderr.write(`langgraph-persist: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
