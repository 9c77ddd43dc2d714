import { randomUUID } from "node:crypto";
import { Cluster, Redis } from "ioredis";
import {
  BackendError,
  CapabilityError,
  ClientClosedError,
  InvalidArgumentError,
  NotSetUpError,
  PersistenceError,
} from "@langgraph-persist/core";
import { MetaKeys, validateKeyPrefix } from "./keys.js";
import { MIGRATIONS } from "./migrations.js";
import type { RedisConnectionOptions } from "./options.js";
import { UNLOCK, type RedisScript } from "./scripts.js";

export type RedisArg = string | Buffer | number;
export type RedisClient = Redis | Cluster;

const MIN_VERSION: [number, number] = [6, 2];
const LOCK_TTL_MS = 30_000;

/**
 * The client a saver or store talks through: ownership, script execution (EVALSHA, falling back to EVAL
 * when the server's script cache is empty), server checks, the layout version and error mapping.
 */
export class RedisConnection {
  readonly client: RedisClient;
  /** Whether the adapter created the client (and therefore quits it on close). */
  readonly owned: boolean;
  readonly isCluster: boolean;
  readonly prefix: string;
  readonly meta: MetaKeys;
  private verified = false;

  constructor(
    private readonly source: string,
    options: RedisConnectionOptions | undefined,
  ) {
    if (options === null || typeof options !== "object") {
      throw new InvalidArgumentError(source, "options are required: pass { client } (an ioredis Redis or Cluster) or { url }");
    }
    this.prefix = validateKeyPrefix(options.keyPrefix ?? "lgp", source);
    this.meta = new MetaKeys(this.prefix);
    const hasClient = options.client !== undefined && options.client !== null;
    const hasUrl = options.url !== undefined && options.url !== null;
    if (hasClient === hasUrl) {
      throw new InvalidArgumentError(source, "pass exactly one of client (an ioredis Redis or Cluster) and url");
    }
    if (options.cluster !== undefined && typeof options.cluster !== "boolean") {
      throw new InvalidArgumentError(source, `cluster must be a boolean, got ${typeof options.cluster}`);
    }
    if (hasClient) {
      const c = options.client as unknown as Record<string, unknown>;
      if (typeof c !== "object" || typeof c.callBuffer !== "function" || typeof c.status !== "string") {
        throw new InvalidArgumentError(source, "client must be an ioredis Redis or Cluster instance (ioredis ^5)");
      }
      this.client = options.client!;
      this.owned = false;
    } else {
      this.client = createClient(source, options);
      this.owned = true;
      // Failures reach callers through the commands that hit them; without a listener ioredis would log them.
      this.client.on("error", () => {});
    }
    this.isCluster = (this.client as { isCluster?: boolean }).isCluster === true;
  }

  /** Runs a script by SHA, loading it when the server does not know it (first use, restart, failover). */
  async eval(script: RedisScript, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> {
    try {
      return await this.client.callBuffer("EVALSHA", script.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("NOSCRIPT")) {
        return await this.client.callBuffer("EVAL", script.lua, keys.length, ...keys, ...args);
      }
      throw err;
    }
  }

  /**
   * Loads the scripts into every master's script cache, so steady-state calls are a single EVALSHA (a
   * node that restarted or joined later still works: EVALSHA falls back to EVAL once).
   */
  async loadScripts(scripts: readonly RedisScript[]): Promise<void> {
    const nodes = this.isCluster ? (this.client as Cluster).nodes("master") : [this.client as Redis];
    await Promise.all(nodes.map((node) => Promise.all(scripts.map((s) => node.script("LOAD", s.lua)))));
  }

  /** Refuses servers without the commands the scripts use, and a Cluster node behind a plain client. */
  async checkServer(): Promise<void> {
    const info = await this.client.info("server");
    const m = /(?:^|\n)redis_version:(\d+)\.(\d+)/.exec(info);
    if (m) {
      const [major, minor] = [Number(m[1]), Number(m[2])];
      if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) {
        throw new CapabilityError(this.source, `Redis ${m[1]}.${m[2]} is too old: ZRANGE BYLEX REV needs Redis (or Valkey) ${MIN_VERSION.join(".")} or newer`);
      }
    }
    if (!this.isCluster) {
      const cluster = await this.client.info("cluster");
      if (/(?:^|\n)cluster_enabled:1/.test(cluster)) {
        throw new CapabilityError(
          this.source,
          "the server is a Redis Cluster node but the client is a plain Redis client: pass an ioredis Cluster client, or { url, cluster: true }",
        );
      }
    }
  }

  /**
   * Brings the key layout to the newest version. Redis has no schema, but the layout is versioned so a
   * later release can migrate data; the version key is written under a lock so ten processes calling
   * `setup()` at once apply each migration once.
   */
  async migrate(): Promise<void> {
    const target = MIGRATIONS.length;
    const current = await this.layoutVersion();
    if (current > target) throw this.newerLayout(current, target);
    if (current === target) {
      this.verified = true;
      return;
    }
    const token = randomUUID();
    const deadline = Date.now() + LOCK_TTL_MS;
    for (;;) {
      if ((await this.client.set(this.meta.lock(), token, "PX", LOCK_TTL_MS, "NX")) === "OK") break;
      if ((await this.layoutVersion()) >= target) {
        this.verified = true;
        return;
      }
      if (Date.now() > deadline) throw new BackendError(this.source, "setup() timed out waiting for another process's setup lock");
      await new Promise((r) => setTimeout(r, 25 + Math.random() * 50));
    }
    try {
      for (let v = await this.layoutVersion(); v < target; v++) {
        await MIGRATIONS[v].up(this);
        await this.client.set(this.meta.version(), String(v + 1));
      }
    } finally {
      await this.eval(UNLOCK, [this.meta.lock()], [token]);
    }
    this.verified = true;
  }

  /**
   * Before the first operation of an instance whose `setup()` did not run: one read of the layout version,
   * so a database nobody set up fails with `NotSetUpError` instead of being written in an unknown layout.
   */
  async ensureLayout(): Promise<void> {
    if (this.verified) return;
    const version = await this.layoutVersion();
    if (version === 0) throw new NotSetUpError(this.source, "setup() has not run: call await saver.setup() (or store.setup()) first");
    if (version > MIGRATIONS.length) throw this.newerLayout(version, MIGRATIONS.length);
    this.verified = true;
  }

  private async layoutVersion(): Promise<number> {
    const raw = await this.client.get(this.meta.version());
    return raw === null ? 0 : Number(raw);
  }

  private newerLayout(found: number, known: number): PersistenceError {
    return new CapabilityError(this.source, `the data under key prefix "${this.prefix}" uses layout version ${found}, newer than this package supports (${known}): upgrade @langgraph-persist/redis`);
  }

  /** Turns anything a command threw into a typed error. */
  mapError(action: string, err: unknown): PersistenceError {
    if (err instanceof PersistenceError) return err;
    const message = err instanceof Error ? err.message : String(err);
    if (this.client.status === "end") {
      return new ClientClosedError(this.source, `${action} failed: the Redis client has been closed (quit() or disconnect()); pass an open client`, { cause: err });
    }
    if (/subscriber mode/i.test(message)) {
      return new InvalidArgumentError(
        this.source,
        `${action} failed: the Redis client is in subscriber mode (it ran SUBSCRIBE); give the adapter its own connection, e.g. client.duplicate()`,
        { cause: err },
      );
    }
    return new BackendError(this.source, `${action} failed: ${message}`, { cause: err });
  }

  /** Quits the client if the adapter created it; a caller's client is left open. */
  async close(): Promise<void> {
    if (!this.owned || this.client.status === "end") return;
    if (this.client.status !== "ready") {
      // Not connected (connecting, or waiting to reconnect): QUIT would wait for a server that is not
      // there. disconnect() also cancels the pending reconnection.
      this.client.disconnect();
      return;
    }
    const ended = new Promise<void>((resolve) => {
      this.client.once("end", () => resolve());
      setTimeout(resolve, 2_000).unref();
    });
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
    await ended;
  }
}

function createClient(source: string, options: RedisConnectionOptions): RedisClient {
  if (typeof options.url !== "string") throw new InvalidArgumentError(source, `url must be a string, got ${typeof options.url}`);
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new InvalidArgumentError(source, `url is not a valid URL: ${JSON.stringify(options.url)}`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new InvalidArgumentError(source, `url must start with redis:// or rediss://, got ${parsed.protocol}//`);
  }
  const redisOptions = { maxRetriesPerRequest: 3, ...options.redisOptions };
  if (!options.cluster) return new Redis(options.url, redisOptions);
  const nodeOptions = { ...redisOptions } as Record<string, unknown>;
  if (parsed.username) nodeOptions.username = decodeURIComponent(parsed.username);
  if (parsed.password) nodeOptions.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === "rediss:") nodeOptions.tls ??= {};
  return new Cluster([{ host: parsed.hostname, port: parsed.port ? Number(parsed.port) : 6379 }], {
    ...options.clusterOptions,
    redisOptions: { ...nodeOptions, ...options.clusterOptions?.redisOptions },
  });
}
