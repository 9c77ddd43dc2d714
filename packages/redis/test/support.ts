import { describe, it } from "vitest";
import { emptyCheckpoint, uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import { Cluster, Redis } from "ioredis";
import type { SaverHarness, StoreHarness } from "@langgraph-persist/conformance";
import { RedisSaver, RedisStore } from "../src/index.js";
import { SaverKeys, unpackList } from "../src/keys.js";

export const REDIS_URL = process.env.TEST_REDIS_URL;
export const CLUSTER_URL = process.env.TEST_REDIS_CLUSTER_URL;
export const SKIP_HINT = 'start the services with: eval "$(bash scripts/services.sh)"';

/** The variable that makes a missing server a failure instead of a skip (set by CI jobs that provide it). */
const REQUIRE = { TEST_REDIS_URL: "REQUIRE_REDIS", TEST_REDIS_CLUSTER_URL: "REQUIRE_REDIS_CLUSTER" } as const;

export type ServerEnv = keyof typeof REQUIRE;

/** Whether `REQUIRE_REDIS` (or `REQUIRE_REDIS_CLUSTER`) asks for the server behind `env`. */
export function serverRequired(env: ServerEnv): boolean {
  const value = process.env[REQUIRE[env]];
  return value === "1" || value === "true";
}

/**
 * Registers a server-backed suite whose server is missing (`env` unset): skipped with the reason in the
 * title, or, when the job requires that server (`REQUIRE_REDIS=1` / `REQUIRE_REDIS_CLUSTER=1`), one
 * failing test with the reason, so a job that provides the server cannot pass without running the suite.
 */
export function missingServer(title: string, env: ServerEnv, test = "needs a server"): void {
  const reason = `${env} is not set; ${SKIP_HINT}`;
  if (serverRequired(env)) {
    describe(title, () => {
      it(test, () => {
        throw new Error(`${REQUIRE[env]}=1 but ${reason}`);
      });
    });
  } else {
    describe.skip(`${title} [skipped: ${reason}]`, () => {
      it(test, () => {});
    });
  }
}

/** A key prefix no other test run uses. */
export function testPrefix(label: string): string {
  return `lgpt-${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export function adminClient(url: string, cluster: boolean): Redis | Cluster {
  if (!cluster) return new Redis(url, { maxRetriesPerRequest: 3 });
  const u = new URL(url);
  return new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }]);
}

/** Every key matching `pattern`, on every master (SCAN is fine in tests; the adapter never uses it). */
export async function scanKeys(client: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes("master") : [client];
  const out: string[] = [];
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      out.push(...keys);
      cursor = next;
    } while (cursor !== "0");
  }
  return out;
}

export async function deleteKeys(client: Redis | Cluster, pattern: string): Promise<void> {
  for (const key of await scanKeys(client, pattern)) await client.unlink(key);
}

/**
 * Keys of the thread plus every global index entry that mentions it: what `deleteThread` must leave at zero.
 */
export async function countThreadArtifacts(client: Redis | Cluster, keys: SaverKeys, threadId: string): Promise<number> {
  let n = (await scanKeys(client, keys.threadPattern(threadId))).length;
  const cps = (await client.zrangeBuffer(keys.checkpointIndex(), 0, -1)) as Buffer[];
  for (const m of cps) {
    const [thread] = unpackList(m.subarray(m.indexOf(0) + 1));
    if (thread.toString("utf8") === threadId) n++;
  }
  const threads = await client.zrange(keys.threadIndex(), 0, -1);
  n += threads.filter((m) => m.slice(m.indexOf("\u0000") + 1) === threadId).length;
  if ((await client.hexists(keys.headIndex(), threadId)) === 1) n++;
  for (const run of await client.zrange(keys.runRegistry(), 0, -1)) {
    for (const m of (await client.smembersBuffer(keys.runIndex(run))) as Buffer[]) {
      if (unpackList(m)[0].toString("utf8") === threadId) n++;
    }
  }
  return n;
}

/** Conformance harnesses for one server (standalone or Cluster), isolated under a fresh key prefix. */
export function harnesses(name: string, url: string, cluster: boolean): { saver: SaverHarness<RedisSaver>; store: StoreHarness<RedisStore> } {
  const keyPrefix = testPrefix(cluster ? "c" : "s");
  const keys = new SaverKeys(keyPrefix);
  let admin: Redis | Cluster | undefined;
  const setup = async () => {
    admin ??= adminClient(url, cluster);
  };
  const teardown = async () => {
    if (!admin) return;
    await deleteKeys(admin, keys.allPattern());
    await admin.quit();
    admin = undefined;
  };
  const saver: SaverHarness<RedisSaver> = {
    name,
    setup,
    teardown,
    async create(options) {
      const s = new RedisSaver({ url, cluster, keyPrefix, ...options });
      await s.setup();
      return s;
    },
    async createPeer(options) {
      return saver.create(options);
    },
    async countThreadArtifacts(_saver, threadId) {
      await setup();
      return countThreadArtifacts(admin!, keys, threadId);
    },
    capabilities: { ttl: true, extendedOps: true, listThreads: true, multiProcess: true },
  };
  const store: StoreHarness<RedisStore> = {
    name,
    setup,
    teardown,
    async create(options) {
      const s = new RedisStore({ url, cluster, keyPrefix, ...options });
      await s.setup();
      return s;
    },
    capabilities: { ttl: true, vectorSearch: true, multiProcess: true },
  };
  return { saver, store };
}

/** A checkpoint with a fresh, increasing id and the given values and versions. */
export function checkpoint(values: Record<string, unknown>, versions: Record<string, string>): Checkpoint {
  const cp = emptyCheckpoint();
  cp.id = uuid6(-1);
  cp.channel_values = values;
  cp.channel_versions = versions;
  return cp;
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The servers a test file runs against; a target without a URL reports itself skipped. */
export const targets = [
  { name: "standalone", url: REDIS_URL, cluster: false, env: "TEST_REDIS_URL" as ServerEnv },
  { name: "cluster", url: CLUSTER_URL, cluster: true, env: "TEST_REDIS_CLUSTER_URL" as ServerEnv },
];
