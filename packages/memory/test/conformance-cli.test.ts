import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const cli = join(dirname(createRequire(import.meta.url).resolve("@langgraph-persist/conformance/package.json")), "dist", "cli.js");

async function conformanceCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: join(here, ".."), timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("langgraph-persist-conformance CLI", () => {
  it("runs the suite against a harness module and prints a per-group table with declared skips", async () => {
    const { code, stdout, stderr } = await conformanceCli("test/fixtures/memory-harness.ts", "--groups", "store");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^store conformance: memory \(cli\)\n\n {2}group\s+passed\s+failed\s+skipped\n/);
    expect(stdout).toMatch(/^ {2}store: search filters\s+24\s+0\s+0$/m);
    expect(stdout.match(/memory \(cli\)/g)).toHaveLength(1);
    expect(stderr).toMatch(/^conformance \[\d+\/\d+\] ✓ store: search filters \(24 passed\)$/m);
    expect(stdout).toContain("ttl - an item expires after the store's defaultTtl [capability not declared: ttl]");
    expect(stdout).toMatch(/^\d+ passed, 0 failed, \d+ skipped$/m);
  }, 120_000);

  it("exits non-zero with one clear line for a missing module or an unknown group", async () => {
    const missing = await conformanceCli("test/fixtures/nope.ts");
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`langgraph-persist-conformance: harness module not found: ${join(here, "fixtures", "nope.ts")}`);
    const unknown = await conformanceCli("test/fixtures/memory-harness.ts", "--groups", "storage");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown group(s): storage");
  });
});
