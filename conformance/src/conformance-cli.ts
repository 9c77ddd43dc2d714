import { existsSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { runVitest, summarize, table, writeSingleFileConfig, type GroupProgress, type GroupSummary, type RunProgress } from "./runner.js";

const USAGE = `Usage: langgraph-persist-conformance <harness-module> [--groups checkpointer,store,graph] [--verbose]

Runs the langgraph-persist conformance suite against your backend and prints a pass/fail/skip table.
The harness module default-exports (or exports as \`harness\`) an object
  { name: string, saver?: SaverHarness, store?: StoreHarness }
(see the SaverHarness / StoreHarness types in @langgraph-persist/conformance).
Progress (one line per finished group, or a counter on a terminal) goes to stderr; the table to stdout.`;

export interface ConformanceCliOptions {
  /** Progress and errors (default: stderr). */
  err?: (s: string) => void;
  /** Whether `err` is a terminal: progress is then one counter redrawn in place (default: stderr's). */
  errIsTty?: boolean;
}

/** Progress of a run on stderr: a line per finished group, or one redrawn counter on a terminal. */
function progressPrinter(err: (s: string) => void, tty: boolean): RunProgress & { finish(): void } {
  const started = Date.now();
  let total = 0;
  let done = 0;
  const counts = { passed: 0, failed: 0, skipped: 0 };
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const tally = () => `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
  const of = () => (total > 0 ? `${done}/${total}` : String(done));
  const groupLine = (g: GroupProgress) =>
    `${g.failed > 0 ? "✗" : g.passed > 0 ? "✓" : "-"} ${g.group} (${[g.passed && `${g.passed} passed`, g.failed && `${g.failed} failed`, g.skipped && `${g.skipped} skipped`].filter(Boolean).join(", ") || "no tests"})`;
  return {
    onCollected(groups) {
      total += groups;
      if (!tty) err(`conformance: ${total} groups to run\n`);
      else err(`\r\x1b[2Kconformance: 0/${total} groups`);
    },
    onGroup(g) {
      done++;
      counts.passed += g.passed;
      counts.failed += g.failed;
      counts.skipped += g.skipped;
      if (!tty) {
        err(`conformance [${of()}] ${groupLine(g)}\n`);
        return;
      }
      // A failing group keeps its line; the counter is redrawn below it.
      if (g.failed > 0) err(`\r\x1b[2K${groupLine(g)}\n`);
      const counter = `conformance: ${of()} groups · ${tally()} · ${seconds()} · ${g.group}`;
      const width = (process.stderr.columns ?? 100) - 1;
      err(`\r\x1b[2K${counter.length > width ? counter.slice(0, width) : counter}`);
    },
    finish() {
      err(`${tty ? "\r\x1b[2K" : ""}conformance: ${done} groups finished in ${seconds()} (${tally()})\n`);
    },
  };
}

/** Suites in the order they ran, each with its groups. */
function bySuite(summary: GroupSummary[]): Array<{ suite: string; groups: GroupSummary[] }> {
  const map = new Map<string, GroupSummary[]>();
  for (const s of summary) map.set(s.suite, [...(map.get(s.suite) ?? []), s]);
  return [...map.entries()].map(([suite, groups]) => ({ suite, groups }));
}

/** The results: each suite's name once as a heading, then a short row per group. */
export function resultsTable(summary: GroupSummary[]): string {
  return bySuite(summary)
    .map(({ suite, groups }) => {
      const rows = table(["group", "passed", "failed", "skipped"], groups.map((g) => [g.group, String(g.passed), String(g.failed), String(g.skipped)]));
      return `${suite}\n\n${rows.split("\n").map((l) => `  ${l}`).join("\n")}\n`;
    })
    .join("\n");
}

/**
 * Runs the conformance CLI and returns its exit code. The results go to `print` (stdout by default);
 * progress and errors to `options.err` (stderr by default).
 */
export async function runConformanceCli(argv: string[], print: (s: string) => void = (s) => process.stdout.write(s), options: ConformanceCliOptions = {}): Promise<number> {
  const err = options.err ?? ((s: string) => process.stderr.write(s));
  const errIsTty = options.errIsTty ?? (options.err === undefined && process.stderr.isTTY === true);
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
    err(`langgraph-persist-conformance: harness module not found: ${modulePath}\n`);
    return 2;
  }
  const groupsArg = flag("groups");
  const groups = (groupsArg ?? "checkpointer,store,graph").split(",").map((g) => g.trim());
  const unknown = groups.filter((g) => !["checkpointer", "store", "graph"].includes(g));
  if (unknown.length) {
    err(`langgraph-persist-conformance: unknown group(s): ${unknown.join(", ")} (use checkpointer, store, graph)\n`);
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
    // Under --verbose vitest's own output is shown, and the progress lines would only interleave with it.
    const progress = verbose ? undefined : progressPrinter(err, errIsTty);
    const { outcomes, exitCode } = await runVitest(dir, [testFile], { config, log: verbose ? err : () => {}, progress });
    progress?.finish();
    const summary = summarize(outcomes);
    print(resultsTable(summary));
    const failed = summary.flatMap((s) => s.failedTests.map((t) => `  ✗ ${s.group}: ${t}`));
    const skipped = summary.flatMap((s) => s.skippedTests.map((t) => `  - ${s.group}: ${t}`));
    if (failed.length) print(`\nFailed:\n${failed.join("\n")}\n`);
    if (skipped.length) print(`\nSkipped:\n${skipped.join("\n")}\n`);
    const totals = summary.reduce((a, s) => ({ p: a.p + s.passed, f: a.f + s.failed, k: a.k + s.skipped }), { p: 0, f: 0, k: 0 });
    print(`\n${totals.p} passed, ${totals.f} failed, ${totals.k} skipped\n`);
    if (outcomes.length === 0) {
      err("langgraph-persist-conformance: no test ran (does the harness module load? re-run with --verbose)\n");
      return 1;
    }
    return totals.f > 0 || exitCode !== 0 ? 1 : 0;
  } finally {
    cleanup();
    rmSync(testFile, { force: true });
  }
}

