import { randomUUID } from "node:crypto";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import {
  BackendError,
  CapabilityError,
  ClientClosedError,
  InvalidArgumentError,
  NotSetUpError,
  PersistenceError,
  timeoutError,
} from "@langgraph-persist/core";
import { MetaKeys, validateKeyPrefix } from "./keys.js";
import { MIGRATIONS } from "./migrations.js";
import type { RedisConnectionOptions } from "./options.js";
import { UNLOCK, type RedisScript } from "./scripts.js";

export type RedisArg = string | Buffer | number;
export type RedisClient = Redis | Cluster;

const MIN_VERSION: [number, number] = [6, 2];
const LOCK_TTL_MS = 30_000;

/** Connect timeout of a client the adapter creates, unless the options or the URL set one. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Per-command timeout of a client the adapter creates, unless the options or the URL set one. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

/** The timeouts in effect for one client (`undefined`: none). */
export interface RedisTimeouts {
  connectTimeoutMs: number | undefined;
  commandTimeoutMs: number | undefined;
  /** `host:port` of the server (a Cluster's seed node), for error messages. */
  target: string;
}

/** Raised by `whenReady` when a client the adapter created did not become ready in time. */
class NotReadyInTime extends Error {
  override name = "NotReadyInTime";
}

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
  /** The adapter's timeouts for a client it creates; what the caller's client was configured with otherwise. */
  readonly timeouts: RedisTimeouts;
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
      this.timeouts = clientTimeouts(this.client);
    } else {
      const created = createClient(source, options);
      this.client = created.client;
      this.timeouts = created.timeouts;
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

  /**
   * Waits until a client the adapter created is connected and ready (TCP, TLS, AUTH and ioredis's ready
   * check), at most `connectTimeoutMs`: a server that accepts the connection and never answers fails the
   * call with `TimeoutError` instead of leaving it pending. A caller's client is not waited for (its own
   * settings apply to the commands).
   */
  async whenReady(): Promise<void> {
    const ms = this.timeouts.connectTimeoutMs;
    if (!this.owned || !ms || this.client.status === "ready" || this.client.status === "end") return;
    if (this.client.status === "wait") this.client.connect().catch(() => {});
    await new Promise<void>((resolve, reject) => {
      const events = ["ready", "error", "end"] as const;
      const done = () => {
        clearTimeout(timer);
        for (const e of events) this.client.removeListener(e, done);
        resolve();
      };
      const timer = setTimeout(() => {
        for (const e of events) this.client.removeListener(e, done);
        reject(new NotReadyInTime(`the client was still ${this.client.status} after ${ms} ms`));
      }, ms);
      // Ready: go ahead. A connection error (refused, reset, bad password) or a client closed meanwhile:
      // the command reports it, as it would without this wait (after maxRetriesPerRequest attempts).
      for (const e of events) this.client.once(e, done);
    });
  }

  /** Refuses servers without the commands the scripts use, and a Cluster node behind a plain client. */
  async checkServer(): Promise<void> {
    await this.whenReady();
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
    await this.whenReady();
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
    if (err instanceof NotReadyInTime) {
      return timeoutError(this.source, action, {
        phase: "connect",
        backend: this.isCluster ? "Redis Cluster" : "Redis",
        target: this.timeouts.target,
        timeoutMs: this.timeouts.connectTimeoutMs,
        setting: "connectTimeoutMs, or connectTimeout in the URL",
        cause: err,
      });
    }
    if (message === "Command timed out") {
      // Still connecting: the server accepted the connection but never became ready.
      const connecting = this.client.status !== "ready";
      return timeoutError(this.source, action, {
        phase: connecting ? "connect" : "command",
        backend: this.isCluster ? "Redis Cluster" : "Redis",
        target: this.timeouts.target,
        timeoutMs: this.timeouts.commandTimeoutMs,
        setting: connecting ? "commandTimeoutMs: the command waited that long for the connection" : "commandTimeoutMs, or commandTimeout in the URL",
        cause: err,
      });
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

const URL_FORM = "redis://[user:password@]host:6379[/db] (rediss:// for TLS)";

function checkMs(source: string, value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new InvalidArgumentError(source, `${name} must be a non-negative integer number of milliseconds (0: no timeout), got ${String(value)}`);
  }
  return value;
}

/** `connectTimeout` / `commandTimeout` in the URL's query, in milliseconds (ioredis's option names). */
function urlMs(source: string, parsed: URL, name: string): number | undefined {
  const raw = parsed.searchParams.get(name);
  if (raw === null || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(source, `the url's ${name} must be a non-negative integer number of milliseconds, got ${JSON.stringify(raw)}`);
  return n;
}

/** The timeouts a caller's client was configured with (the adapter changes nothing on it). */
function clientTimeouts(client: RedisClient): RedisTimeouts {
  const cluster = (client as { isCluster?: boolean }).isCluster === true;
  const o = ((cluster ? (client as Cluster).options.redisOptions : (client as Redis).options) ?? {}) as RedisOptions;
  const seed = cluster ? (client as unknown as { startupNodes?: Array<{ host?: string; port?: number }> }).startupNodes?.[0] : o;
  return {
    connectTimeoutMs: o.connectTimeout || undefined,
    commandTimeoutMs: o.commandTimeout || undefined,
    target: `${seed?.host ?? "localhost"}:${seed?.port ?? 6379}`,
  };
}

/**
 * The client for `url`, with timeouts resolved most specific first: `connectTimeoutMs` /
 * `commandTimeoutMs`, then `redisOptions.connectTimeout` / `commandTimeout`, then the URL's
 * `?connectTimeout=` / `?commandTimeout=` (milliseconds), then the defaults.
 */
function createClient(source: string, options: RedisConnectionOptions): { client: RedisClient; timeouts: RedisTimeouts } {
  if (typeof options.url !== "string") throw new InvalidArgumentError(source, `url must be a string like ${URL_FORM}, got ${typeof options.url}`);
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(options.url)?.[1];
    const got = scheme !== undefined ? `a ${scheme}: URL` : options.url.includes("@") || options.url.length > 60 ? "a string that is not a URL" : JSON.stringify(options.url);
    throw new InvalidArgumentError(source, `url must be a URL like ${URL_FORM}, got ${got}`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new InvalidArgumentError(source, `url must be a URL like ${URL_FORM}, got a ${parsed.protocol} URL`);
  }
  if (parsed.hostname === "") throw new InvalidArgumentError(source, `url must name a host, like ${URL_FORM}`);
  const connectTimeout =
    checkMs(source, options.connectTimeoutMs, "connectTimeoutMs") ??
    checkMs(source, options.redisOptions?.connectTimeout, "redisOptions.connectTimeout") ??
    urlMs(source, parsed, "connectTimeout") ??
    DEFAULT_CONNECT_TIMEOUT_MS;
  const commandTimeout =
    checkMs(source, options.commandTimeoutMs, "commandTimeoutMs") ??
    checkMs(source, options.redisOptions?.commandTimeout, "redisOptions.commandTimeout") ??
    urlMs(source, parsed, "commandTimeout") ??
    DEFAULT_COMMAND_TIMEOUT_MS;
  const timeouts: RedisTimeouts = {
    connectTimeoutMs: connectTimeout || undefined,
    commandTimeoutMs: commandTimeout || undefined,
    target: `${parsed.hostname.replace(/^\[(.+)\]$/, "$1")}:${parsed.port || 6379}`,
  };
  const redisOptions: RedisOptions = { maxRetriesPerRequest: 3, ...options.redisOptions, connectTimeout, commandTimeout: timeouts.commandTimeoutMs };
  // ioredis reads the URL's query as options too — as strings, and ahead of the options object: the
  // numbers resolved above take their place.
  let url = options.url;
  if (parsed.searchParams.has("connectTimeout") || parsed.searchParams.has("commandTimeout")) {
    const clean = new URL(options.url);
    clean.searchParams.delete("connectTimeout");
    clean.searchParams.delete("commandTimeout");
    url = clean.toString();
  }
  if (!options.cluster) return { client: new Redis(url, redisOptions), timeouts };
  const nodeOptions = { ...redisOptions } as Record<string, unknown>;
  if (parsed.username) nodeOptions.username = decodeURIComponent(parsed.username);
  if (parsed.password) nodeOptions.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === "rediss:") nodeOptions.tls ??= {};
  const client = new Cluster([{ host: parsed.hostname, port: parsed.port ? Number(parsed.port) : 6379 }], {
    ...options.clusterOptions,
    redisOptions: { ...nodeOptions, ...options.clusterOptions?.redisOptions },
  });
  return { client, timeouts };
}
