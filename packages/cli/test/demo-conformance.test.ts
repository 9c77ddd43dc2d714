import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEMO, PACKAGE_ROOT, cli, runNode, tempDir, testBackends, uniqueTag } from "./helpers.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const { available, skipped } = testBackends(tmp.dir);

function expectTranscript(stdout: string): void {
  expect(stdout).toMatch(/── thread demo-1 · user 1[^\n]*\n {2}user: Hi! Remember: my name is Bob\n(?: {4}·[^\n]*\n)* {2}ai: {3}Nice to meet you, Bob! I'll remember that\./);
  expect(stdout).toContain(`store.put(["memories","1"], "name") ← "User's name is Bob"`);
  expect(stdout).toMatch(/── thread demo-2 · user 1[^\n]*\n {2}user: what is my name\?\n {4}· store\.search\(\["memories","1"\], "what is my name\?"\) → "User's name is Bob" \(similarity 0\.\d+\)\n {2}ai: {3}Your name is Bob\./);
  expect(stdout).toMatch(/── thread demo-3 · user 2[^\n]*\n {2}user: what is my name\?\n {4}· store\.search\(\["memories","2"\], "what is my name\?"\) → no memories\n {2}ai: {3}I don't know your name yet/);
  expect(stdout).toMatch(/^What is stored now/m);
  expect(stdout).toMatch(/^memories\/1\s+name\s+User's name is Bob/m);
}

describe("demo", () => {
  it("default: a SQLite file at .data/demo.db under the working directory; a second process finds the first run's data", async () => {
    const cwd = join(tmp.dir, `demo-${uniqueTag()}`);
    mkdirSync(cwd);
    const first = await runNode(DEMO, [], { cwd });
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("backend sqlite:.data/demo.db");
    expect(first.stdout).toContain("Nothing stored yet: this is the first run");
    expectTranscript(first.stdout);
    expect(first.stdout).toMatch(/^demo-1\s+3\s+2\s/m); // 3 checkpoints, 2 messages
    expect(existsSync(join(cwd, ".data", "demo.db"))).toBe(true);

    const second = await runNode(DEMO, ["--"], { cwd });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("Found data from an earlier run: 3 threads (9 checkpoints) and 1 memory.");
    expect(second.stdout).toContain(`remembered for user 1: "User's name is Bob"`);
    expect(second.stdout).toContain("── thread demo-2 · user 1 · resumes 2 earlier messages from the checkpointer");
    expectTranscript(second.stdout);
    expect(second.stdout).toMatch(/^demo-1\s+6\s+4\s/m);

    const reset = await runNode(DEMO, ["--reset"], { cwd });
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain("Nothing stored yet");
    expect(reset.stdout).toMatch(/^demo-1\s+3\s+2\s/m);
  });

  it("langgraph-persist demo --backend memory: runs the same script in memory", async () => {
    const r = await cli(["demo", "--backend", "memory:"]);
    expect(r.code).toBe(0);
    expectTranscript(r.stdout);
    expect(r.stdout).toContain("memory: keeps nothing after the process exits");
  });

  it("an unknown backend is one line on stderr", async () => {
    const r = await runNode(DEMO, ["--backend", "cassandra://x"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^langgraph-persist: unknown backend scheme "cassandra:"/);
  });

  for (const backend of available.filter((b) => b.name !== "sqlite")) {
    it(`--backend ${backend.name}: the memory survives a restart there too`, async () => {
      const tag = uniqueTag();
      try {
        const first = await runNode(DEMO, ["--backend", backend.url(tag)]);
        expect(first.stderr.split("\n").filter((l) => l && !l.startsWith("[WARN]"))).toEqual([]);
        expect(first.code).toBe(0);
        expectTranscript(first.stdout);
        const second = await runNode(DEMO, ["--backend", backend.url(tag)]);
        expect(second.code).toBe(0);
        expect(second.stdout).toContain("Found data from an earlier run: 3 threads (9 checkpoints) and 1 memory.");
      } finally {
        await backend.cleanup(tag);
      }
    });
  }
  if (skipped.length) it.skip(`other backends [skipped: ${skipped.join("; ")}]`, () => {});
});

describe("conformance", () => {
  it("runs the suite against a backend URL: progress per group on stderr, the suite named once above short rows on stdout", async () => {
    const r = await cli(["conformance", "memory:", "--groups", "store"]);
    expect(r.stdout).toMatch(/^store conformance: memory:\n\n {2}group\s+passed\s+failed\s+skipped\n/m);
    expect(r.stdout).toMatch(/^ {2}store: batch\s+\d+\s+0\s+0$/m);
    expect(r.stdout.match(/memory:/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed, 0 skipped$/m);
    // Not a terminal: a line per finished group as it finishes, and the total at the end.
    const groups = Number(/^conformance: (\d+) groups to run$/m.exec(r.stderr)?.[1]);
    expect(groups).toBeGreaterThan(5);
    expect(r.stderr).toMatch(/^conformance \[1\/\d+\] ✓ store: \S.* \(\d+ passed\)$/m);
    expect(r.stderr).toMatch(/^conformance \[\d+\/\d+\] ✓ store: batch \(\d+ passed\)$/m);
    expect(r.stderr.match(/^conformance \[\d+\/\d+\] /gm)).toHaveLength(groups);
    expect(r.stderr).toMatch(new RegExp(`^conformance: ${groups} groups finished in [\\d.]+s \\(\\d+ passed, 0 failed, 0 skipped\\)$`, "m"));
    expect(r.code).toBe(0);
  });

  it("runs the suite from a harness module", async () => {
    const dir = join(PACKAGE_ROOT, `.conformance-test-${uniqueTag()}`);
    mkdirSync(dir);
    try {
      const harness = join(dir, "harness.mjs");
      writeFileSync(
        harness,
        `import { MemorySaver } from "@langgraph-persist/memory";
export default { name: "module", saver: { name: "module", capabilities: new MemorySaver().capabilities, async create(o) { const s = new MemorySaver(o); await s.setup(); return s; } } };
`,
      );
      const r = await cli(["conformance", harness, "--groups", "checkpointer"]);
      expect(r.stdout).toMatch(/^checkpointer conformance: module\n/m);
      expect(r.stdout).toMatch(/^\d+ passed, 0 failed, \d+ skipped$/m);
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a harness module that does not exist is named as such; an argument that is no path either is neither a module nor a URL", async () => {
    for (const arg of ["./no-such-harness.mjs", "no-such-harness.ts", "harnesses/mine.js"]) {
      const r = await cli(["conformance", arg]);
      expect(r.code, arg).toBe(2);
      expect(r.stderr.trim(), arg).toBe(`langgraph-persist: conformance: harness module not found: ${join(PACKAGE_ROOT, arg)}`);
    }
    const r = await cli(["conformance", "scratch"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^langgraph-persist: conformance: "scratch" is neither a harness module nor a backend URL \(memory:, sqlite:/);
  });
});
