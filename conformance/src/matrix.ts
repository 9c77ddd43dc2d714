#!/usr/bin/env node
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runVitest, summarize, table, type GroupSummary } from "./runner.js";

/**
 * `pnpm conformance`: runs the conformance suite of every built-in adapter (each package's
 * test/conformance.test.ts, against the backends the environment provides) and prints a matrix of
 * results per backend and suite, then the skipped tests with their reasons.
 */
async function main(): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const repo = resolve(here, "..", "..");
  const packagesDir = join(repo, "packages");
  const packages = readdirSync(packagesDir)
    .filter((p) => existsSync(join(packagesDir, p, "test", "conformance.test.ts")))
    .sort((a, b) => order(a) - order(b));
  const rows: string[][] = [];
  const notes: string[] = [];
  let failed = 0;
  let ran = 0;
  for (const pkg of packages) {
    const dir = join(packagesDir, pkg);
    const name = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string }).name;
    process.stderr.write(`\n▶ ${name}\n`);
    const { outcomes, exitCode } = await runVitest(dir, ["test/conformance.test.ts"]);
    const summary = summarize(outcomes);
    if (outcomes.length === 0) {
      rows.push([pkg, "(no test ran)", "-", "-", "-", "-"]);
      failed += exitCode === 0 ? 0 : 1;
      continue;
    }
    for (const suite of groupBySuite(summary)) {
      const s = suite.groups.reduce((a, g) => ({ p: a.p + g.passed, f: a.f + g.failed, k: a.k + g.skipped }), { p: 0, f: 0, k: 0 });
      ran += s.p + s.f;
      failed += s.f;
      rows.push([pkg, suite.suite, String(s.p), String(s.f), String(s.k), s.f ? "FAIL" : s.p === 0 ? "SKIPPED" : "ok"]);
      for (const g of suite.groups) {
        for (const t of g.skippedTests) notes.push(`${pkg} · ${suite.suite} · ${g.group}: ${t}`);
        for (const t of g.failedTests) notes.push(`${pkg} · ${suite.suite} · ${g.group}: ✗ ${t}`);
      }
    }
  }
  process.stdout.write("\nConformance matrix\n\n");
  process.stdout.write(table(["package", "suite", "passed", "failed", "skipped", "result"], rows) + "\n");
  if (notes.length) process.stdout.write(`\nSkipped or failed tests:\n${notes.map((n) => `  ${n}`).join("\n")}\n`);
  process.stdout.write(`\n${ran - failed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

const ORDER = ["memory", "sqlite", "postgres", "redis", "mongodb"];
function order(pkg: string): number {
  const i = ORDER.indexOf(pkg);
  return i === -1 ? ORDER.length : i;
}

function groupBySuite(summary: GroupSummary[]): Array<{ suite: string; groups: GroupSummary[] }> {
  const map = new Map<string, GroupSummary[]>();
  for (const s of summary) {
    const list = map.get(s.suite) ?? [];
    list.push(s);
    map.set(s.suite, list);
  }
  return [...map.entries()].map(([suite, groups]) => ({ suite, groups }));
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`conformance matrix: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
