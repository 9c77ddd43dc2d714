import {
  importCheckpoints,
  importStore,
  type CheckpointImportReport,
  type CheckpointSource,
  type ImportProgress,
  type ItemSource,
  type StoreImportReport,
  type VerifyMode,
} from "@langgraph-persist/core";
import { listOption, namespaceOption, parse } from "../args.js";
import { redactUrl, resolveBackend, type Backend } from "../backends.js";
import { CliError, UsageError } from "../errors.js";
import { Progress, plural, toJson, type Io } from "../format.js";

export const IMPORT_HELP = `Usage: langgraph-persist import --from <official source> --to <url> [options]

Imports the threads (every checkpoint of every namespace, with channel values, pending writes and
interrupts) and store items of an official LangGraph.js adapter into a langgraph-persist backend.
The source's tables are read directly, in pages, inside a read-only transaction (SQLite: opened
read-only), and decoded with the serializer the official adapter uses. Safe to re-run, also after an
interruption: checkpoints the target already holds are skipped, nothing is duplicated.

Sources:
  official-sqlite:<path>                 a SqliteSaver database file (@langchain/langgraph-checkpoint-sqlite)
  official-postgres://user:pass@host/db  PostgresSaver and PostgresStore tables (@langchain/langgraph-checkpoint-postgres)
                                         ?schema=<name> (default public)
  sqlite:<path> / postgres://…           the same, with --from-format official
  official-redis://…, official-mongodb://…  not supported yet

Options:
  --from <source>           the official adapter's data (never written to)
  --to <url>                a langgraph-persist backend (its schema is created when missing)
  --from-format official    read a sqlite:/postgres:// --from URL as an official adapter's tables
  --threads <id,id,…>       only these threads
  --namespace <a/b>         only store items under this namespace prefix
  --dry-run                 count threads, checkpoints, pending writes, store items and bytes; write nothing
  --verify <mode>           compare what was read with what the target returns afterwards:
                            sample (default: each namespace's latest checkpoint and some others, one
                            store item in ten), all, or none. Any difference: exit code 1
  --yes, -y                 accepted for scripts (an import only adds to the target)
  --json                    print the report as JSON
  --verbose                 stack traces on errors

Carried over: thread and checkpoint ids, parents, namespaces (subgraphs), ts, metadata, channel
versions, versions seen, channel values, pending writes (interrupts waiting for a resume, errors,
sends) in their order; store namespaces, keys, values, createdAt, updatedAt and expiry (targets
whose store keeps timestamps: memory, sqlite, postgres; others set them to the import time).
Not carried: task paths of pending writes (the official adapters do not store them), store vectors
(give the target store an index to embed again).`;

/** Where an import reads from. */
export interface OfficialSpec {
  kind: "sqlite" | "postgres";
  /** SQLite path or Postgres connection string (the `schema` parameter removed). */
  target: string;
  schema?: string;
  display: string;
}

/** Parses an official source URL (`official-sqlite:<path>`, `official-postgres://…`, or a plain one with `--from-format official`). */
export function parseOfficialUrl(input: string, format: string | undefined): OfficialSpec {
  const url = input.trim();
  const display = redactUrl(url);
  if (format !== undefined && format !== "official") throw new UsageError(`import: --from-format must be "official", got ${JSON.stringify(format)}`);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const plain = (s: string | undefined) => (format === "official" ? s : undefined);
  if (scheme === "official-redis" || scheme === "official-mongodb" || scheme === "official-mongodb+srv" || (format === "official" && (scheme === "redis" || scheme === "rediss" || scheme === "mongodb" || scheme === "mongodb+srv"))) {
    throw new CliError(`import: official ${scheme.includes("redis") ? "Redis" : "MongoDB"} sources are not supported yet (supported: official-sqlite:<path>, official-postgres://…)`);
  }
  if (scheme === "official-sqlite" || plain(scheme) === "sqlite") {
    let path = url.slice(scheme!.length + 1).replace(/\?.*$/, "");
    if (path.startsWith("//")) path = path.slice(2);
    if (path === "") throw new UsageError("import: official-sqlite: needs a file path, e.g. official-sqlite:./checkpoints.db");
    return { kind: "sqlite", target: path, display };
  }
  if (scheme === "official-postgres" || scheme === "official-postgresql" || plain(scheme) === "postgres" || plain(scheme) === "postgresql") {
    const rest = url.slice(scheme!.length);
    const q = rest.indexOf("?");
    const query = new URLSearchParams(q < 0 ? "" : rest.slice(q + 1));
    const schema = query.get("schema") ?? undefined;
    query.delete("schema");
    const qs = query.toString();
    return { kind: "postgres", target: `postgresql${q < 0 ? rest : rest.slice(0, q)}${qs ? `?${qs}` : ""}`, schema, display };
  }
  if (scheme === "memory" || scheme === "sqlite" || scheme === "postgres" || scheme === "postgresql" || scheme === "redis" || scheme === "rediss" || scheme === "mongodb" || scheme === "mongodb+srv" || scheme === undefined) {
    throw new UsageError(`import: ${JSON.stringify(display)} is not an official adapter's source: use official-sqlite:<path> or official-postgres://… (or --from-format official); to move data between langgraph-persist backends use copy`);
  }
  throw new UsageError(`import: unknown source scheme "${scheme}:" (use official-sqlite:<path> or official-postgres://…)`);
}

type Source = (CheckpointSource & Partial<ItemSource> & { close(): Promise<void> }) & { hasStore?: boolean };

async function openSource(spec: OfficialSpec): Promise<Source> {
  if (spec.kind === "sqlite") {
    const { OfficialSqliteSource } = await import("../official/sqlite.js");
    return OfficialSqliteSource.open(spec.target);
  }
  const { OfficialPostgresSource } = await import("../official/postgres.js");
  return OfficialPostgresSource.open(spec.target, { schema: spec.schema });
}

interface ImportSummary {
  from: string;
  to: string;
  dryRun: boolean;
  threads: CheckpointImportReport;
  store?: StoreImportReport;
  seconds: number;
}

function eta(progress: ImportProgress, started: number): string {
  if (!progress.totalThreads || progress.threads === 0) return "";
  const elapsed = Date.now() - started;
  const left = (elapsed / progress.threads) * (progress.totalThreads - progress.threads);
  return left > 0 ? `, ETA ${left < 60_000 ? `${Math.ceil(left / 1000)}s` : `${Math.ceil(left / 60_000)}min`}` : "";
}

export async function importCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      from: { type: "string" },
      to: { type: "string" },
      "from-format": { type: "string" },
      threads: { type: "string" },
      namespace: { type: "string" },
      "dry-run": { type: "boolean" },
      verify: { type: "string" },
      yes: { type: "boolean", short: "y" },
      json: { type: "boolean" },
    },
    "import",
  );
  if (values.help) {
    io.out(IMPORT_HELP + "\n");
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`import: unexpected argument ${JSON.stringify(positionals[0])} (see langgraph-persist import --help)`);
  if (!values.from || !values.to) throw new UsageError("import: --from <source> and --to <url> are required (see langgraph-persist import --help)");
  const verify = (values.verify ?? "sample") as VerifyMode;
  if (verify !== "sample" && verify !== "all" && verify !== "none") throw new UsageError(`import: --verify must be sample, all or none, got ${JSON.stringify(values.verify)}`);
  const threads = listOption(values.threads);
  if (threads && threads.length === 0) throw new UsageError("import: --threads needs thread ids (id,id,…)");
  const prefix = namespaceOption(values.namespace);
  const dryRun = values["dry-run"] === true;
  const spec = parseOfficialUrl(values.from, values["from-format"]);

  const started = Date.now();
  const source = await openSource(spec);
  let target: Backend | undefined;
  try {
    if (!dryRun) target = await resolveBackend(values.to);
    const saver = target ? await target.openSaver() : undefined;
    const progress = new Progress(io, dryRun ? "counting" : "importing", "checkpoint");
    let last = 0;
    const onProgress = (p: ImportProgress) => {
      progress.tick(p.checkpoints - last, `${p.totalThreads ? `thread ${p.threads}/${p.totalThreads}` : plural(p.threads, "thread")}, ${plural(p.writes, "write")}${eta(p, started)}`, p.totalThreads ? p.threads / p.totalThreads : undefined);
      last = p.checkpoints;
    };
    const threadReport = await importCheckpoints(source, saver ?? (DRY_TARGET as never), { threads, dryRun, verify, onProgress });
    progress.finish();
    const summary: ImportSummary = { from: spec.display, to: target?.spec.display ?? redactUrl(values.to), dryRun, threads: threadReport, seconds: 0 };
    const items = source as Partial<ItemSource> & { hasStore?: boolean };
    if (typeof items.items === "function" && items.hasStore !== false && threads === undefined) {
      const store = target ? await target.openStore() : undefined;
      const storeProgress = new Progress(io, dryRun ? "counting store" : "importing store", "item");
      let lastItems = 0;
      summary.store = await importStore(items as ItemSource, store ?? (DRY_TARGET as never), {
        namespace: prefix,
        dryRun,
        verify,
        onProgress: (p) => {
          storeProgress.tick(p.items - lastItems);
          lastItems = p.items;
        },
      });
      storeProgress.finish();
    }
    summary.seconds = (Date.now() - started) / 1000;
    report(summary, values.json === true, io);
    const problems = [...summary.threads.problems, ...(summary.store?.problems ?? [])];
    if (problems.length > 0) throw new CliError(`import: ${plural(problems.length, "difference")} found${dryRun ? "" : " while verifying the target"} (listed above)`);
    return 0;
  } finally {
    await Promise.all([source.close(), target?.close()]);
  }
}

/** A dry run never touches the target: the library only reads its capabilities. */
const DRY_TARGET = { capabilities: { importTimestamps: true } };

function report(s: ImportSummary, json: boolean, io: Io): void {
  if (json) {
    io.out(toJson(s));
    return;
  }
  const verb = s.dryRun ? "Would import" : "Imported";
  const t = s.threads;
  const again = t.alreadyPresent > 0 ? ` (${t.alreadyPresent} already on the target)` : "";
  const rate = !s.dryRun && t.seconds > 0 ? `, ${Math.round(t.checkpoints / t.seconds)} checkpoints/s` : "";
  const lines = [`${verb} ${plural(t.threads, "thread")}: ${plural(t.checkpoints, "checkpoint")}${again}, ${plural(t.writes, "pending write")}, ${formatBytes(t.bytes)}${rate}`];
  if (s.store) {
    const kept = s.dryRun ? "" : s.store.timestampsKept ? ", timestamps kept" : ", timestamps set to now (the target cannot keep them)";
    const expired = s.store.expired > 0 ? `, ${s.store.expired} expired skipped` : "";
    lines.push(`${verb} ${plural(s.store.items, "store item")} in ${plural(s.store.namespaces, "namespace")}${expired}, ${formatBytes(s.store.bytes)}${kept}`);
  }
  lines.push(`  from ${s.from}`, `  to   ${s.to}`);
  const problems = [...t.problems, ...(s.store?.problems ?? [])];
  const verified = t.verified + (s.store?.verified ?? 0);
  if (!s.dryRun) {
    if (problems.length === 0) lines.push(verified > 0 ? `Verified: ${plural(t.verified, "checkpoint")} and ${plural(s.store?.verified ?? 0, "store item")} equal on the target (${s.seconds.toFixed(1)}s)` : `Not verified (--verify none) (${s.seconds.toFixed(1)}s)`);
    else lines.push("Verification FAILED:", ...problems.map((p) => `  - ${p.message}`));
  } else if (problems.length > 0) lines.push(...problems.map((p) => `  - ${p.message}`));
  io.out(lines.join("\n") + "\n");
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
