import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The tests run the built CLI as a process: build it once, first. */
export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const require = createRequire(join(root, "package.json"));
  const pkgPath = require.resolve("tsup/package.json");
  const bin = (JSON.parse(readFileSync(pkgPath, "utf8")) as { bin: Record<string, string> }).bin.tsup;
  execFileSync(process.execPath, [join(dirname(pkgPath), bin)], { cwd: root, stdio: "pipe" });
}
