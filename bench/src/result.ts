import os from "node:os";
import { readFileSync } from "node:fs";
import pg from "pg";
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import type { MeasureConfig, Measurement } from "./measure.js";
import { packageVersion, type Availability, type Backend, type BenchEnv, type Role, type StorageSize } from "./targets.js";

export interface StorageMeasurement extends StorageSize {
  backend: Backend;
  role: "ours" | "official";
  label: string;
  /** `chat`: the 200-step chat thread through `put`; `graph`: 100 `graph.invoke` on one thread. */
  workload: "chat" | "graph";
  /** Chat steps stored, or invokes run. */
  steps: number;
  /** The thread's messages serialised once, as one array. */
  messagesBytes: number;
}

/**
 * A fresh process (a child the bench starts) that opens a saver on threads another process wrote and
 * reads each once: `openMs` opening it (setup included), `firstMs` its first read, `perReadMs` each of
 * the other reads. Medians over the runs.
 */
export interface ColdProcessMeasurement {
  backend: Backend;
  role: "ours" | "official";
  label: string;
  /** What each read is: `getTuple` of a thread's latest checkpoint. */
  read: "getTuple";
  threads: number;
  runs: number;
  openMs: number;
  firstMs: number;
  perReadMs: number;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  postgres?: string;
  sqlite: string;
  redis?: string;
  redisModules: string[];
  packages: Record<string, string>;
}

export interface BenchResult {
  date: string;
  mode: "full" | "quick";
  config: { ops: MeasureConfig; invoke: MeasureConfig; invokes: number; storeItems: number; chatSteps: number; cold?: { threads: number; reps: number } };
  machine: Machine;
  backends: Backend[];
  measurements: Measurement[];
  storage: StorageMeasurement[];
  /** Absent in results written before the cold workloads existed. */
  coldProcess?: ColdProcessMeasurement[];
  unavailable: Array<{ backend: Backend; kind: "checkpointer" | "store"; role: Role; label: string; reason: string }>;
  errors: Array<{ backend: Backend; workload: string; role: string; label: string; message: string }>;
  /** Untimed preparation steps, for the record. */
  setup: Array<{ what: string; ms: number }>;
  durationSeconds?: number;
}

export const REPORTED_PACKAGES = [
  "@langchain/core",
  "@langchain/langgraph",
  "@langchain/langgraph-checkpoint",
  "@langchain/langgraph-checkpoint-postgres",
  "@langchain/langgraph-checkpoint-sqlite",
  "@langchain/langgraph-checkpoint-redis",
  "@langgraph-persist/memory",
  "@langgraph-persist/sqlite",
  "@langgraph-persist/postgres",
  "@langgraph-persist/redis",
  "pg",
  "better-sqlite3",
  "ioredis",
];

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync("/etc/os-release", "utf8"));
    if (pretty) return `${pretty[1]} (${os.release()})`;
  } catch {
    // not Linux
  }
  return `${os.type()} ${os.release()}`;
}

export async function describeMachine(env: BenchEnv, available: Availability): Promise<Machine> {
  const machine: Machine = {
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    node: process.version,
    sqlite: "",
    redisModules: [],
    packages: Object.fromEntries(REPORTED_PACKAGES.map((p) => [p, packageVersion(p)])),
  };
  const db = new Database(":memory:");
  machine.sqlite = String(db.prepare("SELECT sqlite_version()").pluck().get());
  db.close();
  if (!available.postgres) {
    const c = new pg.Client({ connectionString: env.postgresUrl });
    await c.connect();
    const v = await c.query<{ server_version: string }>("SHOW server_version");
    const vec = await c.query<{ v: string | null }>("SELECT (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS v");
    machine.postgres = `PostgreSQL ${v.rows[0].server_version}${vec.rows[0].v ? `, pgvector ${vec.rows[0].v}` : ""}`;
    await c.end();
  }
  if (!available.redis) {
    const r = new Redis(env.redisUrl, { lazyConnect: true });
    await r.connect();
    const info = await r.info("server");
    machine.redis = `Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? "?"}`;
    machine.redisModules = available.redisModules ? ((await r.call("MODULE", "LIST")) as unknown[][]).map((m) => String(m[1])) : [];
    r.disconnect();
  }
  return machine;
}
