import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  TASKS,
  WRITES_IDX_MAP,
  copyCheckpoint,
  getCheckpointId,
  maxChannelVersion,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type DeltaChannelHistory,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import { InvalidArgumentError, PersistenceError, reissue, toPersistenceError } from "./errors.js";
import { PersistSerializer } from "./serde.js";
import { Lifecycle } from "./lifecycle.js";
import type {
  BlobRecord,
  CheckpointRecord,
  ListQuery,
  ListThreadsOptions,
  PruneOptions,
  SaverCapabilities,
  SaverTtlConfig,
  SerializedValue,
  StoredCheckpoint,
  StoredThreadInfo,
  ThreadInfo,
  WriteRecord,
} from "./saver-types.js";
import { validateTtlMinutes } from "./ttl.js";
import { LinearBlobCodec, ListPage, validateLinearStorageOptions, type BlobCodec, type KnownBlobs, type KnownRefs, type LinearStorageOptions } from "./blobs.js";
import { sortWrites } from "./write-order.js";

export interface PersistSaverOptions {
  /**
   * Serializer for checkpoints, channel values, metadata and writes.
   * @default new PersistSerializer() — upstream JsonPlusSerializer plus Date and BigInt round-trips
   */
  serde?: SerializerProtocol;
  /** Expire whole threads after a period without writes (minutes). Off by default. */
  ttl?: SaverTtlConfig;
  /**
   * Linear storage for growing array channels (e.g. `messages`): only appended elements are stored,
   * with a full snapshot every `snapshotEvery` versions.
   * @default { enabled: true, snapshotEvery: 256 }
   */
  linearStorage?: LinearStorageOptions;
}

/** Where a pending write is stored: the task path `putWrites` received and the write's index in its task. */
export interface PendingWriteKey {
  taskPath: string;
  idx: number;
}

const EMPTY = new Uint8Array(0);
const decoder = new TextDecoder();
const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** The fields of a checkpoint the row stores apart from the ones it rebuilds (values) or holds in columns (id). */
const ROW_FIELDS = new Set(["v", "id", "ts", "channel_values", "channel_versions", "versions_seen"]);

/** A value as error messages show it: short strings and numbers themselves, anything else by its kind. */
function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return v === "" ? "an empty string" : `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "number") return String(v);
  if (typeof v === "object") {
    const name = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name && name !== "Object" ? `a ${name}` : "an object";
  }
  return typeof v;
}

/**
 * The shared half of every langgraph-persist checkpointer. It validates configs, serialises
 * checkpoints into a checkpoint row + one blob per changed channel version + write rows, and rebuilds
 * `CheckpointTuple`s from what the backend returns. A backend implements the `_`-prefixed storage
 * primitives and nothing else, so the LangGraph semantics live in exactly one place.
 */
export abstract class PersistSaver extends BaseCheckpointSaver<number | string> {
  /** What this saver supports; read by the conformance suite and by callers. */
  abstract readonly capabilities: SaverCapabilities;
  /** Package name used as the prefix of error messages. */
  protected abstract readonly source: string;

  protected readonly ttl: (SaverTtlConfig & { refreshOnRead: boolean; sweepIntervalMinutes: number }) | undefined;
  protected readonly blobCodec: BlobCodec;
  /** The linear-storage settings in effect (defaults filled in). */
  readonly linearStorage: Readonly<Required<LinearStorageOptions>>;
  /**
   * The backend returns `metadataJson` exactly as it was put (and in `StoredThreadInfo`), so JSON
   * metadata is stored once: `record.metadata.data` is left empty and reads parse `metadataJson`.
   */
  protected readonly metadataFromJson: boolean = false;

  private readonly lifecycle = new Lifecycle(() => this.source, "saver");

  constructor(options: PersistSaverOptions = {}) {
    super(options.serde ?? new PersistSerializer());
    const source = (this.constructor as { SOURCE?: string }).SOURCE ?? "@langgraph-persist/core";
    if (options.ttl !== undefined) {
      const defaultTtl = validateTtlMinutes(options.ttl.defaultTtl, source, "ttl.defaultTtl");
      if (defaultTtl == null) throw new InvalidArgumentError(source, "ttl.defaultTtl is required when ttl is set");
      this.ttl = {
        defaultTtl,
        refreshOnRead: options.ttl.refreshOnRead ?? false,
        sweepIntervalMinutes: validateTtlMinutes(options.ttl.sweepIntervalMinutes ?? 5, source, "ttl.sweepIntervalMinutes") as number,
      };
    }
    this.blobCodec = new LinearBlobCodec(this.serde, validateLinearStorageOptions(options.linearStorage, source));
    this.linearStorage = (this.blobCodec as LinearBlobCodec).options;
  }

  // ---------------------------------------------------------------- storage primitives

  /** Creates or migrates the schema. Called once per instance by `setup()`. Must be idempotent across processes. */
  protected abstract _setup(): Promise<void>;
  /** Releases what the saver created (never a caller's client). */
  protected abstract _close(): Promise<void>;
  /** Stores a checkpoint row and its new blobs atomically. Blobs already stored for the same version are kept. */
  protected abstract _putCheckpoint(record: CheckpointRecord, blobs: BlobRecord[]): Promise<void>;
  /** Stores writes atomically: rows with `idx < 0` replace, others are inserted only if absent. */
  protected abstract _putWrites(threadId: string, checkpointNs: string, checkpointId: string, writes: WriteRecord[]): Promise<void>;
  /**
   * The checkpoint with this id, or the latest of the namespace when `checkpointId` is undefined. The
   * blobs listed in `known` (`[channel, key]`, values the saver already holds) may be left out of the
   * result, together with the rest of their chains: a backend that can filter them in the same query
   * saves their transfer; one that returns them anyway stays correct.
   */
  protected abstract _getCheckpoint(
    threadId: string,
    checkpointNs: string,
    checkpointId: string | undefined,
    known?: KnownRefs,
  ): Promise<StoredCheckpoint | undefined>;
  /** Checkpoints matching the query, newest (`checkpointId` descending) first, streamed. */
  protected abstract _list(query: ListQuery): AsyncIterable<StoredCheckpoint>;
  /** Pending writes of one checkpoint (used for legacy checkpoint migration). */
  protected abstract _getWrites(threadId: string, checkpointNs: string, checkpointId: string): Promise<WriteRecord[]>;
  /** Removes every checkpoint, blob and write of these threads, in every namespace. */
  protected abstract _deleteThreads(threadIds: string[]): Promise<void>;
  /** Removes the checkpoints whose `runId` is listed, with their writes, and blobs no longer referenced. */
  protected abstract _deleteForRuns(runIds: string[]): Promise<void>;
  /** Copies every checkpoint, blob and write of `sourceThreadId` to `targetThreadId` (ids kept). */
  protected abstract _copyThread(sourceThreadId: string, targetThreadId: string): Promise<void>;
  /** Keeps only the newest checkpoint of every namespace of these threads, its writes and the blobs it references. */
  protected abstract _pruneKeepLatest(threadIds: string[]): Promise<void>;
  /** Threads with their latest checkpoint, newest first. */
  protected abstract _listThreads(options: { limit: number; before?: string; filter?: ListQuery["filter"] }): Promise<StoredThreadInfo[]>;

  // ---------------------------------------------------------------- lifecycle

  /** Creates the schema (idempotent; safe when many processes call it at once). */
  async setup(): Promise<void> {
    return this.lifecycle.setup(() => this._setup());
  }

  /** Releases resources this saver created. Idempotent. A caller's client is left open. */
  async close(): Promise<void> {
    return this.lifecycle.close(() => this._close());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** True once `setup()` succeeded on this instance. */
  protected get isSetUp(): boolean {
    return this.lifecycle.isSetUp;
  }

  protected get closed(): boolean {
    return this.lifecycle.closed;
  }

  protected assertOpen(): void {
    this.lifecycle.assertOpen();
  }

  /** Runs a primitive, mapping anything thrown to a typed `PersistenceError`. */
  protected async run<T>(action: string, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await fn();
    } catch (err) {
      throw this.mapError(action, err);
    }
  }

  /** Backends override to recognise their own errors (missing table → NotSetUpError, ...). */
  protected mapError(action: string, err: unknown): PersistenceError {
    return toPersistenceError(this.source, action, err);
  }

  // ---------------------------------------------------------------- config parsing

  protected threadIdOf(config: RunnableConfig | undefined, required: true, what: string): string;
  protected threadIdOf(config: RunnableConfig | undefined, required: false, what: string): string | undefined;
  protected threadIdOf(config: RunnableConfig | undefined, required: boolean, what: string): string | undefined {
    const raw = config?.configurable?.thread_id;
    if (raw === undefined || raw === null) {
      if (!required) return undefined;
      throw new InvalidArgumentError(
        this.source,
        `${what}: config.configurable.thread_id is required, e.g. graph.invoke(input, { configurable: { thread_id: "1" } })`,
      );
    }
    return this.checkId(raw, "thread_id");
  }

  /**
   * An id as stored: a non-empty string (a finite number is taken as its decimal string, so `123` and
   * `"123"` are the same id on every backend), without NUL characters, which not every backend can
   * store (PostgreSQL text cannot).
   */
  protected checkId(raw: unknown, field: string): string {
    if (typeof raw === "number" && Number.isFinite(raw)) return String(raw);
    if (typeof raw !== "string" || raw === "") {
      throw new InvalidArgumentError(this.source, `${field} must be a non-empty string, got ${raw === "" ? "an empty string" : typeof raw}`);
    }
    if (raw.includes("\u0000")) throw new InvalidArgumentError(this.source, `${field} cannot contain NUL characters (\\u0000)`);
    return raw;
  }

  /** `config.configurable.checkpoint_id` (or the legacy `thread_ts`) as stored, or `undefined` when absent. */
  protected checkpointIdOf(config: RunnableConfig | undefined, field = "checkpoint_id"): string | undefined {
    const raw = getCheckpointId(config ?? {}) as unknown;
    return raw === undefined || raw === null || raw === "" ? undefined : this.checkId(raw, field);
  }

  /** `list`'s `before`: a config (its `checkpoint_id`, when it has one), or nothing. */
  private beforeOf(before: unknown): string | undefined {
    if (before === undefined || before === null) return undefined;
    if (typeof before !== "object" || Array.isArray(before)) {
      throw new InvalidArgumentError(this.source, `list: before must be a config like { configurable: { checkpoint_id } }, got ${describeValue(before)}`);
    }
    return this.checkpointIdOf(before as RunnableConfig, "list: before.configurable.checkpoint_id");
  }

  /** An options argument: an object, or nothing (the defaults). */
  private optionsOf<T extends object>(options: T | null | undefined, what: string, example: string): T | undefined {
    if (options === undefined || options === null) return undefined;
    if (typeof options !== "object" || Array.isArray(options)) {
      throw new InvalidArgumentError(this.source, `${what}: options must be an object like ${example}, got ${describeValue(options)}`);
    }
    return options;
  }

  protected namespaceOf(config: RunnableConfig | undefined): string | undefined {
    const ns = config?.configurable?.checkpoint_ns;
    if (ns === undefined || ns === null) return undefined;
    if (typeof ns !== "string") throw new InvalidArgumentError(this.source, `checkpoint_ns must be a string, got ${typeof ns}`);
    if (ns.includes("\u0000")) throw new InvalidArgumentError(this.source, "checkpoint_ns cannot contain NUL characters (\\u0000)");
    return ns;
  }

  // ---------------------------------------------------------------- BaseCheckpointSaver

  /**
   * Versions carry a random suffix (as the Python savers do), so a fork that writes "version 6" of a
   * channel never collides with the blob another branch stored for its own "version 6".
   * The value is a string; it is typed `number` only because LangGraph's `compile({ checkpointer })`
   * and `entrypoint({ checkpointer })` accept `BaseCheckpointSaver<number>` (the runtime compares
   * versions of either type).
   */
  override getNextVersion(current: number | string | undefined): number {
    let n = 0;
    if (typeof current === "number") n = current;
    else if (typeof current === "string") n = Number.parseInt(current.split(".")[0], 10) || 0;
    // 12 padded digits sort correctly against each other and after any older, longer-padded version.
    return `${String(n + 1).padStart(12, "0")}.${Math.random().toString(36).slice(2, 10).padEnd(8, "0")}` as unknown as number;
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    return this.readTuple(config);
  }

  /**
   * `getTuple`, plus the key of each of its `pendingWrites` (same positions): the task path and index
   * `putWrites` stored, which a `CheckpointPendingWrite` cannot carry. For tools that copy threads between
   * savers through the public API (`putWrites(config, writes, taskId, taskPath)` takes the path back).
   * One read, like `getTuple`.
   */
  async getTupleWithWriteKeys(config: RunnableConfig): Promise<{ tuple: CheckpointTuple; writeKeys: PendingWriteKey[] } | undefined> {
    const writeKeys: PendingWriteKey[] = [];
    const tuple = await this.readTuple(config, writeKeys);
    return tuple ? { tuple, writeKeys } : undefined;
  }

  private async readTuple(config: RunnableConfig, writeKeys?: PendingWriteKey[]): Promise<CheckpointTuple | undefined> {
    const threadId = this.threadIdOf(config, false, "getTuple");
    if (threadId === undefined) return undefined;
    const ns = this.namespaceOf(config) ?? "";
    const checkpointId = this.checkpointIdOf(config);
    const known = this.blobCodec.knownBlobs(threadId, ns);
    const stored = await this.run("getTuple", () => this._getCheckpoint(threadId, ns, checkpointId, known?.refs));
    try {
      return stored ? await this.toTuple(stored, known, true, undefined, writeKeys) : undefined;
    } catch (err) {
      throw reissue(err, this.source);
    }
  }

  async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    options = this.optionsOf(options, "list", "{ limit, before, filter }");
    const limit = options?.limit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      throw new InvalidArgumentError(this.source, `list: limit must be a non-negative integer, got ${describeValue(limit)}`);
    }
    const query: ListQuery = {
      threadId: this.threadIdOf(config, false, "list"),
      checkpointNs: this.namespaceOf(config),
      checkpointId: this.checkpointIdOf(config),
      before: this.beforeOf(options?.before),
      limit,
    };
    query.filter = await this.filterOf(options?.filter, "list");
    if (limit === 0) return;
    this.assertOpen();
    const page = new ListPage();
    const iterator = this._list(query)[Symbol.asyncIterator]();
    try {
      while (true) {
        let step: IteratorResult<StoredCheckpoint>;
        try {
          step = await iterator.next();
        } catch (err) {
          throw this.mapError("list", err);
        }
        if (step.done) return;
        let tuple: CheckpointTuple;
        try {
          tuple = await this.toTuple(step.value, undefined, false, page);
        } catch (err) {
          throw reissue(err, this.source);
        }
        yield tuple;
      }
    } finally {
      await iterator.return?.();
    }
  }

  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    try {
      return await this.putCheckpoint(config, checkpoint, metadata, newVersions);
    } catch (err) {
      throw reissue(err, this.source);
    }
  }

  private async putCheckpoint(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const threadId = this.threadIdOf(config, true, "put");
    const checkpointNs = this.namespaceOf(config) ?? "";
    const parent = config.configurable?.checkpoint_id;
    const parentCheckpointId = parent === undefined || parent === null || parent === "" ? null : this.checkId(parent, "checkpoint_id");
    if (typeof checkpoint !== "object" || checkpoint === null) {
      throw new InvalidArgumentError(this.source, `put: checkpoint must be a Checkpoint object, got ${describeValue(checkpoint)}`);
    }
    const checkpointId = this.checkId(checkpoint.id, "checkpoint.id");
    const copy = copyCheckpoint(checkpoint);
    const values = copy.channel_values;
    copy.channel_values = {};
    // Values without a channel_versions entry (LangGraph's empty __pregel_tasks, or anything a caller
    // puts without a version) have no blob to live in: the row keeps them.
    let unversioned: Record<string, unknown> | undefined;
    for (const channel of Object.keys(values)) {
      if (!hasOwn(copy.channel_versions, channel) && values[channel] !== undefined) (unversioned ??= {})[channel] = values[channel];
    }
    if (this.blobCodec.needsParent(threadId, checkpointNs, parentCheckpointId)) {
      // The codec needs to know which blobs the parent's channels live in (delta chains); only a
      // saver that neither wrote nor read the parent pays this extra read.
      const known = this.blobCodec.knownBlobs(threadId, checkpointNs);
      const parentStored = await this.run("put", () => this._getCheckpoint(threadId, checkpointNs, parentCheckpointId!, known?.refs));
      if (parentStored) {
        const parentCheckpoint = (await this.serde.loadsTyped(parentStored.record.checkpoint.type, parentStored.record.checkpoint.data)) as Checkpoint;
        await this.blobCodec.decode(parentStored.record, parentStored.blobs, parentCheckpoint.channel_versions ?? {}, { known, tips: true });
      }
    }
    const blobs = await this.blobCodec.encode({ threadId, checkpointNs, checkpointId, parentCheckpointId, checkpoint: copy, values, newVersions: newVersions ?? {} });
    // The row already holds the id, and versioned values live in blobs: neither is stored twice. Fields
    // of the checkpoint that copyCheckpoint leaves out (the legacy pending_sends, ...) are kept as given.
    const stored: Record<string, unknown> = { ...copy };
    delete stored.channel_values;
    if (stored.id === checkpointId || String(stored.id) === checkpointId) delete stored.id; // a numeric id reads back as its string
    for (const key of Object.keys(checkpoint)) {
      if (!ROW_FIELDS.has(key) && (checkpoint as unknown as Record<string, unknown>)[key] !== undefined) stored[key] = (checkpoint as unknown as Record<string, unknown>)[key];
    }
    if (unversioned) stored.channel_values = unversioned;
    const [serCheckpoint, serMetadata] = await Promise.all([this.serialize(stored), this.serialize(metadata ?? {})]);
    const runId = (metadata as Record<string, unknown> | undefined)?.run_id;
    const metadataJson = this.jsonText(serMetadata, metadata ?? {});
    const record: CheckpointRecord = {
      threadId,
      checkpointNs,
      checkpointId,
      parentCheckpointId,
      checkpoint: serCheckpoint,
      metadata: this.metadataFromJson && serMetadata.type === "json" ? { type: "json", data: EMPTY } : serMetadata,
      metadataJson,
      runId: typeof runId === "string" ? runId : null,
      blobRefs: blobs.refs,
    };
    await this.run("put", () => this._putCheckpoint(record, blobs.records));
    blobs.commit?.();
    return { configurable: { thread_id: threadId, checkpoint_ns: checkpointNs, checkpoint_id: checkpointId } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath = ""): Promise<void> {
    try {
      await this.storeWrites(config, writes, taskId, taskPath);
    } catch (err) {
      throw reissue(err, this.source);
    }
  }

  private async storeWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath: string): Promise<void> {
    const threadId = this.threadIdOf(config, true, "putWrites");
    const checkpointNs = this.namespaceOf(config) ?? "";
    const rawId = config.configurable?.checkpoint_id;
    if (rawId === undefined || rawId === null || rawId === "") {
      throw new InvalidArgumentError(this.source, "putWrites: config.configurable.checkpoint_id is required");
    }
    const checkpointId = this.checkId(rawId, "checkpoint_id");
    const task = this.checkId(taskId, "putWrites: taskId");
    if (!Array.isArray(writes)) throw new InvalidArgumentError(this.source, `putWrites: writes must be an array of [channel, value] pairs, got ${describeValue(writes)}`);
    if (writes.length === 0) return;
    writes.forEach((write: unknown, i) => {
      if (!Array.isArray(write) || write.length !== 2) {
        throw new InvalidArgumentError(this.source, `putWrites: writes must be [channel, value] pairs; writes[${i}] is ${describeValue(write)}`);
      }
      const channel: unknown = write[0];
      if (typeof channel !== "string" || channel === "") {
        throw new InvalidArgumentError(this.source, `putWrites: channel names must be non-empty strings; writes[${i}] has the channel ${describeValue(channel)}`);
      }
      if (channel.includes("\u0000")) throw new InvalidArgumentError(this.source, "putWrites: channel names cannot contain NUL characters (\\u0000)");
    });
    const records = await Promise.all(
      writes.map(async ([channel, value], i): Promise<WriteRecord> => {
        const ser = await this.serialize(value);
        return { taskId: task, idx: WRITES_IDX_MAP[channel] ?? i, channel, type: ser.type, data: ser.data, taskPath: typeof taskPath === "string" ? taskPath : "" };
      }),
    );
    await this.run("putWrites", () => this._putWrites(threadId, checkpointNs, checkpointId, records));
  }

  async deleteThread(threadId: string): Promise<void> {
    const id = this.checkId(threadId, "threadId");
    await this.run("deleteThread", () => this._deleteThreads([id]));
    this.blobCodec.forgetThread(id);
  }

  // ---------------------------------------------------------------- extended operations

  /** Deletes the checkpoints (and their writes) created by these runs (`metadata.run_id`). */
  async deleteForRuns(runIds: string[]): Promise<void> {
    if (!Array.isArray(runIds)) throw new InvalidArgumentError(this.source, "deleteForRuns: runIds must be an array");
    const ids = runIds.map((r) => this.checkId(r, "runId"));
    if (ids.length === 0) return;
    await this.run("deleteForRuns", () => this._deleteForRuns([...new Set(ids)]));
    this.blobCodec.reset();
  }

  /** Copies a whole thread — every namespace, checkpoint, blob and pending write — under a new thread id. */
  async copyThread(sourceThreadId: string, targetThreadId: string): Promise<void> {
    const source = this.checkId(sourceThreadId, "sourceThreadId");
    const target = this.checkId(targetThreadId, "targetThreadId");
    if (source === target) throw new InvalidArgumentError(this.source, "copyThread: source and target thread ids are the same");
    await this.run("copyThread", () => this._copyThread(source, target));
  }

  /** Retention: keep only the latest checkpoint of each namespace (`keep_latest`) or delete the threads (`delete`). */
  async prune(threadIds: string[], options?: PruneOptions): Promise<void> {
    if (!Array.isArray(threadIds)) throw new InvalidArgumentError(this.source, `prune: threadIds must be an array, got ${describeValue(threadIds)}`);
    const strategy = this.optionsOf(options, "prune", '{ strategy: "delete" }')?.strategy ?? "keep_latest";
    if (strategy !== "keep_latest" && strategy !== "delete") {
      throw new InvalidArgumentError(this.source, `prune: unknown strategy ${JSON.stringify(strategy)}; use "keep_latest" or "delete"`);
    }
    const ids = [...new Set(threadIds.map((t) => this.checkId(t, "threadId")))];
    if (ids.length === 0) return;
    if (strategy === "delete") await this.run("prune", () => this._deleteThreads(ids));
    else await this.run("prune", () => this._pruneKeepLatest(ids));
    for (const id of ids) this.blobCodec.forgetThread(id);
  }

  /** Thread ids with their latest checkpoint, newest first, read from an index (not every checkpoint). */
  async listThreads(options?: ListThreadsOptions): Promise<ThreadInfo[]> {
    const { limit = 100, before: rawBefore, filter: rawFilter } = this.optionsOf(options, "listThreads", "{ limit, before, filter }") ?? {};
    if (!Number.isInteger(limit) || limit < 0) {
      throw new InvalidArgumentError(this.source, `listThreads: limit must be a non-negative integer, got ${describeValue(limit)}`);
    }
    const before = rawBefore === undefined || rawBefore === null ? undefined : this.checkId(rawBefore, "listThreads: before (a checkpoint id)");
    const filter = await this.filterOf(rawFilter, "listThreads");
    if (limit === 0) return [];
    const rows = await this.run("listThreads", () => this._listThreads({ limit, before, filter }));
    return Promise.all(
      rows.map(async (r) => {
        const cp = (await this.serde.loadsTyped(r.checkpoint.type, r.checkpoint.data)) as Checkpoint;
        return {
          threadId: r.threadId,
          checkpointId: r.checkpointId,
          checkpointNs: r.checkpointNs,
          ts: cp.ts,
          metadata: (await this.loadMetadata(r.metadata, r.metadataJson)) as Record<string, unknown>,
        };
      }),
    );
  }

  /**
   * Walks the parent chain of the target once for all channels, reading ancestors in pages of `list`
   * (a bounded number of queries, not one `getTuple` per ancestor).
   */
  override async getDeltaChannelHistory(options: { config: RunnableConfig; channels: string[] }): Promise<Record<string, DeltaChannelHistory>> {
    if (options === undefined || options === null) {
      throw new InvalidArgumentError(this.source, "getDeltaChannelHistory: options { config, channels } are required");
    }
    const { config, channels } = this.optionsOf(options, "getDeltaChannelHistory", "{ config, channels }")!;
    if (!Array.isArray(channels) || channels.some((ch) => typeof ch !== "string")) {
      throw new InvalidArgumentError(this.source, `getDeltaChannelHistory: channels must be an array of channel names, got ${describeValue(channels)}`);
    }
    if (channels.length === 0) return {};
    const result: Record<string, DeltaChannelHistory> = {};
    for (const ch of channels) result[ch] = { writes: [] };
    const threadId = this.threadIdOf(config, false, "getDeltaChannelHistory");
    if (threadId === undefined) return result;
    const checkpointNs = this.namespaceOf(config) ?? "";
    const target = await this.run("getDeltaChannelHistory", () => this._getCheckpoint(threadId, checkpointNs, this.checkpointIdOf(config)));
    let wanted = target?.record.parentCheckpointId ?? null;
    if (wanted === null) return result;
    const remaining = new Set(channels);
    const perChannel: Record<string, CheckpointPendingWrite[][]> = {};
    for (const ch of channels) perChannel[ch] = [];
    this.assertOpen();
    for await (const stored of this._list({ threadId, checkpointNs, before: target!.record.checkpointId })) {
      if (stored.record.checkpointId !== wanted) continue; // another branch of a forked thread
      const tuple = await this.toTuple(stored);
      // Writes stored on an ancestor count for every channel still walking, including the one it seeds.
      for (const ch of remaining) perChannel[ch].push((tuple.pendingWrites ?? []).filter((w) => w[1] === ch));
      for (const ch of [...remaining]) {
        const values = tuple.checkpoint.channel_values as Record<string, unknown>;
        if (Object.prototype.hasOwnProperty.call(values, ch) && values[ch] !== undefined) {
          result[ch].seed = values[ch];
          remaining.delete(ch);
        }
      }
      wanted = stored.record.parentCheckpointId;
      if (wanted === null || remaining.size === 0) break;
    }
    for (const ch of channels) result[ch].writes = perChannel[ch].reverse().flat();
    return result;
  }

  // ---------------------------------------------------------------- assembly

  protected async serialize(value: unknown): Promise<SerializedValue> {
    const [type, data] = await this.serde.dumpsTyped(value);
    return { type, data };
  }

  private jsonText(ser: SerializedValue, value: unknown): string {
    if (ser.type === "json") return decoder.decode(ser.data);
    return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) ?? "null";
  }

  /**
   * A list/listThreads `filter`: `undefined` for none (absent, `null` or `{}`); anything but a plain
   * object of metadata keys is refused.
   */
  private async filterOf(filter: unknown, what: string): Promise<ListQuery["filter"]> {
    if (filter === undefined || filter === null) return undefined;
    const proto = typeof filter === "object" ? Object.getPrototypeOf(filter) : undefined;
    if (proto !== Object.prototype && proto !== null) {
      throw new InvalidArgumentError(this.source, `${what}: filter must be a plain object of metadata keys and values, got ${describeValue(filter)}`);
    }
    return Object.keys(filter as object).length > 0 ? this.encodeFilter(filter as Record<string, unknown>) : undefined;
  }

  /** Encodes list/listThreads filters once, in the same JSON form the metadata is stored in. */
  protected async encodeFilter(filter: Record<string, unknown>): Promise<NonNullable<ListQuery["filter"]>> {
    if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
      throw new InvalidArgumentError(this.source, "list: filter must be a plain object");
    }
    return Promise.all(
      Object.entries(filter).map(async ([k, v]) => {
        const ser = await this.serialize(v);
        return [k, this.jsonText(ser, v), v] as [string, string, unknown];
      }),
    );
  }

  /** Metadata stored once as JSON (`metadataFromJson`) has empty bytes: parse the JSON text instead. */
  private loadMetadata(metadata: SerializedValue, json: string | undefined): Promise<unknown> {
    if (metadata.data.length === 0 && metadata.type === "json" && json) return this.serde.loadsTyped("json", json);
    return this.serde.loadsTyped(metadata.type, metadata.data);
  }

  /**
   * Rebuilds a LangGraph `CheckpointTuple` from stored records. Pending writes come in
   * `(task_path, task_id, idx)` order (see `sortWrites`); `writeKeys`, when given, receives each one's
   * task path and index in that order.
   */
  protected async toTuple(stored: StoredCheckpoint, known?: KnownBlobs, tips = false, page?: ListPage, writeKeys?: PendingWriteKey[]): Promise<CheckpointTuple> {
    const { record } = stored;
    const checkpoint = (await this.serde.loadsTyped(record.checkpoint.type, record.checkpoint.data)) as Checkpoint;
    checkpoint.id ??= record.checkpointId;
    const writes = sortWrites(stored.writes);
    if (writeKeys) for (const w of writes) writeKeys.push({ taskPath: w.taskPath ?? "", idx: w.idx });
    const [metadata, channelValues, pendingWrites] = await Promise.all([
      this.loadMetadata(record.metadata, record.metadataJson) as Promise<CheckpointMetadata>,
      this.blobCodec.decode(record, stored.blobs, checkpoint.channel_versions ?? {}, { known, tips, page }),
      Promise.all(writes.map(async (w): Promise<CheckpointPendingWrite> => [w.taskId, w.channel, await this.serde.loadsTyped(w.type, w.data)])),
    ]);
    // The row holds the values that have no version (only when there are any); blobs hold the others.
    const unversioned = checkpoint.channel_values as Record<string, unknown> | undefined;
    if (unversioned) for (const channel of Object.keys(unversioned)) if (!hasOwn(channelValues, channel)) channelValues[channel] = unversioned[channel];
    checkpoint.channel_values = channelValues;
    checkpoint.channel_versions ??= {};
    checkpoint.versions_seen ??= {};
    if (checkpoint.v < 4 && record.parentCheckpointId !== null) await this.migratePendingSends(checkpoint, record);
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: record.threadId, checkpoint_ns: record.checkpointNs, checkpoint_id: record.checkpointId } },
      checkpoint,
      metadata,
      pendingWrites,
    };
    if (record.parentCheckpointId !== null) {
      tuple.parentConfig = { configurable: { thread_id: record.threadId, checkpoint_ns: record.checkpointNs, checkpoint_id: record.parentCheckpointId } };
    }
    return tuple;
  }

  /** Checkpoints older than format v4 kept pending sends in the parent's TASKS writes: move them into the channel, as upstream does. */
  private async migratePendingSends(checkpoint: Checkpoint, record: CheckpointRecord): Promise<void> {
    const writes = await this.run("getTuple", () => this._getWrites(record.threadId, record.checkpointNs, record.parentCheckpointId!));
    const sends = await Promise.all(sortWrites(writes.filter((w) => w.channel === TASKS)).map((w) => this.serde.loadsTyped(w.type, w.data)));
    (checkpoint.channel_values as Record<string, unknown>)[TASKS] = sends;
    const versions = Object.values(checkpoint.channel_versions);
    (checkpoint.channel_versions as Record<string, string | number>)[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }
}

export { EMPTY as EMPTY_BYTES };
