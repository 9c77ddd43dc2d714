import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "../args.js";
import { SUPPORTED_URLS, parseBackendUrl } from "../backends.js";
import { CliError, UsageError } from "../errors.js";
import type { Io } from "../format.js";

export const CONFORMANCE_HELP = `Usage: langgraph-persist conformance <harness-module | url> [--groups checkpointer,store,graph] [--verbose]

Runs the langgraph-persist conformance suite and prints a pass/fail/skip table per suite (stdout), with
a progress line per finished group (a counter on a terminal) on stderr.
  <harness-module>   a module exporting { name, saver?, store? } harnesses (see @langgraph-persist/conformance)
  <url>              a backend URL (sqlite:./scratch.db, postgres://…, redis://…, mongodb://…, memory:):
                     the suite runs against fresh savers and stores opened on it. It writes test data
                     (unique ids, one per test): use a scratch database.

Needs @langgraph-persist/conformance and vitest installed next to the CLI.`;

const MISSING = "the conformance command needs @langgraph-persist/conformance and vitest: npm install -D @langgraph-persist/conformance vitest";

type RunConformanceCli = (argv: string[], print?: (s: string) => void, options?: { err?: (s: string) => void; errIsTty?: boolean }) => Promise<number>;

async function loadRunner(): Promise<RunConformanceCli> {
  try {
    return ((await import("@langgraph-persist/conformance")) as { runConformanceCli: RunConformanceCli }).runConformanceCli;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new CliError(MISSING, { cause: err });
    }
    throw err;
  }
}

/** An argument meant as a file: it names a directory or has a module's extension. */
function looksLikePath(arg: string): boolean {
  return /[\\/]/.test(arg) || /\.(?:[cm]?[jt]s|tsx|jsx)$/i.test(arg);
}

function looksLikeUrl(arg: string): boolean {
  if (existsSync(resolve(arg)) && !/\.(db|sqlite|sqlite3|db3)$/i.test(arg)) return false;
  try {
    parseBackendUrl(arg);
    return true;
  } catch {
    return false;
  }
}

/**
 * A directory outside any `node_modules` (vitest skips test files inside one) whose own
 * `node_modules` points at the one that holds vitest and the conformance suite.
 */
function scratchDir(): string {
  // The node_modules that lists both packages, found by walking up from the CLI itself (not by
  // resolving them: that would follow workspace/pnpm symlinks to their real location).
  let modules: string | undefined;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules");
    if (existsSync(join(candidate, "@langgraph-persist", "conformance")) && existsSync(join(candidate, "vitest"))) {
      modules = candidate;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  if (!modules) throw new CliError(MISSING);
  const dir = mkdtempSync(join(tmpdir(), "lgp-conformance-url-"));
  symlinkSync(modules, join(dir, "node_modules"), "dir");
  return dir;
}

export async function conformanceCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { groups: { type: "string" } }, "conformance");
  if (values.help || positionals.length === 0) {
    io.out(CONFORMANCE_HELP + "\n");
    return values.help ? 0 : 2;
  }
  if (positionals.length > 1) throw new UsageError(`conformance: unexpected argument ${JSON.stringify(positionals[1])}`);
  const target = positionals[0];
  const passThrough = [...(values.groups ? ["--groups", values.groups] : []), ...(values.verbose ? ["--verbose"] : [])];
  const streams = { err: io.err, errIsTty: io.errIsTty };
  if (!looksLikeUrl(target)) {
    if (!existsSync(resolve(target))) {
      if (looksLikePath(target)) throw new UsageError(`conformance: harness module not found: ${resolve(target)}`);
      throw new UsageError(`conformance: ${JSON.stringify(target)} is neither a harness module nor a backend URL (${SUPPORTED_URLS})`);
    }
    const run = await loadRunner();
    return run([resolve(target), ...passThrough], io.out, streams);
  }
  const run = await loadRunner();
  const spec = parseBackendUrl(target);
  const dir = scratchDir();
  try {
    const harness = join(dir, "harness.mjs");
    const harnessModule = new URL("./harness.js", import.meta.url).href;
    // The URL is read from the environment, so it never appears in a file on disk.
    writeFileSync(
      harness,
      `import { harnessFromUrl } from ${JSON.stringify(harnessModule)};\nexport default await harnessFromUrl(process.env.LGP_CONFORMANCE_URL);\n`,
    );
    process.env.LGP_CONFORMANCE_URL = target;
    io.err(`Running the conformance suite against ${spec.display}\n`);
    return await run([harness, ...passThrough], io.out, streams);
  } finally {
    delete process.env.LGP_CONFORMANCE_URL;
    rmSync(dir, { recursive: true, force: true });
  }
}
