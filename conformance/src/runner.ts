import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";

/** One test result as vitest's JSON reporter reports it. */
export interface TestOutcome {
  /** Describe titles from the outermost, e.g. ["checkpointer conformance: sqlite", "list"]. */
  path: string[];
  title: string;
  status: "passed" | "failed" | "skipped";
  failure?: string;
}

export interface GroupSummary {
  suite: string;
  group: string;
  passed: number;
  failed: number;
  skipped: number;
  /** Names of skipped tests, with their reason. */
  skippedTests: string[];
  failedTests: string[];
}

/** Counts of one finished group, reported while the run goes on. */
export interface GroupProgress {
  suite: string;
  group: string;
  passed: number;
  failed: number;
  skipped: number;
}

/** What `runVitest` reports while tests run (through a reporter in the vitest process). */
export interface RunProgress {
  /** A test file was collected; `groups` is how many groups (second-level describes) it has. */
  onCollected?: (groups: number) => void;
  /** A group (a second-level describe) finished. */
  onGroup?: (group: GroupProgress) => void;
}

/**
 * A vitest reporter (run inside the vitest process) that writes one JSON line per event to file
 * descriptor 3, a pipe to the parent process, kept apart from the test output.
 */
const PROGRESS_REPORTER = `import { writeSync } from "node:fs";
function send(message) {
  const data = Buffer.from(JSON.stringify(message) + "\\n");
  for (let offset = 0, tries = 0; offset < data.length && tries < 1000; ) {
    try {
      offset += writeSync(3, data, offset);
    } catch (err) {
      if (err && err.code === "EAGAIN") { tries++; continue; }
      return;
    }
  }
}
function depth(suite) {
  let d = 0;
  for (let p = suite; p && p.type === "suite"; p = p.parent) d++;
  return d;
}
export default class ProgressReporter {
  onTestModuleCollected(testModule) {
    let groups = 0;
    for (const suite of testModule.children.allSuites()) if (depth(suite) === 2) groups++;
    send({ type: "collected", groups });
  }
  onTestSuiteResult(suite) {
    if (depth(suite) !== 2) return;
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const test of suite.children.allTests()) {
      const state = test.result().state;
      if (state === "passed") counts.passed++;
      else if (state === "failed") counts.failed++;
      else counts.skipped++;
    }
    send({ type: "group", suite: suite.parent.name, group: suite.name, ...counts });
  }
}
`;

/** Resolves the vitest CLI the way the caller's project would. */
export function resolveVitestBin(fromDir: string): string {
  const require = createRequire(join(fromDir, "noop.js"));
  const pkgPath = require.resolve("vitest/package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { bin: string | Record<string, string> };
  const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin.vitest;
  return join(dirname(pkgPath), bin);
}

/**
 * Runs vitest on `files` under `root` with the JSON reporter and returns every test outcome.
 * Console output of the run goes to `log` (stderr by default); `progress` hears of every collected
 * file and every finished group while the run goes on.
 */
export async function runVitest(
  root: string,
  files: string[],
  options: { env?: NodeJS.ProcessEnv; config?: string; log?: (chunk: string) => void; progress?: RunProgress } = {},
): Promise<{ outcomes: TestOutcome[]; exitCode: number }> {
  const out = mkdtempSync(join(tmpdir(), "lgp-conformance-"));
  const report = join(out, "report.json");
  const args = [resolveVitestBin(root), "run", ...files, "--reporter=json", `--outputFile=${report}`, "--reporter=dot"];
  const progress = options.progress;
  if (progress) {
    const reporter = join(out, "progress-reporter.mjs");
    writeFileSync(reporter, PROGRESS_REPORTER);
    args.push(`--reporter=${reporter}`);
  }
  if (options.config) args.push("--config", options.config);
  const log = options.log ?? ((c: string) => process.stderr.write(c));
  try {
    const exitCode = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe", progress ? "pipe" : "ignore"] });
      child.stdout!.on("data", (d: Buffer) => log(d.toString()));
      child.stderr!.on("data", (d: Buffer) => log(d.toString()));
      const events = child.stdio[3] as Readable | null;
      if (progress && events) {
        let pending = "";
        events.on("data", (d: Buffer) => {
          pending += d.toString();
          const lines = pending.split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) {
            if (line.trim() === "") continue;
            try {
              const event = JSON.parse(line) as { type: string; groups?: number } & GroupProgress;
              if (event.type === "collected") progress.onCollected?.(event.groups ?? 0);
              else if (event.type === "group") progress.onGroup?.({ suite: event.suite, group: event.group, passed: event.passed, failed: event.failed, skipped: event.skipped });
            } catch {
              // not a progress event: ignored
            }
          }
        });
      }
      child.on("error", reject);
      child.on("close", (code) => resolve(code ?? 1));
    });
    let json: { testResults?: Array<{ message?: string; name?: string; assertionResults?: Array<{ ancestorTitles: string[]; title: string; status: string; failureMessages?: string[] }> }> };
    try {
      json = JSON.parse(readFileSync(report, "utf8"));
    } catch {
      return { outcomes: [], exitCode: exitCode || 1 };
    }
    const outcomes: TestOutcome[] = [];
    for (const file of json.testResults ?? []) {
      for (const a of file.assertionResults ?? []) {
        const status = a.status === "passed" ? "passed" : a.status === "failed" ? "failed" : "skipped";
        outcomes.push({ path: a.ancestorTitles, title: a.title, status, failure: a.failureMessages?.[0]?.split("\n")[0] });
      }
      if ((file.assertionResults ?? []).length === 0 && file.message) {
        outcomes.push({ path: [file.name ?? "file"], title: "load", status: "failed", failure: file.message.split("\n")[0] });
      }
    }
    return { outcomes, exitCode };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Groups outcomes by suite (outermost describe) and group (second describe). */
export function summarize(outcomes: TestOutcome[]): GroupSummary[] {
  const map = new Map<string, GroupSummary>();
  for (const o of outcomes) {
    const suite = o.path[0] ?? "(top level)";
    const group = o.path[1] ?? "-";
    const k = `${suite}\u0000${group}`;
    let s = map.get(k);
    if (!s) map.set(k, (s = { suite, group, passed: 0, failed: 0, skipped: 0, skippedTests: [], failedTests: [] }));
    s[o.status]++;
    if (o.status === "skipped") s.skippedTests.push(o.title);
    if (o.status === "failed") s.failedTests.push(`${o.title}${o.failure ? ` — ${o.failure}` : ""}`);
  }
  return [...map.values()];
}

/** Renders rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** Writes a temporary vitest config that includes exactly `file`. */
export function writeSingleFileConfig(dir: string, file: string): { config: string; cleanup: () => void } {
  const tmp = mkdtempSync(join(tmpdir(), "lgp-conformance-config-"));
  const config = join(tmp, "vitest.config.mjs");
  writeFileSync(config, `export default { root: ${JSON.stringify(dir)}, test: { include: [${JSON.stringify(file)}], testTimeout: 60000, hookTimeout: 120000, fileParallelism: false } };\n`);
  return { config, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}
