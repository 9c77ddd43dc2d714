import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { resultsTable } from "../src/conformance-cli.js";
import { runVitest, writeSingleFileConfig, type GroupProgress } from "../src/runner.js";

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("runVitest progress", () => {
  it("reports the groups of a collected file and each group as it finishes, with its counts", async () => {
    // Inside the package (vitest leaves files under node_modules alone), so vitest resolves from here.
    const dir = join(PACKAGE_DIR, `.progress-test-${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(dir);
    try {
      const file = join(dir, "progress.test.ts");
      writeFileSync(
        file,
        `import { describe, it } from "vitest";
describe("suite conformance: x", () => {
  describe("first", () => {
    it("a", () => {});
    it.skip("b [capability not declared: ttl]", () => {});
  });
  describe("second", () => {
    it("c", () => { throw new Error("boom"); });
    it("d", () => {});
  });
});
`,
      );
      const { config, cleanup } = writeSingleFileConfig(dir, file);
      const collected: number[] = [];
      const groups: GroupProgress[] = [];
      try {
        const { outcomes } = await runVitest(dir, [file], { config, log: () => {}, progress: { onCollected: (n) => collected.push(n), onGroup: (g) => groups.push(g) } });
        expect(outcomes).toHaveLength(4);
      } finally {
        cleanup();
      }
      expect(collected).toEqual([2]);
      expect(groups).toEqual([
        { suite: "suite conformance: x", group: "first", passed: 1, failed: 0, skipped: 1 },
        { suite: "suite conformance: x", group: "second", passed: 1, failed: 1, skipped: 0 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("resultsTable", () => {
  it("names each suite once, as a heading, and keeps the rows to the group and its counts", () => {
    const suite = "store conformance: postgres://app:***@db.internal:5432/app?schema=conformance_scratch";
    const text = resultsTable([
      { suite, group: "store: batch", passed: 12, failed: 0, skipped: 0, skippedTests: [], failedTests: [] },
      { suite, group: "store: ttl", passed: 0, failed: 0, skipped: 3, skippedTests: [], failedTests: [] },
      { suite: "graph conformance: x", group: "graph: interrupts", passed: 4, failed: 1, skipped: 0, skippedTests: [], failedTests: [] },
    ]);
    expect(text.split(suite)).toHaveLength(2);
    expect(text.split("\n")).toEqual([
      suite,
      "",
      "  group         passed  failed  skipped",
      "  ------------  ------  ------  -------",
      "  store: batch  12      0       0",
      "  store: ttl    0       0       3",
      "",
      "graph conformance: x",
      "",
      "  group              passed  failed  skipped",
      "  -----------------  ------  ------  -------",
      "  graph: interrupts  4       1       0",
      "",
    ]);
  });
});
