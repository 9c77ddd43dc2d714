import type { Reporter, TestCase, TestModule } from "vitest/node";

/** A skipped test: its file and the names of the test and of every suite around it. */
export interface SkippedTest {
  file: string;
  names: readonly string[];
}

/** The reason a suite or test states in its title: `... [skipped: <reason>]`. */
const REASON = /\[skipped: (.+)\]$/;

/**
 * One line per distinct skip reason: how many tests it skipped, in which files, and why. Tests whose
 * titles (or whose suites' titles) carry no `[skipped: ...]` reason are left out.
 *
 * @example
 * skipReasonLines([{ file: "test/a.test.ts", names: ["mongodb conformance [skipped: TEST_MONGODB_URL is not set]", "x"] }]);
 * // ["skipped 1 test in test/a.test.ts: TEST_MONGODB_URL is not set"]
 */
export function skipReasonLines(skipped: readonly SkippedTest[]): string[] {
  const byReason = new Map<string, { tests: number; files: Set<string> }>();
  for (const test of skipped) {
    const reason = test.names.map((name) => REASON.exec(name)?.[1]).find((r) => r !== undefined);
    if (reason === undefined) continue;
    let entry = byReason.get(reason);
    if (!entry) byReason.set(reason, (entry = { tests: 0, files: new Set() }));
    entry.tests++;
    entry.files.add(test.file);
  }
  return [...byReason].map(([reason, { tests, files }]) => `skipped ${tests} test${tests === 1 ? "" : "s"} in ${[...files].join(", ")}: ${reason}`);
}

function namesOf(test: TestCase): string[] {
  const names = [test.name];
  for (let parent = test.parent; parent.type === "suite"; parent = parent.parent) names.push(parent.name);
  return names;
}

/**
 * Prints, after vitest's own summary (which counts skipped tests but does not say why), one line per
 * reason a suite or test skipped itself with, e.g. a backend's server suites when its URL is unset.
 * Added to the `reporters` of every package whose tests can skip themselves.
 */
export class SkipReasonReporter implements Reporter {
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped: SkippedTest[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests("skipped")) skipped.push({ file: module.relativeModuleId, names: namesOf(test) });
    }
    for (const line of skipReasonLines(skipped)) this.write(line);
  }
}
