import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WORKLOADS, median, type Measurement, type WorkloadId } from "./measure.js";
import type { BenchResult, StorageMeasurement } from "./result.js";
import { BACKENDS, COLD_TARGETS, type Backend, type ColdWorkload, type Role } from "./targets.js";

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const RESULTS_FILE = path.join(BENCH_DIR, "results.json");
export const REPORT_FILE = path.join(BENCH_DIR, "..", "BENCHMARKS.md");

/** A ratio that got worse by more than this factor fails `--check`. */
const TOLERANCE = 0.2;
/** Storage may be at most this many times the bytes of the thread's messages stored once. */
const STORAGE_LIMIT = 3;

// ---------------------------------------------------------------- formatting

export function num(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "–";
  if (n >= 1000) return Math.round(n).toLocaleString("en-US");
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toPrecision(3);
}

const ratio = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "–" : `${n >= 100 ? n.toFixed(0) : n.toPrecision(3)}×`);

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "–";
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} B`;
}

function table(head: string[], rows: string[][], align?: Array<"l" | "r">): string {
  const sep = head.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---"));
  return [head, sep, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

// ---------------------------------------------------------------- derived numbers

export function find(r: BenchResult, backend: Backend, workload: WorkloadId, role: Role): Measurement | undefined {
  return r.measurements.find((m) => m.backend === backend && m.workload === workload && m.role === role);
}

/**
 * Median of the per-round ratios: contenders run one repetition each per round, next to each other, so
 * pairing them cancels most of the drift when other work on the machine comes and goes.
 */
function pairedRatio(a: Measurement | undefined, b: Measurement | undefined): number | undefined {
  if (!a || !b) return undefined;
  if (a.samples.length !== b.samples.length || a.samples.length === 0) return a.median / b.median;
  return median(a.samples.map((x, i) => x / b.samples[i]));
}

export interface RatioRow {
  backend: Backend;
  workload: WorkloadId;
  ours?: Measurement;
  official?: Measurement;
  floor?: Measurement;
  vsOfficial?: number;
  vsFloor?: number;
}

export function ratioRows(r: BenchResult): RatioRow[] {
  const rows: RatioRow[] = [];
  for (const backend of BACKENDS) {
    for (const workload of Object.keys(WORKLOADS) as WorkloadId[]) {
      const ours = find(r, backend, workload, "ours");
      const official = find(r, backend, workload, "official");
      const floor = find(r, backend, workload, "floor");
      if (!ours && !official && !floor) continue;
      rows.push({
        backend,
        workload,
        ours,
        official,
        floor,
        vsOfficial: pairedRatio(ours, official),
        vsFloor: pairedRatio(ours, floor),
      });
    }
  }
  return rows;
}

function storageAt(r: BenchResult, backend: Backend, role: Role, workload: "chat" | "graph", steps?: number): StorageMeasurement | undefined {
  const all = r.storage.filter((s) => s.backend === backend && s.role === role && s.workload === workload);
  return steps === undefined ? all[all.length - 1] : all.find((s) => s.steps === steps);
}

export interface TargetResult {
  backend: Backend;
  target: string;
  goal: string;
  actual: string;
  /** `undefined`: could not be measured here. */
  met: boolean | undefined;
}

export function evaluateTargets(r: BenchResult): TargetResult[] {
  const out: TargetResult[] = [];
  const rows = ratioRows(r);
  const row = (b: Backend, w: WorkloadId) => rows.find((x) => x.backend === b && x.workload === w);
  const vsOfficial = (backend: Backend, workload: WorkloadId, min: number) => {
    const x = row(backend, workload)?.vsOfficial;
    out.push({
      backend,
      target: `${WORKLOADS[workload]}: ours ÷ official`,
      goal: `≥ ${min}×`,
      actual: ratio(x),
      met: x === undefined ? undefined : x >= min,
    });
  };
  if (r.backends.includes("postgres")) {
    vsOfficial("postgres", "put", 2);
    vsOfficial("postgres", "getTuple", 5);
    vsOfficial("postgres", "list10", 5);
    vsOfficial("postgres", "invoke", 1.5);
    const q = find(r, "postgres", "invoke", "ours")?.perOp?.queries;
    const official = find(r, "postgres", "invoke", "official")?.perOp?.queries;
    out.push({
      backend: "postgres",
      target: "queries per graph.invoke",
      goal: "≤ 8",
      actual: q === undefined ? "–" : `${num(q)} (official ${num(official)})`,
      met: q === undefined ? undefined : q <= 8,
    });
  }
  if (r.backends.includes("sqlite")) {
    vsOfficial("sqlite", "put", 1.5);
    vsOfficial("sqlite", "getTuple", 2);
    vsOfficial("sqlite", "list10", 2);
  }
  // Results written before the cold workloads existed have none to judge.
  if (r.config.cold) {
    for (const backend of BACKENDS) {
      if (!r.backends.includes(backend)) continue;
      for (const [workload, min] of Object.entries(COLD_TARGETS[backend] ?? {}) as Array<[ColdWorkload, number]>) vsOfficial(backend, workload, min);
    }
  }
  if (r.backends.includes("memory")) {
    for (const x of rows.filter((x) => x.backend === "memory")) {
      out.push({
        backend: "memory",
        target: `${WORKLOADS[x.workload]}: ours ÷ upstream`,
        goal: "≥ 1×",
        actual: ratio(x.vsOfficial),
        met: x.vsOfficial === undefined ? undefined : x.vsOfficial >= 1,
      });
    }
  }
  if (r.backends.includes("redis")) {
    for (const w of ["put", "putWrites", "getTuple"] as WorkloadId[]) {
      const m = find(r, "redis", w, "ours");
      const rt = m?.perOp?.roundTrips;
      out.push({ backend: "redis", target: `${WORKLOADS[w]}: round trips`, goal: "1", actual: rt === undefined ? "–" : num(rt), met: rt === undefined ? undefined : rt <= 1 });
      const x = row("redis", w)?.vsFloor;
      out.push({
        backend: "redis",
        target: `${WORKLOADS[w]}: ours ÷ floor`,
        goal: "≥ 1/1.5 = 0.667× (within 1.5× of the floor)",
        actual: ratio(x),
        met: x === undefined ? undefined : x >= 1 / 1.5,
      });
    }
  }
  for (const backend of r.backends) {
    // The issue's storage target is the chat thread; the graph thread (which also stores every message
    // a second time as a pending write, by LangGraph's design) is reported in the storage table only.
    for (const workload of ["chat"] as const) {
      const s = storageAt(r, backend, "ours", workload);
      const official = storageAt(r, backend, "official", workload);
      const x = s ? s.logical / s.messagesBytes : undefined;
      out.push({
        backend,
        target: workload === "chat" ? `storage after ${s?.steps ?? 200} chat steps ÷ messages stored once` : `storage after ${s?.steps ?? 100} graph.invoke ÷ messages stored once`,
        goal: `≤ ${STORAGE_LIMIT}×`,
        actual: x === undefined ? "–" : `${ratio(x)} (${bytes(s!.logical)} for ${bytes(s!.messagesBytes)}; official ${official ? ratio(official.logical / official.messagesBytes) : "–"})`,
        met: x === undefined ? undefined : x <= STORAGE_LIMIT,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------- rendering

const mark = (met: boolean | undefined) => (met === undefined ? "n/a" : met ? "met" : "**not met**");

function throughput(m: Measurement | undefined): string {
  return m ? `${num(m.median)} (${num(m.min)}–${num(m.max)})` : "–";
}

function work(m: Measurement | undefined, backend: Backend): string {
  if (!m?.perOp || backend === "memory") return "–";
  let s = num(m.perOp.queries);
  if (backend === "redis") s += ` / ${num(m.perOp.roundTrips)} rt`;
  if (backend === "sqlite" && m.perOp.prepares > 0) s += ` (+${num(m.perOp.prepares)} prepare)`;
  return s;
}

/** Milliseconds per operation at the median, and the part spent in driver calls. */
function time(m: Measurement | undefined, backend: Backend): string {
  if (!m) return "–";
  const ms = 1000 / m.median;
  const total = ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
  if (backend === "memory" || m.driverShare === undefined) return total;
  return `${total} (${Math.round(m.driverShare * 100)}%)`;
}

export function ratioTable(r: BenchResult): string {
  return table(
    ["backend", "workload", "ours ÷ official", "ours ÷ floor"],
    ratioRows(r).map((x) => [x.backend, WORKLOADS[x.workload], ratio(x.vsOfficial), ratio(x.vsFloor)]),
    ["l", "l", "r", "r"],
  );
}

export function throughputTable(r: BenchResult): string {
  return table(
    ["backend", "workload", "ours ops/s", "official ops/s", "floor ops/s"],
    ratioRows(r).map((x) => [x.backend, WORKLOADS[x.workload], throughput(x.ours), throughput(x.official), throughput(x.floor)]),
    ["l", "l", "r", "r", "r"],
  );
}

export function workTable(r: BenchResult): string {
  return table(
    ["backend", "workload", "queries/op ours", "official", "floor", "ms/op ours (in driver)", "official", "floor"],
    ratioRows(r)
      .filter((x) => x.backend !== "memory")
      .map((x) => [x.backend, WORKLOADS[x.workload], work(x.ours, x.backend), work(x.official, x.backend), work(x.floor, x.backend), time(x.ours, x.backend), time(x.official, x.backend), time(x.floor, x.backend)]),
    ["l", "l", "r", "r", "r", "r", "r", "r"],
  );
}

export function storageTable(r: BenchResult): string {
  const rows: string[][] = [];
  for (const backend of BACKENDS) {
    for (const role of ["ours", "official"] as const) {
      for (const workload of ["chat", "graph"] as const) {
        const all = r.storage.filter((s) => s.backend === backend && s.role === role && s.workload === workload);
        for (const s of all) {
          rows.push([
            backend,
            role,
            workload === "chat" ? `chat, ${s.steps} steps` : `graph, ${s.steps} invokes`,
            bytes(s.messagesBytes),
            bytes(s.logical),
            ratio(s.logical / s.messagesBytes),
            s.disk === undefined ? "–" : bytes(s.disk),
          ]);
        }
      }
    }
  }
  return table(["backend", "adapter", "thread", "messages once", "stored", "stored ÷ messages", "backend-reported"], rows, ["l", "l", "l", "r", "r", "r", "r"]);
}

export function coldProcessTable(r: BenchResult): string {
  const rows: string[][] = [];
  for (const backend of BACKENDS) {
    const ms = (r.coldProcess ?? []).filter((m) => m.backend === backend);
    const official = ms.find((m) => m.role === "official");
    for (const m of ms) {
      rows.push([
        backend,
        m.role,
        m.openMs.toFixed(1),
        m.firstMs.toFixed(2),
        m.perReadMs.toFixed(3),
        m.role === "ours" && official ? ratio(official.perReadMs / m.perReadMs) : "",
      ]);
    }
  }
  return table(["backend", "adapter", "open ms (setup included)", "first getTuple ms", "then ms per getTuple", "ours ÷ official, per read"], rows, ["l", "l", "r", "r", "r", "r"]);
}

export function targetsTable(r: BenchResult): string {
  return table(
    ["backend", "target", "goal", "measured", "status"],
    evaluateTargets(r).map((t) => [t.backend, t.target, t.goal, t.actual, mark(t.met)]),
    ["l", "l", "l", "l", "l"],
  );
}

export function printReport(r: BenchResult): void {
  const out = [
    "",
    `Ratios (${r.mode} run, ${r.durationSeconds ?? "?"} s; > 1 means ours is faster):`,
    ratioTable(r),
    "",
    "Throughput, median (min–max) over the repetitions:",
    throughputTable(r),
    "",
    "Driver work per operation:",
    workTable(r),
    "",
    "Storage:",
    storageTable(r),
    "",
    ...(r.coldProcess?.length ? ["Cold reads in a fresh process (medians):", coldProcessTable(r), ""] : []),
    "Targets:",
    targetsTable(r),
  ];
  if (r.unavailable.length) out.push("", "Not run:", ...r.unavailable.map((u) => `- ${u.backend} ${u.kind} ${u.label}: ${u.reason}`));
  if (r.errors.length) out.push("", "Errors:", ...r.errors.map((e) => `- ${e.backend} ${e.workload} ${e.role} (${e.label}): ${e.message}`));
  console.log(out.join("\n"));
}

export function markdown(r: BenchResult): string {
  const m = r.machine;
  const tgts = evaluateTargets(r);
  const metCount = tgts.filter((t) => t.met === true).length;
  const missed = tgts.filter((t) => t.met === false);
  const lines = [
    "# Benchmarks",
    "",
    "<!-- Generated by `pnpm bench` (bench/src/report.ts); edit the generator, not this file. -->",
    "",
    `Our adapters side by side with the official LangGraph.js adapters and a raw-driver floor, all in one process run`,
    `(${r.date.slice(0, 10)}, ${r.durationSeconds ?? "?"} s). Reproduce with:`,
    "",
    "```sh",
    "pnpm install && pnpm bench            # full run: prints the tables, rewrites BENCHMARKS.md and bench/results.json",
    "pnpm bench --quick                    # shorter, noisier, writes nothing",
    "pnpm bench --check                    # fails when a ratio is more than 20% worse than bench/results.json",
    "```",
    "",
    "Databases come from `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`) and `TEST_REDIS_URL`",
    "(default `redis://127.0.0.1:6379`). The bench uses its own schemas (`lgp_bench_*`) and key prefixes (`lgpbench_*`)",
    "and drops them at the end; SQLite files live in a temporary directory.",
    "",
    "## Machine",
    "",
    table(
      ["", ""],
      [
        ["CPUs (nproc)", `${m.cpus} × ${m.cpuModel}`],
        ["memory", `${m.memoryGiB} GiB`],
        ["OS", m.os],
        ["Node.js", m.node],
        ["Postgres", m.postgres ?? "not available"],
        ["SQLite", `${m.sqlite} (better-sqlite3 ${m.packages["better-sqlite3"]}), files on local disk, WAL`],
        ["Redis", m.redis ? `${m.redis}${m.redisModules.length ? ` with ${m.redisModules.join(", ")}` : ", no modules"}` : "not available"],
      ],
      ["l", "l"],
    ),
    "",
    "## Versions",
    "",
    table(["package", "version"], Object.entries(m.packages).map(([p, v]) => [`\`${p}\``, v]), ["l", "l"]),
    "",
    "## Targets",
    "",
    `${metCount} of ${tgts.length} targets met${missed.length ? `, ${missed.length} not met (${BACKENDS.map((b) => [b, missed.filter((t) => t.backend === b).length] as const).filter(([, n]) => n > 0).map(([b, n]) => `${b} ${n}`).join(", ")})` : ""}${tgts.some((t) => t.met === undefined) ? `, ${tgts.filter((t) => t.met === undefined).length} not measurable here` : ""}.`,
    "",
    targetsTable(r),
    "",
    "## Ratios",
    "",
    "Operations per second of ours divided by the official adapter's and by the floor's: the median of the ratios of",
    "repetitions run side by side (> 1 means ours is faster).",
    "",
    ratioTable(r),
    "",
    "## Throughput",
    "",
    `Operations per second, median (min–max) of ${r.config.ops.reps} repetitions after a warm-up; a repetition repeats the`,
    `operation for at least ${r.config.ops.minMs} ms (\`put\`: whole 200-step threads, counted per put; \`graph.invoke\`:`,
    `${r.config.invoke.reps} repetitions of ${r.config.invokes} invokes on a new thread, counted per invoke).`,
    "",
    throughputTable(r),
    "",
    "## Where the time goes",
    "",
    "Counted by wrapping the drivers over the recorded repetitions. *queries/op*: Postgres statements (`BEGIN` / `COMMIT`",
    "included), SQLite statement executions (a transaction adds `BEGIN` + `COMMIT`; statements compiled on the spot show as",
    "`+n prepare`), Redis commands / round trips (`rt`). *ms/op*: milliseconds per operation at the median, and in",
    "parentheses the share of the time with a driver call in progress — from sending a statement until its result is",
    "parsed (Postgres, Redis) or inside a statement or transaction call (SQLite); the rest is JavaScript in the adapter,",
    "the serializer and LangGraph.",
    "",
    workTable(r),
    "",
    ...(r.coldProcess?.length
      ? [
          "## Cold reads in a fresh process",
          "",
          `A child process opens a saver on the ${r.config.cold?.threads ?? "?"} threads of the cold workloads (written by the bench's process)`,
          "and reads the latest checkpoint of each once, as a restarted server or a serverless invocation does. Medians",
          "over the runs, the adapters' processes alternating. *open*: constructing the saver and `setup()` (the official",
          "SQLite saver sets up on its first call, so its first read includes it); *first getTuple*: the first read (connections",
          "and prepared statements included); *then*: each later read.",
          "",
          coldProcessTable(r),
          "",
        ]
      : []),
    "## Storage",
    "",
    "Bytes held for one thread. *stored*: what the adapter wrote for the thread — Postgres and SQLite: the byte length of every",
    "column of the thread's rows (`octet_length`, before compression); memory: bytes of the serialised data the saver holds;",
    "Redis: value bytes of the keys. *backend-reported*: Postgres `pg_total_relation_size` of the schema's tables (indexes",
    "and TOAST included, after compression), SQLite the file size after a WAL checkpoint, Redis `MEMORY USAGE` of the keys.",
    "*messages once*: the thread's messages serialised once, as one array (the yardstick of the storage target).",
    "",
    storageTable(r),
    "",
  ];
  if (r.unavailable.length) {
    lines.push("## Not run here", "", ...r.unavailable.map((u) => `- ${u.backend} ${u.kind}, \`${u.label}\`: ${u.reason}.`), "");
  }
  if (r.errors.length) {
    lines.push("## Errors", "", ...r.errors.map((e) => `- ${e.backend} ${e.workload}, ${e.role} (\`${e.label}\`): ${e.message}`), "");
  }
  lines.push(
    "## Workloads",
    "",
    `- **Chat thread**: ${r.config.chatSteps} checkpoints; step *i* stores \`messages\` holding *i* alternating user / assistant`,
    "  messages (one new version of the channel per step), with versions from the saver's own `getNextVersion`. The messages",
    "  are JSON objects `{ role, content, id }` of about 200 serialised bytes: reviving LangChain message classes costs about",
    "  2–3 ms per 200 messages in the serializer, the same for every adapter, and would hide the adapters' own costs.",
    "  **getTuple (200 LangChain messages)** reads a thread of `HumanMessage` / `AIMessage` instances instead.",
    "  Our savers keep a snapshot of each message of the values they hold, so a put serialises only the new messages",
    "  (plain objects and LangChain messages alike); for plain JSON arrays a read also copies a held parsed value instead",
    "  of parsing (see the core README), while LangChain messages are parsed and revived on every read, as",
    "  **getTuple (200 LangChain messages)** and **graph.invoke** show.",
    "- **put**: the whole thread into a new thread id, counted per put; **putWrites**: 3 writes (a message, a string, a",
    "  number) under a new checkpoint id and task id each time, so writes never pile up on one checkpoint; **getTuple**:",
    "  the latest checkpoint; **list (limit 10)** and **list ()** on that thread.",
    `- **graph.invoke**: a \`StateGraph(MessagesAnnotation)\` with one node that replies; ${r.config.invokes} sequential invokes on a`,
    "  new thread, each adding a user message and a reply (LangChain messages).",
    ...(r.config.cold
      ? [
          `- **cold** workloads: one instance writes ${r.config.cold.threads} chat threads (200 steps each) and stays idle; a second`,
          "  instance on the same data (same SQLite file, Postgres schema or Redis key prefix) reads every thread once —",
          "  **getTuple**, **list (limit 10)**, **graph.getState** or **graph.getStateHistory** (first 10) of the chat graph —",
          "  and is replaced by a new instance (untimed) after each repetition, so no read is served from what the reader",
          "  wrote or read before. The official adapter does the same on its own copy of the threads, repetitions interleaved.",
          "  Memory has no cold workloads: an in-process saver only reads what its own instance wrote (warm by nature).",
        ]
      : []),
    `- **store**: ${r.config.storeItems.toLocaleString("en-US")} items in one namespace, indexed for semantic search on \`text\` with`,
    "  64-dimension deterministic hashed embeddings (`HashEmbeddings` from `@langgraph-persist/conformance`); **put** overwrites",
    "  an existing item (re-embedding it), **get** by key, **search** with a filter on `category` (500 matches, limit 10) and a",
    "  semantic query (limit 10). Postgres stores' tables are `ANALYZE`d after the load (untimed), as autovacuum would on",
    "  a running server, so searches are planned with statistics.",
    "- What a repetition wrote (threads of `put`, `putWrites` and `graph.invoke`, floor rows) is deleted after it, untimed.",
    "  Contenders of a workload run their repetitions in turn, in a rotating order; ratios pair the repetitions of a round.",
    "- **Floor**: one prepared single-row `INSERT` / `SELECT` by key of the same bytes — the whole serialised checkpoint (values",
    "  included), the serialised writes, the item's JSON — with no (de)serialisation; `list` is one prepared `SELECT … LIMIT`.",
    "  Redis: one `EVALSHA` of a `SET` script for writes, `GET` / `MGET` of known keys for reads.",
    "",
    "## Noise",
    "",
    "Run on a machine other work shares, repetitions vary (see the min–max ranges), most for the floors, whose operations",
    "take tens of microseconds. `--check` compares medians with a 20% tolerance; when it flags a single floor ratio, run it",
    "again before believing it. The GitHub workflow runs `pnpm bench --check` on demand only.",
    "",
  );
  return lines.join("\n");
}

export function writeReport(r: BenchResult): void {
  writeFileSync(RESULTS_FILE, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(REPORT_FILE, markdown(r));
  process.stderr.write(`[bench] wrote ${path.relative(process.cwd(), REPORT_FILE)} and ${path.relative(process.cwd(), RESULTS_FILE)}\n`);
}

export function renderFromResults(): void {
  writeFileSync(REPORT_FILE, markdown(JSON.parse(readFileSync(RESULTS_FILE, "utf8")) as BenchResult));
  process.stderr.write(`[bench] rewrote ${path.relative(process.cwd(), REPORT_FILE)} from ${path.relative(process.cwd(), RESULTS_FILE)}\n`);
}

// ---------------------------------------------------------------- --check

interface Metric {
  value: number;
  better: "higher" | "lower";
}

/** The numbers `--check` guards: every ratio to the official adapter and the floor, ours' driver work per op and its storage ratio. */
export function metrics(r: BenchResult): Map<string, Metric> {
  const out = new Map<string, Metric>();
  for (const x of ratioRows(r)) {
    const name = `${x.backend} ${WORKLOADS[x.workload]}`;
    if (x.vsOfficial !== undefined) out.set(`${name}: ours ÷ official`, { value: x.vsOfficial, better: "higher" });
    if (x.vsFloor !== undefined) out.set(`${name}: ours ÷ floor`, { value: x.vsFloor, better: "higher" });
    if (x.ours?.perOp && x.backend !== "memory") {
      out.set(`${name}: queries per op`, { value: x.ours.perOp.queries, better: "lower" });
      if (x.backend === "redis") out.set(`${name}: round trips per op`, { value: x.ours.perOp.roundTrips, better: "lower" });
    }
  }
  for (const s of r.storage.filter((s) => s.role === "ours")) {
    out.set(`${s.backend} storage, ${s.workload} ${s.steps}: stored ÷ messages`, { value: s.logical / s.messagesBytes, better: "lower" });
  }
  return out;
}

export function checkAgainst(r: BenchResult, backends: Backend[]): number {
  if (!existsSync(RESULTS_FILE)) {
    console.error(`--check: ${RESULTS_FILE} does not exist; run \`pnpm bench\` and commit it first`);
    return 1;
  }
  const baseline = JSON.parse(readFileSync(RESULTS_FILE, "utf8")) as BenchResult;
  const before = metrics(baseline);
  const now = metrics(r);
  const rows: string[][] = [];
  let failures = 0;
  for (const [name, old] of before) {
    if (!backends.some((b) => name.startsWith(`${b} `))) continue;
    const cur = now.get(name);
    let status: string;
    if (!cur) {
      status = "**missing**";
      failures++;
    } else {
      const worse = old.better === "higher" ? cur.value < old.value * (1 - TOLERANCE) : cur.value > old.value * (1 + TOLERANCE) && cur.value - old.value > 1e-9;
      status = worse ? "**worse**" : "ok";
      if (worse) failures++;
    }
    rows.push([name, num(old.value), cur ? num(cur.value) : "–", status]);
  }
  console.log(`\nCompared with ${path.relative(process.cwd(), RESULTS_FILE)} (${baseline.date.slice(0, 10)}, ${baseline.mode} run); tolerance ${TOLERANCE * 100}%:`);
  console.log(table(["metric", "committed", "now", "status"], rows, ["l", "r", "r", "l"]));
  console.log(failures ? `\n${failures} metric(s) more than ${TOLERANCE * 100}% worse or missing.` : "\nNo metric is more than 20% worse.");
  return failures ? 1 : 0;
}
