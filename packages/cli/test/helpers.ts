import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PostgresSaver } from "@langgraph-persist/postgres";
import { RedisSaver } from "@langgraph-persist/redis";
import { MongoDBSaver } from "@langgraph-persist/mongodb";

export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = join(PACKAGE_ROOT, "dist", "cli.js");
export const DEMO = join(PACKAGE_ROOT, "dist", "demo.js");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a built entry point as a separate process (no TTY: progress comes as plain lines). */
export function runNode(script: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { cwd: options.cwd ?? PACKAGE_ROOT, env: { ...process.env, LANGGRAPH_PERSIST_URL: "", ...options.env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export const cli = (args: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }) => runNode(CLI, args, options);

export function uniqueTag(): string {
  return `${process.pid}_${randomBytes(4).toString("hex")}`;
}

/** A temporary directory removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "lgp-cli-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function withParam(url: string, name: string, value: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}${name}=${encodeURIComponent(value)}`;
}

/** One kind of backend the tests can write to, isolated per `tag` (own file, schema or key prefix). */
export interface TestBackend {
  name: string;
  url(tag: string): string;
  /** Removes everything `url(tag)` created. */
  cleanup(tag: string): Promise<void>;
}

/**
 * SQLite always; Postgres, Redis, Redis Cluster and MongoDB when their TEST_*_URL is set. `skipped`
 * lists the others with the reason, for the test titles.
 */
export function testBackends(dir: string): { available: TestBackend[]; skipped: string[] } {
  const available: TestBackend[] = [
    {
      name: "sqlite",
      url: (tag) => `sqlite:${join(dir, `${tag}.db`)}`,
      cleanup: async (tag) => {
        for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, `${tag}.db${suffix}`), { force: true });
      },
    },
  ];
  const skipped: string[] = [];
  const pg = process.env.TEST_POSTGRES_URL;
  if (pg) {
    available.push({
      name: "postgres",
      url: (tag) => withParam(pg, "schema", `lgp_cli_${tag}`),
      cleanup: async (tag) => {
        const saver = PostgresSaver.fromConnString(pg);
        try {
          await saver.pool.query(`DROP SCHEMA IF EXISTS "lgp_cli_${tag}" CASCADE`);
        } finally {
          await saver.close();
        }
      },
    });
  } else skipped.push("postgres (TEST_POSTGRES_URL is not set)");
  const redis = process.env.TEST_REDIS_URL;
  if (redis) {
    available.push({ name: "redis", url: (tag) => withParam(redis, "keyPrefix", `lgpcli${tag}`), cleanup: (tag) => deleteRedisKeys(redis, false, `lgpcli${tag}`) });
  } else skipped.push("redis (TEST_REDIS_URL is not set)");
  const cluster = process.env.TEST_REDIS_CLUSTER_URL;
  if (cluster) {
    const seed = cluster.replace(/^redis(s?):\/\//, "redis$1+cluster://");
    available.push({ name: "redis cluster", url: (tag) => withParam(seed, "keyPrefix", `lgpcli${tag}`), cleanup: (tag) => deleteRedisKeys(cluster, true, `lgpcli${tag}`) });
  } else skipped.push("redis cluster (TEST_REDIS_CLUSTER_URL is not set)");
  const mongo = process.env.TEST_MONGODB_URL;
  if (mongo) {
    available.push({
      name: "mongodb",
      url: (tag) => withParam(mongo, "collectionPrefix", `lgpcli_${tag}_`),
      cleanup: async (tag) => {
        const saver = MongoDBSaver.fromConnString(mongo);
        try {
          const db = saver.client.db(saver.dbName);
          for (const c of await db.listCollections({}, { nameOnly: true }).toArray()) {
            if (c.name.startsWith(`lgpcli_${tag}_`)) await db.dropCollection(c.name);
          }
        } finally {
          await saver.close();
        }
      },
    });
  } else skipped.push("mongodb (TEST_MONGODB_URL is not set)");
  return { available, skipped };
}

async function deleteRedisKeys(url: string, cluster: boolean, prefix: string): Promise<void> {
  const saver = RedisSaver.fromConnString(url, { cluster });
  try {
    const client = saver.client as unknown as {
      isCluster?: boolean;
      nodes?: (role: string) => Array<{ scan(cursor: string, ...args: unknown[]): Promise<[string, string[]]>; unlink(...keys: string[]): Promise<number> }>;
      scan(cursor: string, ...args: unknown[]): Promise<[string, string[]]>;
      unlink(...keys: string[]): Promise<number>;
    };
    const nodes = client.isCluster ? await clusterMasters(client) : [client];
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", `*${prefix}*`, "COUNT", 1000);
        cursor = next;
        // One key per call: in a cluster, keys of one scan page can live in different hash slots.
        for (const k of keys) await (client.isCluster ? client : node).unlink(k);
      } while (cursor !== "0");
    }
  } finally {
    await saver.close();
  }
}

async function clusterMasters(client: { nodes?: (role: string) => unknown[]; ping?: () => Promise<unknown> }): Promise<Array<{ scan(cursor: string, ...args: unknown[]): Promise<[string, string[]]>; unlink(...keys: string[]): Promise<number> }>> {
  await (client as { ping(): Promise<unknown> }).ping(); // connects and loads the slot map
  return client.nodes!("master") as never;
}

/** stderr without the progress lines copy prints when stderr is not a terminal. */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.trim() !== "" && !/^(copying|counting) /.test(l) && !/^\[WARN\]/.test(l));
}
