import pg from "pg";
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import { dropPgSchema, dropRedisPrefix, pgSchema, redisKeys, redisPrefix, sqliteFile, type Backend, type BenchEnv } from "./targets.js";

/**
 * The raw-driver floor of a backend: the least work any adapter could do to store or fetch the same
 * bytes — one prepared single-row statement by key (Redis: one command), no (de)serialisation.
 * `list` is one prepared statement returning the newest rows (Redis: one MGET of known keys).
 */
export interface Floor {
  readonly backend: Backend;
  readonly label: string;
  put(threadId: string, checkpointId: string, data: Uint8Array): Promise<void>;
  putWrites(threadId: string, checkpointId: string, taskId: string, data: Uint8Array): Promise<void>;
  get(threadId: string, checkpointId: string): Promise<Uint8Array | undefined>;
  /** The newest `limit` checkpoints of the thread (all of them when `limit` is undefined). */
  list(threadId: string, checkpointIds: string[], limit?: number): Promise<Uint8Array[]>;
  storePut(namespace: string, key: string, data: Uint8Array): Promise<void>;
  storeGet(namespace: string, key: string): Promise<Uint8Array | undefined>;
  /** Removes a thread's checkpoints and writes (untimed cleanup between repetitions). */
  deleteThread(threadId: string): Promise<void>;
  close(): Promise<void>;
}

const TABLES = (q: (name: string) => string, blob: string) => [
  `CREATE TABLE ${q("checkpoints")} (thread_id text NOT NULL, checkpoint_id text NOT NULL, data ${blob} NOT NULL, PRIMARY KEY (thread_id, checkpoint_id))`,
  `CREATE TABLE ${q("writes")} (thread_id text NOT NULL, checkpoint_id text NOT NULL, task_id text NOT NULL, data ${blob} NOT NULL, PRIMARY KEY (thread_id, checkpoint_id, task_id))`,
  `CREATE TABLE ${q("items")} (namespace text NOT NULL, key text NOT NULL, data ${blob} NOT NULL, PRIMARY KEY (namespace, key))`,
];

export async function postgresFloor(env: BenchEnv): Promise<Floor> {
  const schema = pgSchema("floor", "main");
  await dropPgSchema(env.postgresUrl, schema);
  const client = new pg.Client({ connectionString: env.postgresUrl });
  await client.connect();
  const q = (name: string) => `"${schema}"."${name}"`;
  await client.query(`CREATE SCHEMA "${schema}"`);
  for (const ddl of TABLES(q, "bytea")) await client.query(ddl);
  const run = (name: string, text: string, values: unknown[]) => client.query<{ data: Buffer }>({ name, text, values });
  return {
    backend: "postgres",
    label: "pg: one prepared statement",
    async put(t, c, data) {
      await run("floor_put", `INSERT INTO ${q("checkpoints")} (thread_id, checkpoint_id, data) VALUES ($1, $2, $3)`, [t, c, data]);
    },
    async putWrites(t, c, task, data) {
      await run("floor_put_writes", `INSERT INTO ${q("writes")} (thread_id, checkpoint_id, task_id, data) VALUES ($1, $2, $3, $4)`, [t, c, task, data]);
    },
    async get(t, c) {
      return (await run("floor_get", `SELECT data FROM ${q("checkpoints")} WHERE thread_id = $1 AND checkpoint_id = $2`, [t, c])).rows[0]?.data;
    },
    async list(t, _ids, limit) {
      const r = await run("floor_list", `SELECT data FROM ${q("checkpoints")} WHERE thread_id = $1 ORDER BY checkpoint_id DESC LIMIT $2`, [t, limit ?? null]);
      return r.rows.map((row) => row.data);
    },
    async storePut(ns, key, data) {
      await run("floor_store_put", `INSERT INTO ${q("items")} (namespace, key, data) VALUES ($1, $2, $3) ON CONFLICT (namespace, key) DO UPDATE SET data = excluded.data`, [ns, key, data]);
    },
    async storeGet(ns, key) {
      return (await run("floor_store_get", `SELECT data FROM ${q("items")} WHERE namespace = $1 AND key = $2`, [ns, key])).rows[0]?.data;
    },
    async deleteThread(t) {
      await client.query(`DELETE FROM ${q("checkpoints")} WHERE thread_id = $1`, [t]);
      await client.query(`DELETE FROM ${q("writes")} WHERE thread_id = $1`, [t]);
    },
    async close() {
      await client.end();
      await dropPgSchema(env.postgresUrl, schema);
    },
  };
}

export async function sqliteFloor(env: BenchEnv): Promise<Floor> {
  // Same settings as both adapters: a file in WAL mode, default synchronous.
  const db = new Database(sqliteFile(env, "floor", "main"));
  db.pragma("journal_mode = WAL");
  for (const ddl of TABLES((n) => `"${n}"`, "blob")) db.exec(ddl);
  const put = db.prepare("INSERT INTO checkpoints (thread_id, checkpoint_id, data) VALUES (?, ?, ?)");
  const putWrites = db.prepare("INSERT INTO writes (thread_id, checkpoint_id, task_id, data) VALUES (?, ?, ?, ?)");
  const get = db.prepare("SELECT data FROM checkpoints WHERE thread_id = ? AND checkpoint_id = ?").pluck();
  const list = db.prepare("SELECT data FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id DESC LIMIT ?").pluck();
  const storePut = db.prepare("INSERT INTO items (namespace, key, data) VALUES (?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET data = excluded.data");
  const storeGet = db.prepare("SELECT data FROM items WHERE namespace = ? AND key = ?").pluck();
  return {
    backend: "sqlite",
    label: "better-sqlite3: one prepared statement",
    async put(t, c, data) {
      put.run(t, c, data);
    },
    async putWrites(t, c, task, data) {
      putWrites.run(t, c, task, data);
    },
    async get(t, c) {
      return get.get(t, c) as Uint8Array | undefined;
    },
    async list(t, _ids, limit) {
      return list.all(t, limit ?? -1) as Uint8Array[];
    },
    async storePut(ns, key, data) {
      storePut.run(ns, key, data);
    },
    async storeGet(ns, key) {
      return storeGet.get(ns, key) as Uint8Array | undefined;
    },
    async deleteThread(t) {
      db.prepare("DELETE FROM checkpoints WHERE thread_id = ?").run(t);
      db.prepare("DELETE FROM writes WHERE thread_id = ?").run(t);
    },
    async close() {
      db.close();
    },
  };
}

/** A Buffer over the same memory (no copy). */
const view = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

const SET_SCRIPT = "return redis.call('SET', KEYS[1], ARGV[1])";

export async function redisFloor(env: BenchEnv): Promise<Floor> {
  const prefix = redisPrefix("floor", "main");
  await dropRedisPrefix(env.redisUrl, prefix);
  const redis = new Redis(env.redisUrl, { lazyConnect: true });
  await redis.connect();
  const sha = (await redis.script("LOAD", SET_SCRIPT)) as string;
  const cpKey = (t: string, c: string) => `${prefix}:cp:${t}:${c}`;
  // Keys written per thread, so a thread is removed without scanning the keyspace.
  const written = new Map<string, string[]>();
  const remember = (t: string, key: string) => {
    const keys = written.get(t);
    if (keys) keys.push(key);
    else written.set(t, [key]);
    return key;
  };
  return {
    backend: "redis",
    label: "ioredis: one EVALSHA (writes) / GET or MGET (reads)",
    async put(t, c, data) {
      await redis.evalsha(sha, 1, remember(t, cpKey(t, c)), view(data));
    },
    async putWrites(t, c, task, data) {
      await redis.evalsha(sha, 1, remember(t, `${prefix}:w:${t}:${c}:${task}`), view(data));
    },
    async get(t, c) {
      return (await redis.getBuffer(cpKey(t, c))) ?? undefined;
    },
    async list(t, ids, limit) {
      const newest = [...ids].reverse().slice(0, limit ?? ids.length);
      return (await redis.mgetBuffer(...newest.map((c) => cpKey(t, c)))).filter((b): b is Buffer => b !== null);
    },
    async storePut(ns, key, data) {
      await redis.set(`${prefix}:item:${ns}:${key}`, view(data));
    },
    async storeGet(ns, key) {
      return (await redis.getBuffer(`${prefix}:item:${ns}:${key}`)) ?? undefined;
    },
    async deleteThread(t) {
      const keys = written.get(t) ?? [];
      written.delete(t);
      for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
    },
    async close() {
      const keys = await redisKeys(redis, prefix);
      for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
      redis.disconnect();
    },
  };
}
