import { existsSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { runVitest, summarize, table, writeSingleFileConfig } from "./runner.js";

const USAGE = `Usage: langgraph-persist-conformance <harness-module> [--groups checkpointer,store,graph] [--verbose]

Runs the langgraph-persist conformance suite against your backend and prints a pass/fail/skip table.
The harness module default-exports (or exports as \`harness\`) an object
  { name: string, saver?: SaverHarness, store?: StoreHarness }
(see the SaverHarness / StoreHarness types in @langgraph-persist/conformance).`;


/** Runs the conformance CLI; returns its exit code and the text it printed. */
export async function runConformanceCli(argv: string[], print: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const args = argv.filter((a) => !a.startsWith("--"));
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv.includes("--help") || argv.includes("-h") || args.length === 0) {
    print(USAGE + "\n");
    return args.length === 0 && !argv.includes("--help") && !argv.includes("-h") ? 2 : 0;
  }
  const modulePath = resolve(args[0]);
  if (!existsSync(modulePath)) {
    print(`langgraph-persist-conformance: harness module not found: ${modulePath}\n`);
    return 2;
  }
  const groupsArg = flag("groups");
  const groups = (groupsArg ?? "checkpointer,store,graph").split(",").map((g) => g.trim());
  const unknown = groups.filter((g) => !["checkpointer", "store", "graph"].includes(g));
  if (unknown.length) {
    print(`langgraph-persist-conformance: unknown group(s): ${unknown.join(", ")}\n`);
    return 2;
  }
  const dir = dirname(modulePath);
  const testFile = resolve(dir, `.lgp-conformance-${process.pid}.test.ts`);
  const spec = JSON.stringify("./" + basename(modulePath));
  writeFileSync(
    testFile,
    `import * as mod from ${spec};
import { describe, it } from "vitest";
import { runCheckpointerConformance, runStoreConformance, runGraphConformance } from "@langgraph-persist/conformance";
const h: any = (mod as any).harness ?? (mod as any).default?.harness ?? (mod as any).default;
if (!h || typeof h.name !== "string") {
  describe("harness", () => it("exports { name, saver?, store? }", () => { throw new Error("The harness module must export { name, saver?, store? } as default or as \`harness\`"); }));
} else {
  ${groups.includes("checkpointer") ? "if (h.saver) runCheckpointerConformance(h.saver);" : ""}
  ${groups.includes("store") ? "if (h.store) runStoreConformance(h.store);" : ""}
  ${groups.includes("graph") ? "if (h.saver && h.store) runGraphConformance({ name: h.name, saver: h.saver, store: h.store });" : ""}
}
`,
  );
  const { config, cleanup } = writeSingleFileConfig(dir, testFile);
  try {
    const verbose = argv.includes("--verbose");
    const { outcomes, exitCode } = await runVitest(dir, [testFile], { config, log: verbose ? undefined : () => {} });
    const summary = summarize(outcomes);
    print(table(["suite", "group", "passed", "failed", "skipped"], summary.map((s) => [s.suite, s.group, String(s.passed), String(s.failed), String(s.skipped)])) + "\n");
    const failed = summary.flatMap((s) => s.failedTests.map((t) => `  ✗ ${s.group}: ${t}`));
    const skipped = summary.flatMap((s) => s.skippedTests.map((t) => `  - ${s.group}: ${t}`));
    if (failed.length) print(`\nFailed:\n${failed.join("\n")}\n`);
    if (skipped.length) print(`\nSkipped:\n${skipped.join("\n")}\n`);
    const totals = summary.reduce((a, s) => ({ p: a.p + s.passed, f: a.f + s.failed, k: a.k + s.skipped }), { p: 0, f: 0, k: 0 });
    print(`\n${totals.p} passed, ${totals.f} failed, ${totals.k} skipped\n`);
    if (outcomes.length === 0) {
      print("langgraph-persist-conformance: no test ran (does the harness module load? re-run with --verbose)\n");
      return 1;
    }
    return totals.f > 0 || exitCode !== 0 ? 1 : 0;
  } finally {
    cleanup();
    rmSync(testFile, { force: true });
  }
}

