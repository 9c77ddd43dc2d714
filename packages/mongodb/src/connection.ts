import {
  BackendError,
  CapabilityError,
  ClientClosedError,
  InvalidArgumentError,
  PersistenceError,
  timeoutError,
  toPersistenceError,
} from "@langgraph-persist/core";
import { MongoClient } from "mongodb";
import type { ClientSession, Collection, Db, Document, MongoClientOptions } from "mongodb";
import { DEFAULT_COLLECTION_PREFIX, SOURCE, validateCollectionPrefix, validateDbName } from "./keys.js";
import type { MongoDBConnectionOptions } from "./options.js";
import { executeWrites, type WriteModel } from "./writes.js";

/** MongoDB 5.0: `$getField`, `$lookup` with `localField` + `pipeline`, index use of `$expr` in `$lookup`. */
export const MIN_WIRE_VERSION = 13;
/** MongoDB 8.0: the cross-collection `bulkWrite` command. */
export const CLIENT_BULK_WRITE_WIRE_VERSION = 25;

/** Server error codes of a `bulkWrite` command the deployment cannot run (`CommandNotSupported`, `CommandNotFound`). */
const BULK_WRITE_UNSUPPORTED = new Set([115, 59]);

/**
 * Whether `err` says the server refused the cross-collection `bulkWrite` command itself: an 8.0 binary
 * whose featureCompatibilityVersion is still below 8.0 answers `CommandNotSupported` ("BulkWrite may
 * not be run without featureFlagBulkWriteCommand enabled") before applying anything. The driver wraps
 * server errors of `MongoClient.bulkWrite` in a `MongoClientBulkWriteError` whose `cause` is that error.
 */
export function isClientBulkWriteUnsupported(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === "object" && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "number" && BULK_WRITE_UNSUPPORTED.has(code)) return true;
  }
  return false;
}

/** What `hello` says about the deployment, reduced to what the adapter decides on. */
export interface DeploymentInfo {
  maxWireVersion: number;
  /** Replica set member or mongos: multi-document transactions are available. */
  transactions: boolean;
  /** MongoDB 8.0+: one `bulkWrite` command can span collections. */
  clientBulkWrite: boolean;
}

/**
 * What `hello` (and, when known, the featureCompatibilityVersion from `getParameter`) says. The
 * cross-collection `bulkWrite` needs an 8.0 binary (wire version 25) running with
 * featureCompatibilityVersion 8.0 or later: an upgraded binary keeps the previous FCV until an
 * administrator raises it, and refuses the command until then.
 */
export function describeDeployment(hello: Document, featureCompatibilityVersion?: string): DeploymentInfo {
  const maxWireVersion = typeof hello.maxWireVersion === "number" ? hello.maxWireVersion : 0;
  const replicated = typeof hello.setName === "string" || hello.msg === "isdbgrid";
  const fcvMajor = featureCompatibilityVersion === undefined ? undefined : Number.parseInt(featureCompatibilityVersion, 10);
  return {
    maxWireVersion,
    transactions: replicated && hello.logicalSessionTimeoutMinutes != null,
    clientBulkWrite: maxWireVersion >= CLIENT_BULK_WRITE_WIRE_VERSION && (fcvMajor === undefined || Number.isNaN(fcvMajor) || fcvMajor >= 8),
  };
}

export interface ResolvedConnection {
  client: MongoClient;
  ownsClient: boolean;
  dbName: string;
  collectionPrefix: string;
  transactions: "auto" | boolean;
  clientBulkWrite: "auto" | false;
}

function isMongoClient(value: unknown): value is MongoClient {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as MongoClient).db === "function" &&
    typeof (value as MongoClient).startSession === "function"
  );
}

/** Validates connection options and creates the client for a `url` (nothing connects yet). */
export function resolveConnection(options: MongoDBConnectionOptions): ResolvedConnection {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError(SOURCE, "options must be an object with `client` or `url`");
  const { client, url } = options;
  if (client !== undefined && url !== undefined) throw new InvalidArgumentError(SOURCE, "Pass either `client` or `url`, not both");
  if (client === undefined && url === undefined) {
    throw new InvalidArgumentError(SOURCE, "Pass `client` (an existing MongoClient) or `url` (a mongodb:// or mongodb+srv:// connection string)");
  }
  if (client !== undefined && !isMongoClient(client)) throw new InvalidArgumentError(SOURCE, "`client` must be a MongoClient from the mongodb driver");
  if (url !== undefined && (typeof url !== "string" || !/^mongodb(\+srv)?:\/\//.test(url))) {
    throw new InvalidArgumentError(SOURCE, "`url` must be a mongodb:// or mongodb+srv:// connection string, like mongodb://[user:password@]host:27017/[database]");
  }
  const transactions = options.transactions ?? "auto";
  if (transactions !== "auto" && transactions !== true && transactions !== false) {
    throw new InvalidArgumentError(SOURCE, `transactions must be "auto", true or false, got ${JSON.stringify(transactions)}`);
  }
  const clientBulkWrite = options.clientBulkWrite ?? "auto";
  if (clientBulkWrite !== "auto" && clientBulkWrite !== false) {
    throw new InvalidArgumentError(SOURCE, `clientBulkWrite must be "auto" or false, got ${JSON.stringify(clientBulkWrite)}`);
  }
  const collectionPrefix = validateCollectionPrefix(options.collectionPrefix ?? DEFAULT_COLLECTION_PREFIX);
  if (options.dbName !== undefined) validateDbName(options.dbName);

  let resolved: MongoClient;
  if (client !== undefined) {
    resolved = client;
  } else {
    try {
      resolved = new MongoClient(url!, withTimeoutDefaults(url!, options.clientOptions));
    } catch (err) {
      throw new InvalidArgumentError(SOURCE, `Invalid MongoDB connection string: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  const dbName = options.dbName ?? validateDbName(resolved.options.dbName);
  return { client: resolved, ownsClient: client === undefined, dbName, collectionPrefix, transactions, clientBulkWrite };
}

/**
 * One saver's or store's handle on MongoDB: the database, what the deployment supports (known after
 * `detect()`), and the write paths that use it (transactions, cross-collection bulk writes).
 */
export class Connection {
  readonly client: MongoClient;
  readonly db: Db;
  readonly dbName: string;
  readonly ownsClient: boolean;
  private readonly transactionsOption: "auto" | boolean;
  private readonly clientBulkOption: "auto" | false;
  private info: DeploymentInfo | undefined;

  constructor(resolved: ResolvedConnection) {
    this.client = resolved.client;
    this.ownsClient = resolved.ownsClient;
    this.dbName = resolved.dbName;
    this.db = resolved.client.db(resolved.dbName);
    this.transactionsOption = resolved.transactions;
    this.clientBulkOption = resolved.clientBulkWrite;
  }

  /**
   * Asks the server what it supports (one `hello`; on 8.0+ also the featureCompatibilityVersion, which
   * needs the `getParameter` privilege: without it the cross-collection `bulkWrite` is tried and
   * dropped on the first refusal, see `write`). Refuses servers older than MongoDB 5.0.
   */
  async detect(): Promise<DeploymentInfo> {
    const admin = this.db.admin();
    const hello = await admin.command({ hello: 1 });
    let fcv: string | undefined;
    if (typeof hello.maxWireVersion === "number" && hello.maxWireVersion >= CLIENT_BULK_WRITE_WIRE_VERSION && this.clientBulkOption !== false) {
      try {
        const reply = await admin.command({ getParameter: 1, featureCompatibilityVersion: 1 });
        const version: unknown = reply.featureCompatibilityVersion?.version;
        if (typeof version === "string") fcv = version;
      } catch {
        // Not allowed (e.g. a restricted Atlas user) or not answered: decided by the first bulkWrite.
      }
    }
    const info = describeDeployment(hello, fcv);
    if (info.maxWireVersion < MIN_WIRE_VERSION) {
      throw new CapabilityError(SOURCE, `MongoDB 5.0 or newer is required (the server reports wire version ${info.maxWireVersion})`);
    }
    if (this.transactionsOption === true && !info.transactions) {
      throw new CapabilityError(SOURCE, "transactions: true needs a replica set or a sharded cluster; this server is a standalone (use a single-node replica set, or transactions: \"auto\")");
    }
    this.info = info;
    return info;
  }

  get deployment(): DeploymentInfo | undefined {
    return this.info;
  }

  get usesTransactions(): boolean {
    return this.transactionsOption !== false && (this.info?.transactions ?? false);
  }

  get usesClientBulkWrite(): boolean {
    return this.clientBulkOption !== false && (this.info?.clientBulkWrite ?? false) && typeof this.client.bulkWrite === "function";
  }

  /**
   * After the server refused the cross-collection `bulkWrite` (see `isClientBulkWriteUnsupported`),
   * stops using it. Returns whether the caller should send its writes again (per collection).
   */
  private dropClientBulkWrite(err: unknown): boolean {
    if (!this.usesClientBulkWrite || !isClientBulkWriteUnsupported(err)) return false;
    this.info = { ...this.info!, clientBulkWrite: false };
    return true;
  }

  /** The server's clock (`hello.localTime`), for expiry scans that need a date an index can use. */
  async serverTime(): Promise<Date> {
    const hello = await this.db.admin().command({ hello: 1 });
    return hello.localTime instanceof Date ? hello.localTime : new Date();
  }

  collection<T extends Document = Document>(name: string): Collection<T> {
    // Undefined fields are dropped, as JSON would: values read back never gain `null`s.
    return this.db.collection<T>(name, { ignoreUndefined: true });
  }

  /**
   * Runs `fn` in a transaction when the deployment has them (retried on transient errors), else directly.
   * A transaction whose cross-collection `bulkWrite` the server refused is aborted; it runs once more
   * with one `bulkWrite` per collection.
   */
  async inTransaction<T>(fn: (session: ClientSession | undefined) => Promise<T>): Promise<T> {
    if (!this.usesTransactions) return fn(undefined);
    try {
      return await this.transaction(fn);
    } catch (err) {
      if (!this.dropClientBulkWrite(err)) throw err;
      return this.transaction(fn);
    }
  }

  private async transaction<T>(fn: (session: ClientSession) => Promise<T>): Promise<T> {
    const session = this.client.startSession();
    try {
      return await session.withTransaction(() => fn(session));
    } finally {
      await session.endSession();
    }
  }

  /**
   * Sends `models` in order: one command when they fit one, else one `bulkWrite` per collection run.
   * Outside a transaction, a refused cross-collection `bulkWrite` (nothing applied) is sent again per
   * collection; inside one, `inTransaction` runs the transaction again.
   */
  async write(models: WriteModel[], options: { session?: ClientSession; ordered?: boolean } = {}): Promise<void> {
    try {
      await executeWrites(this, models, options);
    } catch (err) {
      // Inside a transaction the refusal aborted it: `inTransaction` runs it again.
      if (options.session !== undefined || !this.dropClientBulkWrite(err)) throw err;
      await executeWrites(this, models, options);
    }
  }

  /** Writes `models` atomically where the deployment allows (transaction), in order otherwise. */
  async writeAtomically(models: WriteModel[], options: { ordered?: boolean } = {}): Promise<void> {
    if (models.length === 0) return;
    await this.inTransaction((session) => this.write(models, { ...options, session }));
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}

/**
 * Timeouts of a client the adapter creates from `url`, unless the URL or `clientOptions` set them (the
 * driver's own defaults would let a call wait 30 s for an unreachable server, and forever for a server
 * that stops answering).
 */
export const TIMEOUT_DEFAULTS = {
  /** How long an operation waits for a suitable server (covers connecting to an unreachable one). */
  serverSelectionTimeoutMS: 10_000,
  /** How long opening one connection (TCP, TLS, handshake) may take. */
  connectTimeoutMS: 10_000,
  /** How long one operation may wait for the server's answer on its socket. */
  socketTimeoutMS: 60_000,
} as const;

/**
 * `clientOptions` plus {@link TIMEOUT_DEFAULTS} for every timeout neither the options nor the URL's
 * query (`?serverSelectionTimeoutMS=...`, case-insensitive, as the driver reads it) set.
 */
export function withTimeoutDefaults(url: string, clientOptions: MongoClientOptions | undefined): MongoClientOptions {
  const query = url.includes("?") ? url.slice(url.indexOf("?") + 1) : "";
  const inUrl = new Set([...new URLSearchParams(query).keys()].map((k) => k.toLowerCase()));
  const given = new Set(Object.keys(clientOptions ?? {}).filter((k) => (clientOptions as Record<string, unknown>)[k] !== undefined).map((k) => k.toLowerCase()));
  const out: MongoClientOptions = { ...clientOptions };
  for (const [name, value] of Object.entries(TIMEOUT_DEFAULTS)) {
    if (!inUrl.has(name.toLowerCase()) && !given.has(name.toLowerCase())) (out as Record<string, unknown>)[name] = value;
  }
  return out;
}

/** `host:port` of the servers an error names (a server selection error lists what it saw). */
function targetOf(err: unknown): string {
  const servers = (err as { reason?: { servers?: unknown } } | null)?.reason?.servers;
  if (servers instanceof Map && servers.size > 0) return [...servers.keys()].join(",");
  const named = /\b((?:\[[0-9a-f:]+\]|[\w.-]+):\d+)\b/i.exec(err instanceof Error ? err.message : "");
  return named ? named[1] : "the server";
}

/** A driver timeout as `TimeoutError`, or `undefined`. `settings`: the client's options, for the limit that ran out. */
function mongoTimeoutError(source: string, action: string, err: unknown, settings?: Partial<Record<"serverSelectionTimeoutMS" | "connectTimeoutMS" | "socketTimeoutMS", number>>): PersistenceError | undefined {
  const name = err instanceof Error ? err.name : "";
  const detail = err instanceof Error ? err.message : "";
  if (name === "MongoServerSelectionError") {
    // The driver's message is the last reason (a refused connection, a timed-out handshake) or the timeout itself.
    const after = /after (\d+) ?ms/i.exec(detail);
    return timeoutError(source, action, {
      phase: "connect",
      backend: "MongoDB",
      target: targetOf(err),
      timeoutMs: after ? Number(after[1]) : settings?.serverSelectionTimeoutMS,
      setting: `cannot reach MongoDB: ${detail}; limits: serverSelectionTimeoutMS, connectTimeoutMS`,
      cause: err,
    });
  }
  if (name === "MongoNetworkTimeoutError" || name === "MongoOperationTimeoutError") {
    const handshake = (err as { beforeHandshake?: unknown }).beforeHandshake === true;
    return timeoutError(source, action, {
      phase: handshake ? "connect" : "command",
      backend: "MongoDB",
      target: targetOf(err),
      timeoutMs: handshake ? settings?.connectTimeoutMS : name === "MongoNetworkTimeoutError" ? settings?.socketTimeoutMS : undefined,
      setting: `${handshake ? "connectTimeoutMS" : "socketTimeoutMS"}; the driver reports: ${detail}`,
      cause: err,
    });
  }
  return undefined;
}

const CLOSED_ERRORS = new Set(["MongoNotConnectedError", "MongoTopologyClosedError", "MongoClientClosedError", "MongoExpiredSessionError"]);

/** Turns driver errors into the adapter's typed errors. */
export function mapMongoError(source: string, action: string, err: unknown, client?: MongoClient): PersistenceError {
  if (err instanceof PersistenceError) return err;
  const name = err instanceof Error ? err.name : "";
  const detail = err instanceof Error ? err.message : String(err);
  if (CLOSED_ERRORS.has(name)) return new ClientClosedError(source, `${action} failed: the MongoClient is closed (${detail})`, { cause: err });
  const timedOut = mongoTimeoutError(source, action, err, client?.options);
  if (timedOut) return timedOut;
  if (name === "MongoServerSelectionError" || name === "MongoNetworkError" || name === "MongoNetworkTimeoutError") {
    return new BackendError(source, `${action} failed: cannot reach MongoDB (${detail})`, { cause: err });
  }
  return toPersistenceError(source, action, err);
}
