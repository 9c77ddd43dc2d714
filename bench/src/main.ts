import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import pg from "pg";
import { Redis } from "ioredis";
import type { BaseStore } from "@langchain/langgraph-checkpoint";
import { MemorySaver as UpstreamMemorySaver } from "@langchain/langgraph-checkpoint";
import { installCounters } from "./counters.js";
import { CHAT_STEPS, ChatThread, chatGraph, checkpointBytes, messagesBytes, threeWrites, userMessage, writesBytes } from "./chat.js";
import { measure, median, type Contender, type MeasureConfig, type Measurement, type WorkloadId } from "./measure.js";
import { postgresFloor, redisFloor, sqliteFloor, type Floor } from "./floors.js";
import {
  BACKENDS,
  dropPgSchema,
  dropRedisPrefix,
  pgSchema,
  redisPrefix,
  saverTargets,
  storeTargets,
  type Availability,
  type Backend,
  type BenchEnv,
  type SaverHandle,
  type SaverTarget,
  type StoreHandle,
  type StoreTarget,
} from "./targets.js";
import { describeMachine, type BenchResult, type ColdProcessMeasurement } from "./result.js";
import { checkAgainst, printReport, renderFromResults, writeReport } from "./report.js";

const USAGE = `pnpm bench [--quick] [--check] [--only=memory,sqlite,postgres,redis] [--no-write] [--render]

  (default)   full run; prints the tables and writes BENCHMARKS.md and bench/results.json
  --quick     fewer and shorter repetitions (numbers are noisier); writes nothing
  --check     compares the ratios with the committed bench/results.json and exits 1 when one
              is more than 20% worse; writes nothing
  --only      restrict the run (and --check) to these backends
  --no-write  print only
  --render    measure nothing: rewrite BENCHMARKS.md from bench/results.json (after a change to the report)

  TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)
  TEST_REDIS_URL    (default redis://127.0.0.1:6379)`;

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    check: { type: "boolean", default: false },
    only: { type: "string" },
    "no-write": { type: "boolean", default: false },
    render: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (args.render) {
  renderFromResults();
  process.exit(0);
}

const selected: Backend[] = args.only ? (args.only.split(",").map((s) => s.trim()) as Backend[]) : BACKENDS;
for (const b of selected) if (!BACKENDS.includes(b)) throw new Error(`--only: unknown backend ${b}; use ${BACKENDS.join(",")}`);

/** Repetitions: the full run takes a few minutes on 2 cores. */
const OPS: MeasureConfig = args.quick ? { reps: 3, minMs: 60 } : { reps: 7, minMs: 150 };
const INVOKE: MeasureConfig = args.quick ? { reps: 2, minMs: 0 } : { reps: 5, minMs: 0 };
const INVOKES = 100;
const STORE_ITEMS = 10_000;
const STORE_NS = ["lgpbench", "items"];
const STORAGE_STEPS = [50, 100, 200];
/** Threads (200 steps each) a cold reader reads, each once per repetition. */
const COLD_THREADS = args.quick ? 20 : 40;
/** Repetitions of a cold workload: each reads every thread once with an instance that has read none. */
const COLD: MeasureConfig = { reps: OPS.reps, minMs: 0 };
/** Fresh processes started per adapter for the fresh-process cold read. */
const COLD_PROCESS_RUNS = args.quick ? 2 : 5;
/** Thread ids of the storage runs: distinctive, because the official Redis saver's keys can only be found by thread id. */
const STORAGE_THREAD = "lgpbench-storage-chat";
const GRAPH_THREAD = "lgpbench-storage-graph";

const env: BenchEnv = {
  postgresUrl: process.env.TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/test",
  redisUrl: process.env.TEST_REDIS_URL || "redis://127.0.0.1:6379",
  dir: mkdtempSync(path.join(os.tmpdir(), "lgp-bench-")),
};

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
/** A URL without its password, for messages that end up in BENCHMARKS.md. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0];

async function probe(): Promise<Availability> {
  const available: Availability = { redisModules: false };
  try {
    const c = new pg.Client({ connectionString: env.postgresUrl, connectionTimeoutMillis: 3000 });
    await c.connect();
    await c.end();
  } catch (err) {
    available.postgres = `cannot run here: Postgres at ${redact(env.postgresUrl)} does not answer (${errorText(err)})`;
  }
  const redis = new Redis(env.redisUrl, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
    try {
      const modules = (await redis.call("MODULE", "LIST")) as unknown[][];
      const names = modules.map((m) => String(m[1]).toLowerCase());
      available.redisModules = names.includes("rejson") && names.includes("search");
    } catch {
      // MODULE may be disabled (managed Redis, Valkey): treat as no modules.
    }
  } catch (err) {
    available.redis = `cannot run here: Redis at ${redact(env.redisUrl)} does not answer (${errorText(err)})`;
  } finally {
    redis.disconnect();
  }
  return available;
}

const result: BenchResult = {
  date: new Date().toISOString(),
  mode: args.quick ? "quick" : "full",
  config: { ops: OPS, invoke: INVOKE, invokes: INVOKES, storeItems: STORE_ITEMS, chatSteps: CHAT_STEPS, cold: { threads: COLD_THREADS, reps: COLD.reps } },
  machine: undefined as never,
  backends: selected,
  measurements: [],
  storage: [],
  coldProcess: [],
  unavailable: [],
  errors: [],
  setup: [],
};

function record(ms: Measurement[]): void {
  result.measurements.push(...ms);
  for (const m of ms) {
    const q = m.perOp ? ` · ${m.perOp.queries} q/op${m.perOp.roundTrips ? ` · ${m.perOp.roundTrips} rt/op` : ""}` : "";
    log(`  ${m.backend} ${m.workload} ${m.role}: ${fmt(m.median)}/s [${fmt(m.min)}–${fmt(m.max)}]${q}`);
  }
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toPrecision(3));

function failed(backend: Backend, workload: string, role: string, label: string, err: unknown): void {
  const message = errorText(err);
  log(`  ${backend} ${workload} ${role} FAILED: ${message}`);
  result.errors.push({ backend, workload, role, label, message });
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const out = await fn();
  result.setup.push({ what, ms: Date.now() - start });
  log(`  ${what}: ${Date.now() - start} ms`);
  return out;
}

async function consume(iterable: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of iterable) n++;
  return n;
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

// ---------------------------------------------------------------- checkpointers

interface OpenSaver {
  target: SaverTarget;
  handle: SaverHandle;
  chat: ChatThread;
  readThread: string;
  langchainThread: string;
}

async function runSavers(backend: Backend, targets: SaverTarget[], floor: Floor | undefined): Promise<void> {
  const open: OpenSaver[] = [];
  for (const target of targets) {
    if (target.unavailable) {
      result.unavailable.push({ backend, kind: "checkpointer", role: target.role, label: target.label, reason: target.unavailable });
      continue;
    }
    try {
      const handle = await target.open("main");
      const chat = new ChatThread(handle.saver);
      const readThread = `read-${target.role}`;
      await timed(`${backend} ${target.role}: seed the 200-step read thread`, () => chat.put(handle.saver, readThread));
      // Sanity: the bench measures adapters that return the right thing.
      const tuple = await handle.saver.getTuple({ configurable: { thread_id: readThread, checkpoint_ns: "" } });
      expectEqual((tuple?.checkpoint.channel_values.messages as unknown[] | undefined)?.length, CHAT_STEPS, "messages of the latest checkpoint");
      expectEqual(await consume(handle.saver.list({ configurable: { thread_id: readThread } })), CHAT_STEPS, "checkpoints listed");
      const langchainThread = `read-lc-${target.role}`;
      await new ChatThread(handle.saver, "langchain").put(handle.saver, langchainThread);
      open.push({ target, handle, chat, readThread, langchainThread });
    } catch (err) {
      failed(backend, "setup", target.role, target.label, err);
    }
  }
  if (open.length === 0) return;

  // The floor stores each checkpoint whole (values included), as one row / key.
  const floorChat = new ChatThread(new UpstreamMemorySaver());
  const floorIds = floorChat.steps.map((s) => s.checkpoint.id);
  const floorBytes = await Promise.all(floorChat.steps.map((s) => checkpointBytes(s)));
  const floorWrites = await writesBytes(threeWrites(0));
  const floorLangchain = await checkpointBytes(new ChatThread(new UpstreamMemorySaver(), "langchain").last);
  if (floor) {
    for (let i = 0; i < CHAT_STEPS; i++) await floor.put("read", floorIds[i], floorBytes[i]);
    await floor.put("read-lc", floorIds[CHAT_STEPS - 1], floorLangchain);
  }

  const onError = (c: Contender, err: unknown) => failed(backend, current, c.role, c.label, err);
  let current: WorkloadId = "put";
  // Threads a repetition created, deleted after it (untimed) so that data does not pile up between repetitions.
  const created = new Map<OpenSaver, Set<string>>(open.map((o) => [o, new Set()]));
  const newThread = (o: OpenSaver, name: string) => {
    created.get(o)!.add(name);
    return name;
  };
  const cleanup = (o: OpenSaver) => async () => {
    const threads = created.get(o)!;
    for (const t of threads) await o.handle.saver.deleteThread(t);
    threads.clear();
  };
  const floorThreads = new Set<string>();
  const floorCleanup = async () => {
    for (const t of floorThreads) await floor!.deleteThread(t);
    floorThreads.clear();
  };
  const run = async (workload: WorkloadId, make: (o: OpenSaver) => () => Promise<number>, floorOp?: () => Promise<number>, config = OPS) => {
    current = workload;
    log(`${backend} ${workload}`);
    const contenders: Contender[] = open.map((o) => ({ role: o.target.role, label: o.target.label, op: make(o), cleanup: cleanup(o) }));
    if (floor && floorOp) contenders.push({ role: "floor", label: floor.label, op: floorOp, cleanup: floorCleanup });
    record(await measure(backend, workload, contenders, config, onError));
  };

  let n = 0;
  await run(
    "put",
    (o) => () => o.chat.put(o.handle.saver, newThread(o, `put-${o.target.role}-${n++}`)),
    async () => {
      const thread = `put-floor-${n++}`;
      floorThreads.add(thread);
      for (let i = 0; i < CHAT_STEPS; i++) await floor!.put(thread, floorIds[i], floorBytes[i]);
      return CHAT_STEPS;
    },
  );
  // Each putWrites goes to a checkpoint of its own, as in a graph where a checkpoint gets the writes of
  // its few tasks: writes never pile up on one checkpoint.
  await run(
    "putWrites",
    (o) => async () => {
      const i = n++;
      const thread_id = newThread(o, `writes-${o.target.role}`);
      await o.handle.saver.putWrites({ configurable: { thread_id, checkpoint_ns: "", checkpoint_id: `cp-${i}` } }, threeWrites(i), `task-${i}`);
      return 1;
    },
    async () => {
      const i = n++;
      floorThreads.add("writes");
      await floor!.putWrites("writes", `cp-${i}`, `task-${i}`, floorWrites);
      return 1;
    },
  );
  await run(
    "getTuple",
    (o) => async () => {
      await o.handle.saver.getTuple({ configurable: { thread_id: o.readThread, checkpoint_ns: "" } });
      return 1;
    },
    async () => {
      await floor!.get("read", floorIds[CHAT_STEPS - 1]);
      return 1;
    },
  );
  await run(
    "getTupleLangchain",
    (o) => async () => {
      await o.handle.saver.getTuple({ configurable: { thread_id: o.langchainThread, checkpoint_ns: "" } });
      return 1;
    },
    async () => {
      await floor!.get("read-lc", floorIds[CHAT_STEPS - 1]);
      return 1;
    },
  );
  await run(
    "list10",
    (o) => async () => {
      expectEqual(await consume(o.handle.saver.list({ configurable: { thread_id: o.readThread } }, { limit: 10 })), 10, "list(limit 10)");
      return 1;
    },
    async () => {
      expectEqual((await floor!.list("read", floorIds, 10)).length, 10, "floor list");
      return 1;
    },
  );
  await run(
    "listAll",
    (o) => async () => {
      expectEqual(await consume(o.handle.saver.list({ configurable: { thread_id: o.readThread } })), CHAT_STEPS, "list()");
      return 1;
    },
    async () => {
      expectEqual((await floor!.list("read", floorIds)).length, CHAT_STEPS, "floor list");
      return 1;
    },
  );
  await run(
    "invoke",
    (o) => {
      const graph = chatGraph(o.handle.saver);
      return async () => {
        const config = { configurable: { thread_id: newThread(o, `invoke-${o.target.role}-${n++}`) } };
        let out: { messages: unknown[] } | undefined;
        for (let i = 0; i < INVOKES; i++) out = await graph.invoke({ messages: [userMessage(i)] }, config);
        expectEqual(out?.messages.length, 2 * INVOKES, "messages after the invokes");
        return INVOKES;
      };
    },
    undefined,
    INVOKE,
  );

  for (const o of open) await o.handle.close().catch((err) => failed(backend, "close", o.target.role, o.target.label, err));

  await runCold(
    backend,
    open.map((o) => o.target),
  );

  // Storage, each in a scope of its own that holds one thread.
  for (const { target } of open) {
    log(`${backend} storage ${target.role}`);
    await measureStorage(backend, target).catch((err) => failed(backend, "storage", target.role, target.label, err));
  }
}

// ---------------------------------------------------------------- cold reads

/**
 * Reads by an instance that did not write the threads: a writer stores `COLD_THREADS` 200-step chat
 * threads in the `cold` scope and is closed; then, per workload, each contender's reader (a new
 * instance on the same data, opened untimed) reads every thread once, and is replaced by a new one
 * after each repetition. Ours and the official adapter alternate as in every other workload. Then
 * child processes each open a saver and read every thread once (`cold-child.ts`).
 */
async function runCold(backend: Backend, targets: SaverTarget[]): Promise<void> {
  const readers = targets.filter((t) => t.attach);
  if (readers.length === 0) return;
  const threads = Array.from({ length: COLD_THREADS }, (_, i) => `cold-${i}`);
  const seeded: SaverTarget[] = [];
  // The writers stay open (idle) until the end: closing the official Redis saver's handle deletes its threads.
  const writers: SaverHandle[] = [];
  try {
    for (const target of readers) {
      try {
        await timed(`${backend} ${target.role}: seed ${COLD_THREADS} 200-step threads for the cold reads`, async () => {
          const writer = await target.open("cold");
          writers.push(writer);
          const chat = new ChatThread(writer.saver);
          for (const t of threads) await chat.put(writer.saver, t);
        });
        seeded.push(target);
      } catch (err) {
        failed(backend, "cold setup", target.role, target.label, err);
      }
    }
    if (seeded.length > 0) await coldWorkloads(backend, seeded, threads);
  } finally {
    for (const w of writers) await w.close().catch(() => {});
  }
}

async function coldWorkloads(backend: Backend, seeded: SaverTarget[], threads: string[]): Promise<void> {

  let current: WorkloadId = "coldGetTuple";
  const onError = (c: Contender, err: unknown) => failed(backend, current, c.role, c.label, err);
  // The chat graph of each reader instance, compiled (untimed) when the reader is opened.
  const graphs = new WeakMap<SaverHandle["saver"], ReturnType<typeof chatGraph>>();
  const graphOf = (saver: SaverHandle["saver"]) => graphs.get(saver) ?? chatGraph(saver);
  const attach = async (target: SaverTarget) => {
    const reader = await target.attach!("cold");
    graphs.set(reader.saver, chatGraph(reader.saver));
    return reader;
  };
  const run = async (workload: WorkloadId, read: (saver: SaverHandle["saver"], thread: string) => Promise<void>) => {
    current = workload;
    log(`${backend} ${workload}`);
    const contenders: Contender[] = [];
    const slots: Array<{ reader: SaverHandle }> = [];
    for (const target of seeded) {
      try {
        const slot = { reader: await attach(target) };
        slots.push(slot);
        contenders.push({
          role: target.role,
          label: target.label,
          op: async () => {
            for (const t of threads) await read(slot.reader.saver, t);
            return threads.length;
          },
          cleanup: async () => {
            await slot.reader.close();
            slot.reader = await attach(target);
          },
        });
      } catch (err) {
        failed(backend, workload, target.role, target.label, err);
      }
    }
    try {
      record(await measure(backend, workload, contenders, COLD, onError));
    } finally {
      for (const slot of slots) await slot.reader.close().catch(() => {});
    }
  };

  await run("coldGetTuple", async (saver, thread_id) => {
    const tuple = await saver.getTuple({ configurable: { thread_id, checkpoint_ns: "" } });
    expectEqual((tuple?.checkpoint.channel_values.messages as unknown[] | undefined)?.length, CHAT_STEPS, "messages of a cold getTuple");
  });
  await run("coldList10", async (saver, thread_id) => {
    expectEqual(await consume(saver.list({ configurable: { thread_id } }, { limit: 10 })), 10, "cold list(limit 10)");
  });
  await run("coldGetState", async (saver, thread_id) => {
    const state = await graphOf(saver).getState({ configurable: { thread_id } });
    expectEqual((state.values as { messages?: unknown[] }).messages?.length, CHAT_STEPS, "messages of a cold getState");
  });
  await run("coldGetStateHistory", async (saver, thread_id) => {
    expectEqual(await consume(graphOf(saver).getStateHistory({ configurable: { thread_id } }, { limit: 10 })), 10, "cold getStateHistory (limit 10)");
  });

  // Fresh processes, alternating between the adapters.
  const runs = new Map<SaverTarget, Array<{ openMs: number; firstMs: number; perReadMs: number }>>(seeded.map((t) => [t, []]));
  for (let i = 0; i < COLD_PROCESS_RUNS; i++) {
    for (const target of i % 2 === 0 ? seeded : [...seeded].reverse()) {
      try {
        runs.get(target)!.push(await coldProcess(backend, target.role, threads));
      } catch (err) {
        failed(backend, "cold process", target.role, target.label, err);
        runs.delete(target);
      }
    }
  }
  for (const [target, rs] of runs) {
    if (rs.length === 0) continue;
    const m: ColdProcessMeasurement = {
      backend,
      role: target.role,
      label: target.label,
      read: "getTuple",
      threads: threads.length,
      runs: rs.length,
      openMs: median(rs.map((r) => r.openMs)),
      firstMs: median(rs.map((r) => r.firstMs)),
      perReadMs: median(rs.map((r) => r.perReadMs)),
    };
    result.coldProcess!.push(m);
    log(`  ${backend} cold process ${target.role}: open ${m.openMs.toFixed(1)} ms, first read ${m.firstMs.toFixed(2)} ms, then ${m.perReadMs.toFixed(3)} ms/read`);
  }
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), "cold-child.ts");

async function coldProcess(backend: Backend, role: "ours" | "official", threads: string[]): Promise<{ openMs: number; firstMs: number; perReadMs: number }> {
  const input = JSON.stringify({ backend, role, scope: "cold", threads, env, available });
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", CHILD, input], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as { openMs: number; firstMs: number; perReadMs: number };
}

async function measureStorage(backend: Backend, target: SaverTarget): Promise<void> {
  const handle = await target.open("storage");
  try {
    const chat = new ChatThread(handle.saver);
    let done = 0;
    for (const steps of STORAGE_STEPS) {
      await chat.put(handle.saver, STORAGE_THREAD, done + 1, steps);
      done = steps;
      const size = await handle.storage(STORAGE_THREAD);
      result.storage.push({ backend, role: target.role, label: target.label, workload: "chat", steps, messagesBytes: await messagesBytes(chat.messages.slice(0, steps)), ...size });
    }
  } finally {
    await handle.close();
  }
  const graphHandle = await target.open("graph");
  try {
    const graph = chatGraph(graphHandle.saver);
    const config = { configurable: { thread_id: GRAPH_THREAD } };
    for (let i = 0; i < INVOKES; i++) await graph.invoke({ messages: [userMessage(i)] }, config);
    const state = await graph.getState(config);
    const size = await graphHandle.storage(GRAPH_THREAD);
    result.storage.push({ backend, role: target.role, label: target.label, workload: "graph", steps: INVOKES, messagesBytes: await messagesBytes(state.values.messages), ...size });
  } finally {
    await graphHandle.close();
  }
}

// ---------------------------------------------------------------- stores

const WORDS = ["apple", "river", "stone", "cloud", "ember", "forest", "harbor", "meadow", "silver", "thunder", "violet", "willow", "canyon", "glacier", "lantern", "orchard"];

function itemValue(i: number, revision = 0): Record<string, unknown> {
  const words = Array.from({ length: 8 }, (_, k) => WORDS[(i * 31 + k * 7 + (i >> k)) % WORDS.length]);
  return { text: `note ${i}: ${words.join(" ")}`, category: `c${i % 20}`, n: i, revision };
}

async function runStores(backend: Backend, targets: StoreTarget[], floor: Floor | undefined): Promise<void> {
  const open: Array<{ target: StoreTarget; handle: StoreHandle; store: BaseStore }> = [];
  for (const target of targets) {
    if (target.unavailable) {
      result.unavailable.push({ backend, kind: "store", role: target.role, label: target.label, reason: target.unavailable });
      continue;
    }
    try {
      const handle = await target.open("store");
      await timed(`${backend} ${target.role}: load ${STORE_ITEMS} store items (batches of 500)`, async () => {
        for (let i = 0; i < STORE_ITEMS; i += 500) {
          const ops = Array.from({ length: Math.min(500, STORE_ITEMS - i) }, (_, k) => ({ namespace: STORE_NS, key: `k${i + k}`, value: itemValue(i + k) }));
          await handle.store.batch(ops);
        }
        await handle.settle?.();
      });
      const found = await handle.store.search(["lgpbench"], { filter: { category: "c7" }, limit: 10 });
      expectEqual(found.length, 10, "filtered search results");
      if (!found.every((it) => it.value.category === "c7")) throw new Error("filtered search returned items outside the filter");
      expectEqual((await handle.store.get(STORE_NS, "k123"))?.value.n, 123, "store get");
      open.push({ target, handle, store: handle.store });
    } catch (err) {
      failed(backend, "store setup", target.role, target.label, err);
    }
  }
  if (open.length === 0) return;
  if (floor) for (let i = 0; i < STORE_ITEMS; i++) await floor.storePut(STORE_NS.join("."), `k${i}`, Buffer.from(JSON.stringify(itemValue(i))));

  let current: WorkloadId = "storePut";
  const onError = (c: Contender, err: unknown) => failed(backend, current, c.role, c.label, err);
  const run = async (workload: WorkloadId, make: (store: BaseStore) => () => Promise<number>, floorOp?: () => Promise<number>) => {
    current = workload;
    log(`${backend} ${workload}`);
    const contenders: Contender[] = open.map((o) => ({ role: o.target.role, label: o.target.label, op: make(o.store) }));
    if (floor && floorOp) contenders.push({ role: "floor", label: floor.label, op: floorOp });
    record(await measure(backend, workload, contenders, OPS, onError));
  };

  let n = 0;
  const nextKey = () => (n++ * 7919) % STORE_ITEMS;
  await run(
    "storePut",
    (store) => async () => {
      const i = nextKey();
      await store.put(STORE_NS, `k${i}`, itemValue(i, n));
      return 1;
    },
    async () => {
      const i = nextKey();
      await floor!.storePut(STORE_NS.join("."), `k${i}`, Buffer.from(JSON.stringify(itemValue(i, n))));
      return 1;
    },
  );
  await run(
    "storeGet",
    (store) => async () => {
      await store.get(STORE_NS, `k${nextKey()}`);
      return 1;
    },
    async () => {
      await floor!.storeGet(STORE_NS.join("."), `k${nextKey()}`);
      return 1;
    },
  );
  await run("storeSearchFilter", (store) => async () => {
    const items = await store.search(["lgpbench"], { filter: { category: `c${n++ % 20}` }, limit: 10 });
    expectEqual(items.length, 10, "filtered search results");
    return 1;
  });
  await run("storeSearchSemantic", (store) => async () => {
    const i = n++;
    const items = await store.search(["lgpbench"], { query: `${WORDS[i % WORDS.length]} ${WORDS[(i * 5) % WORDS.length]} notes`, limit: 10 });
    expectEqual(items.length, 10, "semantic search results");
    return 1;
  });
  for (const o of open) await o.handle.close().catch((err) => failed(backend, "store close", o.target.role, o.target.label, err));
}

// ---------------------------------------------------------------- main

async function openFloor(backend: Backend, available: Availability): Promise<Floor | undefined> {
  try {
    if (backend === "postgres" && !available.postgres) return await postgresFloor(env);
    if (backend === "sqlite") return await sqliteFloor(env);
    if (backend === "redis" && !available.redis) return await redisFloor(env);
  } catch (err) {
    failed(backend, "floor", "floor", backend, err);
  }
  return undefined;
}

async function cleanup(available: Availability): Promise<void> {
  for (const role of ["ours", "official", "floor"]) {
    for (const scope of ["main", "storage", "graph", "store", "cold"]) {
      if (!available.postgres) await dropPgSchema(env.postgresUrl, pgSchema(role, scope)).catch(() => {});
      if (!available.redis) await dropRedisPrefix(env.redisUrl, redisPrefix(role, scope)).catch(() => {});
    }
  }
  rmSync(env.dir, { recursive: true, force: true });
}

let available: Availability = { redisModules: false };

async function main(): Promise<number> {
  installCounters();
  const started = Date.now();
  available = await probe();
  result.machine = await describeMachine(env, available);
  const savers = await saverTargets(env, available);
  const stores = await storeTargets(env, available);
  try {
    for (const backend of selected) {
      const backendStart = Date.now();
      const floor = await openFloor(backend, available);
      try {
        await runSavers(
          backend,
          savers.filter((t) => t.backend === backend),
          floor,
        );
        await runStores(
          backend,
          stores.filter((t) => t.backend === backend),
          floor,
        );
      } finally {
        await floor?.close().catch(() => {});
      }
      log(`${backend}: ${Math.round((Date.now() - backendStart) / 1000)} s`);
    }
  } finally {
    await cleanup(available);
  }
  result.durationSeconds = Math.round((Date.now() - started) / 1000);
  printReport(result);
  if (args.check) return checkAgainst(result, selected);
  if (!args.quick && !args["no-write"]) writeReport(result);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
