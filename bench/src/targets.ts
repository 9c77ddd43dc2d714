import { createRequire } from "node:module";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import { MemorySaver as UpstreamMemorySaver, InMemoryStore as UpstreamInMemoryStore, type BaseCheckpointSaver, type BaseStore } from "@langchain/langgraph-checkpoint";
import { HashEmbeddings } from "@langgraph-persist/conformance";

export type Backend = "memory" | "sqlite" | "postgres" | "redis";
export type Role = "ours" | "official" | "floor";
export const BACKENDS: Backend[] = ["memory", "sqlite", "postgres", "redis"];

export interface BenchEnv {
  postgresUrl: string;
  redisUrl: string;
  /** Directory for SQLite files, removed at the end. */
  dir: string;
}

/** Bytes a thread occupies. `logical`: what the adapter stored (column / value bytes); `disk`: what the backend reports. */
export interface StorageSize {
  logical: number;
  disk?: number;
  diskLabel?: string;
}

export interface SaverHandle {
  saver: BaseCheckpointSaver;
  /** Bytes held for one thread. The scope this handle was opened in must hold nothing else for `disk`. */
  storage(threadId: string): Promise<StorageSize>;
  close(): Promise<void>;
}

export interface StoreHandle {
  store: BaseStore;
  /** After the items are loaded, untimed: brings the backend to the state a running application's is in. */
  settle?(): Promise<void>;
  close(): Promise<void>;
}

export interface Target<H> {
  backend: Backend;
  role: "ours" | "official";
  /** Package and class, e.g. `@langchain/langgraph-checkpoint-postgres PostgresSaver`. */
  label: string;
  /** Package whose version is reported. */
  pkg: string;
  /** Set when the target cannot run on this machine; the reason is reported. */
  unavailable?: string;
  /** Opens an instance on its own schema / file / key prefix named after `scope`, emptied first. */
  open(scope: string): Promise<H>;
}

export interface SaverTarget extends Target<SaverHandle> {
  /**
   * Opens another instance on the data of `scope` without emptying it: a reader that did not write the
   * threads (a restarted process, a second replica). Unset: the backend has no such reader (memory).
   */
  attach?(scope: string): Promise<SaverHandle>;
}

/** Cold workloads: an instance that did not write the threads reads each of them once. */
export type ColdWorkload = "coldGetTuple" | "coldList10" | "coldGetState" | "coldGetStateHistory";

/**
 * Targets of the cold workloads, ours ÷ official (operations per second). Memory has none: an
 * in-process saver is warm by nature (only the instance that wrote a thread can read it).
 */
export const COLD_TARGETS: Partial<Record<Backend, Partial<Record<ColdWorkload, number>>>> = {
  postgres: { coldGetTuple: 5, coldList10: 10 },
  sqlite: { coldGetTuple: 1.5, coldList10: 2 },
};
export type StoreTarget = Target<StoreHandle>;

export const DIMS = 64;
export const REDIS_STACK_NEEDED = "cannot run here: needs the Redis Stack modules (RedisJSON + RediSearch), which this Redis server does not load";
export const embeddings = new HashEmbeddings(DIMS);

const require = createRequire(import.meta.url);

export function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/** Our adapters are loaded lazily: a package that does not build yet is reported, not fatal. */
async function load<T>(name: string): Promise<T | Error> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

// ---------------------------------------------------------------- naming and cleanup

export const pgSchema = (role: string, scope: string) => `lgp_bench_${role}_${scope}`;
export const redisPrefix = (role: string, scope: string) => `lgpbench_${role}_${scope}`;
export const sqliteFile = (env: BenchEnv, role: string, scope: string) => path.join(env.dir, `${role}_${scope}.db`);

export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Gathers planner statistics for a schema's tables, as autovacuum does on a running server some time
 * after a bulk load (a search right after loading 10,000 items would otherwise be planned without any).
 */
export async function analyzePgSchema(url: string, schema: string): Promise<void> {
  await withPg(url, async (c) => {
    const { rows } = await c.query<{ name: string }>("SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname = $1", [schema]);
    for (const { name } of rows) await c.query(`ANALYZE ${name}`);
  });
}

export async function dropPgSchema(url: string, schema: string): Promise<void> {
  await withPg(url, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/** Every key containing `<prefix>:`, the way our Redis adapter and the floor name them. */
export async function redisKeys(redis: Redis, prefix: string, pattern = `*${prefix}:*`): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  try {
    const keys = await redisKeys(redis, prefix);
    for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
  } finally {
    redis.disconnect();
  }
}

// ---------------------------------------------------------------- storage measurement

/**
 * Bytes a structure holds: the byte length of every Uint8Array and string reachable from `root`, 8 per
 * number, 16 per object or array header and 8 per property slot, Map/Set entry or array element. Property
 * names are not counted per object: V8 shares them between objects of the same shape.
 */
export function heldBytes(root: unknown, seen = new Set<unknown>()): number {
  if (root === null || root === undefined) return 0;
  if (typeof root === "string") return Buffer.byteLength(root);
  if (typeof root === "number" || typeof root === "boolean" || typeof root === "bigint") return 8;
  if (typeof root !== "object") return 0;
  if (seen.has(root)) return 0;
  seen.add(root);
  if (ArrayBuffer.isView(root)) return root.byteLength;
  let total = 16;
  if (root instanceof Map) {
    for (const [k, v] of root) total += 8 + heldBytes(k, seen) + heldBytes(v, seen);
    return total;
  }
  if (root instanceof Set) {
    for (const v of root) total += 8 + heldBytes(v, seen);
    return total;
  }
  for (const v of Object.values(root)) total += 8 + heldBytes(v, seen);
  return total;
}

/** Postgres: bytes of the thread's rows in every table of the schema that has a `thread_id` column, and the schema's relation sizes. */
export async function pgStorage(url: string, schema: string, threadId: string): Promise<StorageSize> {
  return withPg(url, async (c) => {
    const cols = await c.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns
        WHERE table_schema = $1 AND table_name IN (SELECT table_name FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'thread_id')
        ORDER BY table_name, ordinal_position`,
      [schema],
    );
    const byTable = new Map<string, string[]>();
    for (const r of cols.rows) {
      const q = `"${r.column_name}"`;
      const expr =
        r.data_type === "bytea" || r.data_type === "text" || r.data_type === "character varying"
          ? `coalesce(octet_length(${q}), 0)`
          : r.data_type === "jsonb" || r.data_type === "json"
            ? `coalesce(octet_length(${q}::text), 0)`
            : `coalesce(pg_column_size(${q}), 0)`;
      byTable.set(r.table_name, [...(byTable.get(r.table_name) ?? []), expr]);
    }
    let logical = 0;
    for (const [table, exprs] of byTable) {
      const r = await c.query<{ n: string | null }>(`SELECT sum(${exprs.join(" + ")})::bigint AS n FROM "${schema}"."${table}" WHERE thread_id = $1`, [threadId]);
      logical += Number(r.rows[0].n ?? 0);
    }
    const disk = await c.query<{ n: string | null }>(
      `SELECT sum(pg_total_relation_size(c.oid))::bigint AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`,
      [schema],
    );
    return { logical, disk: Number(disk.rows[0].n ?? 0), diskLabel: "pg_total_relation_size of the schema's tables" };
  });
}

/** SQLite: bytes of the thread's rows (tables with a `thread_id` column) and the file size after a WAL checkpoint. */
export function sqliteStorage(file: string, threadId: string): StorageSize {
  const db = new Database(file);
  try {
    db.pragma("wal_checkpoint(TRUNCATE)");
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
    let logical = 0;
    for (const table of tables) {
      const cols = (db.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string }>).map((c) => c.name);
      if (!cols.includes("thread_id")) continue;
      const sum = cols.map((c) => `coalesce(length(CAST("${c}" AS BLOB)), 0)`).join(" + ");
      const row = db.prepare(`SELECT sum(${sum}) AS n FROM "${table}" WHERE thread_id = ?`).get(threadId) as { n: number | null };
      logical += row.n ?? 0;
    }
    let disk = statSync(file).size;
    if (existsSync(`${file}-wal`)) disk += statSync(`${file}-wal`).size;
    return { logical, disk, diskLabel: "database file after a WAL checkpoint" };
  } finally {
    db.close();
  }
}

/**
 * Redis: `MEMORY USAGE` of every key of the prefix (the scope holds one thread) or matching `pattern`,
 * and the value bytes (string length; field + value lengths; members).
 */
export async function redisStorage(url: string, prefix: string, pattern?: string): Promise<StorageSize> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  try {
    const keys = await redisKeys(redis, prefix, pattern);
    let disk = 0;
    let logical = 0;
    for (const key of keys) {
      disk += Number(await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
      const type = await redis.type(key);
      if (type === "string") logical += await redis.strlen(key);
      else if (type === "hash") for (const [f, v] of Object.entries(await redis.hgetallBuffer(key))) logical += Buffer.byteLength(f) + v.length;
      else if (type === "zset") for (const m of await redis.zrangeBuffer(key, 0, -1)) logical += m.length + 8;
      else if (type === "set") for (const m of await redis.smembersBuffer(key)) logical += m.length;
      else if (type === "list") for (const m of await redis.lrangeBuffer(key, 0, -1)) logical += m.length;
      else if (type === "ReJSON-RL") logical += Number(await redis.call("JSON.DEBUG", "MEMORY", key));
    }
    return { logical, disk, diskLabel: "MEMORY USAGE of the keys" };
  } finally {
    redis.disconnect();
  }
}

// ---------------------------------------------------------------- savers

type OursMemory = typeof import("@langgraph-persist/memory");
type OursSqlite = typeof import("@langgraph-persist/sqlite");
type OursPostgres = typeof import("@langgraph-persist/postgres");
type OursRedis = typeof import("@langgraph-persist/redis");

export interface Availability {
  postgres?: string;
  redis?: string;
  redisModules: boolean;
}

export async function saverTargets(env: BenchEnv, available: Availability): Promise<SaverTarget[]> {
  const [mem, lite, post, red] = await Promise.all([
    load<OursMemory>("@langgraph-persist/memory"),
    load<OursSqlite>("@langgraph-persist/sqlite"),
    load<OursPostgres>("@langgraph-persist/postgres"),
    load<OursRedis>("@langgraph-persist/redis"),
  ]);
  const notBuilt = (m: unknown) => (m instanceof Error ? `package does not load: ${m.message.split("\n")[0]}` : undefined);
  const targets: SaverTarget[] = [];

  targets.push({
    backend: "memory",
    role: "ours",
    label: "@langgraph-persist/memory MemorySaver",
    pkg: "@langgraph-persist/memory",
    unavailable: notBuilt(mem),
    async open() {
      const saver = new (mem as OursMemory).MemorySaver();
      await saver.setup();
      return {
        saver,
        storage: async (threadId) => ({ logical: heldBytes(saver.data.threads.get(threadId)) }),
        close: () => saver.close(),
      };
    },
  });
  targets.push({
    backend: "memory",
    role: "official",
    label: "@langchain/langgraph-checkpoint MemorySaver",
    pkg: "@langchain/langgraph-checkpoint",
    async open() {
      const saver = new UpstreamMemorySaver();
      return {
        saver,
        storage: async (threadId) => {
          const prefix = JSON.stringify([threadId]).slice(0, -1) + ",";
          const writes = Object.entries(saver.writes).filter(([k]) => k.startsWith(prefix));
          return { logical: heldBytes(saver.storage[threadId]) + heldBytes(Object.fromEntries(writes)) };
        },
        close: async () => {},
      };
    },
  });

  targets.push({
    backend: "sqlite",
    role: "ours",
    label: "@langgraph-persist/sqlite SqliteSaver (file)",
    pkg: "@langgraph-persist/sqlite",
    unavailable: notBuilt(lite),
    async open(scope) {
      const file = sqliteFile(env, "ours", scope);
      const saver = new (lite as OursSqlite).SqliteSaver(file);
      await saver.setup();
      return { saver, storage: async (threadId) => sqliteStorage(file, threadId), close: () => saver.close() };
    },
    async attach(scope) {
      const file = sqliteFile(env, "ours", scope);
      const saver = new (lite as OursSqlite).SqliteSaver(file);
      await saver.setup();
      return { saver, storage: async (threadId) => sqliteStorage(file, threadId), close: () => saver.close() };
    },
  });
  async function openOfficialSqlite(scope: string): Promise<SaverHandle> {
    const { SqliteSaver } = await import("@langchain/langgraph-checkpoint-sqlite");
    const file = sqliteFile(env, "official", scope);
    const saver = SqliteSaver.fromConnString(file);
    return {
      saver,
      storage: async (threadId) => sqliteStorage(file, threadId),
      close: async () => {
        saver.db.close();
      },
    };
  }
  targets.push({
    backend: "sqlite",
    role: "official",
    label: "@langchain/langgraph-checkpoint-sqlite SqliteSaver (file)",
    pkg: "@langchain/langgraph-checkpoint-sqlite",
    // The official saver creates its tables on first use: attaching to a file is opening it.
    open: openOfficialSqlite,
    attach: openOfficialSqlite,
  });

  targets.push({
    backend: "postgres",
    role: "ours",
    label: "@langgraph-persist/postgres PostgresSaver",
    pkg: "@langgraph-persist/postgres",
    unavailable: available.postgres ?? notBuilt(post),
    async open(scope) {
      const schema = pgSchema("ours", scope);
      await dropPgSchema(env.postgresUrl, schema);
      const saver = new (post as OursPostgres).PostgresSaver(env.postgresUrl, { schema });
      await saver.setup();
      return { saver, storage: (threadId) => pgStorage(env.postgresUrl, schema, threadId), close: () => saver.close() };
    },
    async attach(scope) {
      const schema = pgSchema("ours", scope);
      const saver = new (post as OursPostgres).PostgresSaver(env.postgresUrl, { schema });
      await saver.setup();
      return { saver, storage: (threadId) => pgStorage(env.postgresUrl, schema, threadId), close: () => saver.close() };
    },
  });
  targets.push({
    backend: "postgres",
    role: "official",
    label: "@langchain/langgraph-checkpoint-postgres PostgresSaver",
    pkg: "@langchain/langgraph-checkpoint-postgres",
    unavailable: available.postgres,
    async open(scope) {
      const { PostgresSaver } = await import("@langchain/langgraph-checkpoint-postgres");
      const schema = pgSchema("official", scope);
      await dropPgSchema(env.postgresUrl, schema);
      const pool = new pg.Pool({ connectionString: env.postgresUrl });
      const saver = new PostgresSaver(pool, undefined, { schema });
      await saver.setup();
      return { saver, storage: (threadId) => pgStorage(env.postgresUrl, schema, threadId), close: () => pool.end() };
    },
    async attach(scope) {
      const { PostgresSaver } = await import("@langchain/langgraph-checkpoint-postgres");
      const schema = pgSchema("official", scope);
      const pool = new pg.Pool({ connectionString: env.postgresUrl });
      const saver = new PostgresSaver(pool, undefined, { schema });
      await saver.setup();
      return { saver, storage: (threadId) => pgStorage(env.postgresUrl, schema, threadId), close: () => pool.end() };
    },
  });

  targets.push({
    backend: "redis",
    role: "ours",
    label: "@langgraph-persist/redis RedisSaver",
    pkg: "@langgraph-persist/redis",
    unavailable: available.redis ?? notBuilt(red),
    async open(scope) {
      const keyPrefix = redisPrefix("ours", scope);
      await dropRedisPrefix(env.redisUrl, keyPrefix);
      const saver = new (red as OursRedis).RedisSaver({ url: env.redisUrl, keyPrefix });
      await saver.setup();
      return { saver, storage: () => redisStorage(env.redisUrl, keyPrefix), close: () => saver.close() };
    },
    async attach(scope) {
      const keyPrefix = redisPrefix("ours", scope);
      const saver = new (red as OursRedis).RedisSaver({ url: env.redisUrl, keyPrefix });
      await saver.setup();
      return { saver, storage: () => redisStorage(env.redisUrl, keyPrefix), close: () => saver.close() };
    },
  });
  targets.push({
    backend: "redis",
    role: "official",
    label: "@langchain/langgraph-checkpoint-redis RedisSaver",
    pkg: "@langchain/langgraph-checkpoint-redis",
    unavailable: available.redis ?? (available.redisModules ? undefined : REDIS_STACK_NEEDED),
    async open() {
      // Only reached against Redis Stack. Its keys have a fixed prefix; the bench deletes its threads at the end.
      const { RedisSaver } = await import("@langchain/langgraph-checkpoint-redis");
      const saver = await RedisSaver.fromUrl(env.redisUrl);
      const threads = new Set<string>();
      const put = saver.put.bind(saver);
      saver.put = (config, ...rest) => {
        threads.add(String(config.configurable?.thread_id));
        return put(config, ...rest);
      };
      return {
        saver,
        storage: (threadId) => redisStorage(env.redisUrl, threadId, `*${threadId}*`),
        close: async () => {
          for (const t of threads) await saver.deleteThread(t);
          await saver.end();
        },
      };
    },    async attach() {
      const { RedisSaver } = await import("@langchain/langgraph-checkpoint-redis");
      const saver = await RedisSaver.fromUrl(env.redisUrl);
      return { saver, storage: (threadId) => redisStorage(env.redisUrl, threadId, `*${threadId}*`), close: () => saver.end() };
    },
  });
  return targets;
}

// ---------------------------------------------------------------- stores

export const STORE_FIELDS = ["text"];

export async function storeTargets(env: BenchEnv, available: Availability): Promise<StoreTarget[]> {
  const [mem, lite, post, red] = await Promise.all([
    load<OursMemory>("@langgraph-persist/memory"),
    load<OursSqlite>("@langgraph-persist/sqlite"),
    load<OursPostgres>("@langgraph-persist/postgres"),
    load<OursRedis>("@langgraph-persist/redis"),
  ]);
  const notBuilt = (m: unknown) => (m instanceof Error ? `package does not load: ${m.message.split("\n")[0]}` : undefined);
  const index = { dims: DIMS, embeddings, fields: STORE_FIELDS };
  return [
    {
      backend: "memory",
      role: "ours",
      label: "@langgraph-persist/memory InMemoryStore",
      pkg: "@langgraph-persist/memory",
      unavailable: notBuilt(mem),
      async open() {
        const store = new (mem as OursMemory).InMemoryStore({ index });
        await store.setup();
        return { store, close: () => store.close() };
      },
    },
    {
      backend: "memory",
      role: "official",
      label: "@langchain/langgraph-checkpoint InMemoryStore",
      pkg: "@langchain/langgraph-checkpoint",
      async open() {
        const store = new UpstreamInMemoryStore({ index });
        return { store, close: async () => {} };
      },
    },
    {
      backend: "sqlite",
      role: "ours",
      label: "@langgraph-persist/sqlite SqliteStore (file)",
      pkg: "@langgraph-persist/sqlite",
      unavailable: notBuilt(lite),
      async open(scope) {
        const store = new (lite as OursSqlite).SqliteStore(sqliteFile(env, "ours", scope), { index });
        await store.setup();
        return { store, close: () => store.close() };
      },
    },
    {
      backend: "sqlite",
      role: "official",
      label: "@langchain/langgraph-checkpoint-sqlite (no store)",
      pkg: "@langchain/langgraph-checkpoint-sqlite",
      unavailable: "the official SQLite package has no store",
      async open() {
        throw new Error("unavailable");
      },
    },
    {
      backend: "postgres",
      role: "ours",
      label: "@langgraph-persist/postgres PostgresStore",
      pkg: "@langgraph-persist/postgres",
      unavailable: available.postgres ?? notBuilt(post),
      async open(scope) {
        const schema = pgSchema("ours", scope);
        await dropPgSchema(env.postgresUrl, schema);
        const store = new (post as OursPostgres).PostgresStore(env.postgresUrl, { schema, index });
        await store.setup();
        return { store, settle: () => analyzePgSchema(env.postgresUrl, schema), close: () => store.close() };
      },
    },
    {
      backend: "postgres",
      role: "official",
      label: "@langchain/langgraph-checkpoint-postgres PostgresStore",
      pkg: "@langchain/langgraph-checkpoint-postgres",
      unavailable: available.postgres,
      async open(scope) {
        const { PostgresStore } = await import("@langchain/langgraph-checkpoint-postgres/store");
        const schema = pgSchema("official", scope);
        await dropPgSchema(env.postgresUrl, schema);
        const store = new PostgresStore({ connectionOptions: env.postgresUrl, schema, index: { dims: DIMS, embed: embeddings, fields: STORE_FIELDS } });
        await store.setup();
        return { store: store as unknown as BaseStore, settle: () => analyzePgSchema(env.postgresUrl, schema), close: () => store.stop() };
      },
    },
    {
      backend: "redis",
      role: "ours",
      label: "@langgraph-persist/redis RedisStore",
      pkg: "@langgraph-persist/redis",
      unavailable: available.redis ?? notBuilt(red),
      async open(scope) {
        const keyPrefix = redisPrefix("ours", scope);
        await dropRedisPrefix(env.redisUrl, keyPrefix);
        const store = new (red as OursRedis).RedisStore({ url: env.redisUrl, keyPrefix, index });
        await store.setup();
        return { store, close: () => store.close() };
      },
    },
    {
      backend: "redis",
      role: "official",
      label: "@langchain/langgraph-checkpoint-redis RedisStore",
      pkg: "@langchain/langgraph-checkpoint-redis",
      unavailable: available.redis ?? (available.redisModules ? undefined : REDIS_STACK_NEEDED),
      async open() {
        // Only reached against Redis Stack. Its RedisStore has the BaseStore methods without extending it;
        // its keys have a fixed prefix, so the bench deletes the items it wrote when it closes.
        const { RedisStore } = await import("@langchain/langgraph-checkpoint-redis/store");
        const store = await RedisStore.fromConnString(env.redisUrl, { index: { dims: DIMS, embed: embeddings, fields: STORE_FIELDS } });
        const written = new Map<string, string[]>();
        const put = store.put.bind(store);
        store.put = (namespace, key, ...rest) => {
          written.set(JSON.stringify([namespace, key]), namespace);
          return put(namespace, key, ...rest);
        };
        const batch = store.batch.bind(store);
        store.batch = (ops) => {
          for (const op of ops) if ("value" in op) written.set(JSON.stringify([op.namespace, op.key]), op.namespace);
          return batch(ops);
        };
        return {
          store: store as unknown as BaseStore,
          close: async () => {
            for (const k of written.keys()) {
              const [namespace, key] = JSON.parse(k) as [string[], string];
              await store.delete(namespace, key);
            }
            await store.close();
          },
        };
      },
    },
  ];
}
