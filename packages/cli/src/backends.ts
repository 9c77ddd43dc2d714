import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import type { PersistSaver, PersistSaverOptions, PersistStore, PersistStoreOptions } from "@langgraph-persist/core";
import { CliError } from "./errors.js";

export type BackendKind = "memory" | "sqlite" | "postgres" | "redis" | "mongodb";

/** What a backend URL says, before any package is loaded. */
export interface BackendSpec {
  kind: BackendKind;
  /** The URL as given, with any password masked: safe to print. */
  display: string;
  /** The connection string handed to the adapter (CLI parameters removed), or the SQLite file path. */
  target: string;
  /** CLI parameters taken from the query string (`schema`, `keyPrefix`, `tablePrefix`, ...). */
  params: Record<string, string>;
  /** Redis Cluster seed nodes (`redis+cluster://a:7000,b:7001`, or `redis://a:7000?cluster=true`). */
  clusterSeeds?: Array<{ host: string; port: number }>;
}

export const SUPPORTED_URLS = "memory:, sqlite:<path> (or a *.db file), postgres://…, redis://…, redis+cluster://host:port,…, mongodb://…";

/** Query parameters the CLI consumes itself (removed before the URL reaches the driver). */
const CLI_PARAMS: Record<BackendKind, string[]> = {
  memory: [],
  sqlite: ["tablePrefix"],
  postgres: ["schema"],
  redis: ["keyPrefix", "cluster"],
  mongodb: ["dbName", "collectionPrefix"],
};

const SQLITE_EXTENSIONS = /\.(db|sqlite|sqlite3|db3)$/i;

function splitQuery(url: string): [base: string, query: URLSearchParams] {
  const i = url.indexOf("?");
  return i < 0 ? [url, new URLSearchParams()] : [url.slice(0, i), new URLSearchParams(url.slice(i + 1))];
}

function takeParams(kind: BackendKind, query: URLSearchParams): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of CLI_PARAMS[kind]) {
    const value = query.get(name);
    if (value !== null) params[name] = value;
    query.delete(name);
  }
  return params;
}

function withQuery(base: string, query: URLSearchParams): string {
  const q = query.toString();
  return q === "" ? base : `${base}?${q}`;
}

/** Masks the password of `scheme://user:password@host`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)([^@/]*)@/i, "$1***@");
}

function parseHostPort(hostPort: string, defaultPort: number, input: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
  if (!m) throw new CliError(`invalid host in ${redactUrl(input)}: ${JSON.stringify(hostPort)}`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port: m[2] ? Number(m[2]) : defaultPort };
}

/**
 * Parses a backend URL: `memory:`, `sqlite:<path>` / `sqlite://<path>` / `sqlite::memory:` / a bare
 * `*.db` path, `postgres://…` / `postgresql://…`, `redis://…` / `rediss://…`,
 * `redis+cluster://host:port,host:port` (or `rediss+cluster://`), `mongodb://…` / `mongodb+srv://…`.
 * Throws a `CliError` naming the supported forms for anything else.
 */
export function parseBackendUrl(input: string): BackendSpec {
  if (typeof input !== "string" || input.trim() === "") throw new CliError(`a backend URL is required (${SUPPORTED_URLS})`, { exitCode: 2 });
  const url = input.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const display = redactUrl(url);

  // A bare path (`./agent.db`, `C:\data\agent.db`) is a SQLite file.
  if (scheme === undefined || (scheme.length === 1 && /^[a-z]:[\\/]/i.test(url))) {
    const [base, query] = splitQuery(url);
    if (SQLITE_EXTENSIONS.test(base)) return { kind: "sqlite", display, target: base, params: takeParams("sqlite", query) };
    throw new CliError(`not a backend URL: ${JSON.stringify(display)} (use ${SUPPORTED_URLS})`, { exitCode: 2 });
  }

  switch (scheme) {
    case "memory":
      return { kind: "memory", display, target: "memory:", params: {} };
    case "sqlite": {
      const [base, query] = splitQuery(url);
      let path = base.slice("sqlite:".length);
      if (path.startsWith("//")) path = path.slice(2); // sqlite://rel.db, sqlite:///abs.db
      if (path === "") throw new CliError(`sqlite: needs a file path, e.g. sqlite:./agent.db or sqlite::memory:`, { exitCode: 2 });
      return { kind: "sqlite", display, target: path, params: takeParams("sqlite", query) };
    }
    case "postgres":
    case "postgresql": {
      const [base, query] = splitQuery(url);
      const params = takeParams("postgres", query);
      return { kind: "postgres", display, target: withQuery(base, query), params };
    }
    case "redis":
    case "rediss": {
      const [base, query] = splitQuery(url);
      const params = takeParams("redis", query);
      const spec: BackendSpec = { kind: "redis", display, target: withQuery(base, query), params };
      if (params.cluster === "true" || params.cluster === "1") {
        const hostPart = /^[a-z]+:\/\/(?:[^@/]*@)?([^/?]+)/i.exec(base)?.[1] ?? "";
        spec.clusterSeeds = hostPart.split(",").map((h) => parseHostPort(h, 6379, url));
      }
      return spec;
    }
    case "redis+cluster":
    case "rediss+cluster": {
      const [base, query] = splitQuery(url);
      const params = takeParams("redis", query);
      const m = /^[a-z+]+:\/\/(?:([^@/]*)@)?([^/?]+)(\/\d*)?$/i.exec(base);
      if (!m) throw new CliError(`invalid Redis Cluster URL ${display}: use redis+cluster://[user:password@]host:port,host:port`, { exitCode: 2 });
      const seeds = m[2].split(",").map((h) => parseHostPort(h, 6379, url));
      const plain = `${scheme === "rediss+cluster" ? "rediss" : "redis"}://${m[1] ? `${m[1]}@` : ""}${seeds[0].host.includes(":") ? `[${seeds[0].host}]` : seeds[0].host}:${seeds[0].port}`;
      return { kind: "redis", display, target: withQuery(plain, query), params, clusterSeeds: seeds };
    }
    case "mongodb":
    case "mongodb+srv": {
      const [base, query] = splitQuery(url);
      const params = takeParams("mongodb", query);
      return { kind: "mongodb", display, target: withQuery(base, query), params };
    }
    default:
      throw new CliError(`unknown backend scheme "${scheme}:" in ${JSON.stringify(display)} (use ${SUPPORTED_URLS})`, { exitCode: 2 });
  }
}

const PACKAGES: Record<BackendKind, { pkg: string; driver?: string }> = {
  memory: { pkg: "@langgraph-persist/memory" },
  sqlite: { pkg: "@langgraph-persist/sqlite", driver: "better-sqlite3" },
  postgres: { pkg: "@langgraph-persist/postgres", driver: "pg" },
  redis: { pkg: "@langgraph-persist/redis", driver: "ioredis" },
  mongodb: { pkg: "@langgraph-persist/mongodb", driver: "mongodb" },
};

function isModuleNotFound(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
}

/** Imports an adapter package, turning "not installed" into one actionable line. */
async function loadAdapter<T>(kind: BackendKind, load: () => Promise<T>): Promise<T> {
  const { pkg, driver } = PACKAGES[kind];
  try {
    return await load();
  } catch (err) {
    if (isModuleNotFound(err)) {
      if (driver && new RegExp(`['"]${driver.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}['"/]`).test(err.message)) {
        throw new CliError(`the ${kind} backend needs the "${driver}" driver, which is not installed: npm install ${driver}`, { cause: err });
      }
      throw new CliError(`the ${kind} backend needs ${pkg}, which is not installed: npm install ${pkg}${driver ? ` ${driver}` : ""}`, { cause: err });
    }
    throw err;
  }
}

/** Turns a driver's "native module not built" failure into an instruction. */
function nativeModuleHint(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  if (/bindings file|was compiled against a different Node\.js version|NODE_MODULE_VERSION|invalid ELF header/i.test(message)) {
    throw new CliError(`better-sqlite3 is installed but its native module does not load (${message.split("\n")[0]}): run \`npm rebuild better-sqlite3\` (pnpm: \`pnpm rebuild better-sqlite3\`)`, { cause: err });
  }
  throw err;
}

export interface ResolveOptions {
  /**
   * The data must already exist: a SQLite file that is not there is an error instead of a new, empty
   * database (read-only commands use this so a typo does not create files).
   * @default false
   */
  mustExist?: boolean;
}

/**
 * One backend addressed by URL. Every saver and store it opens is closed by `close()`, together with
 * any client the CLI created for them.
 */
export interface Backend {
  readonly spec: BackendSpec;
  /** A saver on this backend; `setup()` has not run (call it when you intend to create the schema). */
  openSaver(options?: PersistSaverOptions): Promise<PersistSaver>;
  /** A store on this backend; `setup()` has not run. */
  openStore(options?: PersistStoreOptions): Promise<PersistStore>;
  /** Closes everything opened so far (the backend stays usable: later opens start new instances). */
  close(): Promise<void>;
}

type Opener = { saver: (o: PersistSaverOptions) => Promise<PersistSaver>; store: (o: PersistStoreOptions) => Promise<PersistStore>; close?: () => Promise<void> };

/** Milliseconds the CLI waits for a server before reporting it unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

async function openers(spec: BackendSpec, options: ResolveOptions): Promise<Opener> {
  switch (spec.kind) {
    case "memory": {
      const m = await loadAdapter("memory", () => import("@langgraph-persist/memory"));
      // Everything opened from one `memory:` backend shares the same data (e.g. the demo's restart check).
      let saverData: InstanceType<typeof m.MemoryCheckpointData> | undefined;
      let storeData: InstanceType<typeof m.MemoryStoreData> | undefined;
      return {
        saver: async (o) => {
          const s = new m.MemorySaver({ ...o, data: (saverData ??= new m.MemoryCheckpointData()) });
          return s;
        },
        store: async (o) => new m.InMemoryStore({ ...o, data: (storeData ??= new m.MemoryStoreData()) }),
      };
    }
    case "sqlite": {
      const path = spec.target;
      if (path !== ":memory:") {
        const abs = resolve(path);
        if (options.mustExist && !existsSync(abs)) throw new CliError(`no SQLite database at ${abs}`);
        mkdirSync(dirname(abs), { recursive: true });
      }
      const m = await loadAdapter("sqlite", () => import("@langgraph-persist/sqlite"));
      const common = spec.params.tablePrefix !== undefined ? { tablePrefix: spec.params.tablePrefix } : {};
      return {
        saver: async (o) => {
          try {
            return m.SqliteSaver.fromConnString(path, { ...common, ...o });
          } catch (err) {
            nativeModuleHint(err);
          }
        },
        store: async (o) => {
          try {
            return m.SqliteStore.fromConnString(path, { ...common, ...o });
          } catch (err) {
            nativeModuleHint(err);
          }
        },
      };
    }
    case "postgres": {
      const m = await loadAdapter("postgres", () => import("@langgraph-persist/postgres"));
      const pool = { connectionString: spec.target, connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
      const common = spec.params.schema !== undefined ? { schema: spec.params.schema } : {};
      return {
        saver: async (o) => new m.PostgresSaver(pool, { ...common, ...o }),
        store: async (o) => new m.PostgresStore(pool, { ...common, ...o }),
      };
    }
    case "redis": {
      const m = await loadAdapter("redis", () => import("@langgraph-persist/redis"));
      const common = spec.params.keyPrefix !== undefined ? { keyPrefix: spec.params.keyPrefix } : {};
      if (spec.clusterSeeds && spec.clusterSeeds.length > 1) {
        // The adapter takes one seed from a URL; with several, the CLI builds the Cluster client (with the
        // adapter's own ioredis) so any live seed will do, and quits it in close().
        const ioredis = await loadIoredisOfAdapter();
        const parsed = new URL(spec.target);
        const redisOptions: Record<string, unknown> = { maxRetriesPerRequest: 3 };
        if (parsed.username) redisOptions.username = decodeURIComponent(parsed.username);
        if (parsed.password) redisOptions.password = decodeURIComponent(parsed.password);
        if (parsed.protocol === "rediss:") redisOptions.tls = {};
        const clients: Array<{ quit(): Promise<unknown>; disconnect(): void }> = [];
        const cluster = () => {
          const c = new ioredis.Cluster(spec.clusterSeeds!, { redisOptions });
          c.on("error", () => {});
          clients.push(c);
          return c;
        };
        return {
          saver: async (o) => new m.RedisSaver({ ...common, ...o, client: cluster() as never }),
          store: async (o) => new m.RedisStore({ ...common, ...o, client: cluster() as never }),
          close: async () => {
            await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
          },
        };
      }
      const cluster = spec.clusterSeeds !== undefined;
      return {
        saver: async (o) => m.RedisSaver.fromConnString(spec.target, { ...common, ...o, cluster }),
        store: async (o) => m.RedisStore.fromConnString(spec.target, { ...common, ...o, cluster }),
      };
    }
    case "mongodb": {
      const m = await loadAdapter("mongodb", () => import("@langgraph-persist/mongodb"));
      const common: Record<string, unknown> = {};
      if (spec.params.dbName !== undefined) common.dbName = spec.params.dbName;
      if (spec.params.collectionPrefix !== undefined) common.collectionPrefix = spec.params.collectionPrefix;
      if (!/[?&]serverSelectionTimeoutMS=/i.test(spec.target)) common.clientOptions = { serverSelectionTimeoutMS: CONNECT_TIMEOUT_MS };
      // The MongoDB adapter serves nothing before setup() ran on the instance (it only creates missing
      // collections and indexes), so readers run it too.
      const ready = async <T extends { setup(): Promise<void>; close(): Promise<void> }>(s: T): Promise<T> => {
        if (options.mustExist) {
          try {
            await s.setup();
          } catch (err) {
            await s.close().catch(() => {});
            throw err;
          }
        }
        return s;
      };
      return {
        saver: async (o) => ready(m.MongoDBSaver.fromConnString(spec.target, { ...common, ...o })),
        store: async (o) => ready(m.MongoDBStore.fromConnString(spec.target, { ...common, ...o })),
      };
    }
  }
}

interface IoredisModule {
  Cluster: new (
    seeds: Array<{ host: string; port: number }>,
    options: { redisOptions: Record<string, unknown> },
  ) => { on(event: "error", listener: () => void): unknown; quit(): Promise<unknown>; disconnect(): void };
}

/** The ioredis the Redis adapter itself resolves, so the client we build is the one it expects. */
async function loadIoredisOfAdapter(): Promise<IoredisModule> {
  return loadAdapter("redis", async () => {
    const require = createRequire(import.meta.resolve("@langgraph-persist/redis"));
    return require("ioredis") as IoredisModule;
  });
}

/**
 * Resolves a backend URL into a `Backend`, importing the adapter package lazily. Fails with one clear
 * line (a `CliError`) for an unknown scheme or a missing adapter/driver package.
 *
 * @example
 * const backend = await resolveBackend("sqlite:./agent.db");
 * const saver = await backend.openSaver();
 * try { console.log(await saver.listThreads()); } finally { await backend.close(); }
 */
export async function resolveBackend(url: string, options: ResolveOptions = {}): Promise<Backend> {
  const spec = parseBackendUrl(url);
  const open = await openers(spec, options);
  const opened: Array<{ close(): Promise<void> }> = [];
  return {
    spec,
    async openSaver(o = {}) {
      const s = await open.saver(o);
      opened.push(s);
      return s;
    },
    async openStore(o = {}) {
      const s = await open.store(o);
      opened.push(s);
      return s;
    },
    async close() {
      await Promise.allSettled(opened.splice(0).map((s) => s.close()));
      await open.close?.();
    },
  };
}
