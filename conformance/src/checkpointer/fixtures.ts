import type { RunnableConfig } from "@langchain/core/runnables";
import {
  ERROR,
  emptyCheckpoint,
  uuid6,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
} from "@langchain/langgraph-checkpoint";
import type { PersistSaver } from "@langgraph-persist/core";

/**
 * A new checkpoint id. `uuid6` ids are time-ordered and, within one process, strictly increasing from
 * call to call, so "newest" in the suite always means "made last".
 */
export function nextCheckpointId(): string {
  return uuid6(-1);
}

export interface CheckpointSpec {
  id?: string;
  /** Checkpoint format version. @default 4 */
  v?: number;
  ts?: string;
  values?: Record<string, unknown>;
  versions?: ChannelVersions;
  versionsSeen?: Checkpoint["versions_seen"];
}

/** A checkpoint with a fresh increasing id unless one is given. */
export function makeCheckpoint(spec: CheckpointSpec = {}): Checkpoint {
  const cp = emptyCheckpoint();
  cp.id = spec.id ?? nextCheckpointId();
  if (spec.v !== undefined) cp.v = spec.v;
  if (spec.ts !== undefined) cp.ts = spec.ts;
  cp.channel_values = { ...(spec.values ?? {}) };
  cp.channel_versions = { ...(spec.versions ?? {}) };
  cp.versions_seen = structuredClone(spec.versionsSeen ?? {});
  return cp;
}

/** Metadata as the Pregel loop writes it, plus extra top-level keys. */
export function makeMetadata(step: number, extra: Record<string, unknown> = {}): CheckpointMetadata {
  return { source: "loop", step, parents: {}, ...extra } as CheckpointMetadata;
}

/** `{ configurable: { thread_id, checkpoint_ns, checkpoint_id? } }`. */
export function threadConfig(threadId: string, checkpointNs = "", checkpointId?: string): RunnableConfig {
  const configurable: Record<string, unknown> = { thread_id: threadId, checkpoint_ns: checkpointNs };
  if (checkpointId !== undefined) configurable.checkpoint_id = checkpointId;
  return { configurable };
}

export function idOf(config: RunnableConfig | undefined): string | undefined {
  return config?.configurable?.checkpoint_id as string | undefined;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

export function tupleIds(tuples: CheckpointTuple[]): string[] {
  return tuples.map((t) => t.checkpoint.id);
}

/** Pending writes as `[taskId, channel, value]`, in the order the saver returned them. */
export function writesOf(tuple: CheckpointTuple | undefined): Array<[string, string, unknown]> {
  return (tuple?.pendingWrites ?? []).map(([t, c, v]) => [t, c, v]);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface StepOptions {
  /** Channels that get a new version and this value. */
  set?: Record<string, unknown>;
  /** Channels that get a new version and no value (what a delta channel does between snapshots). */
  clear?: string[];
  /**
   * Channel values of this checkpoint alone that have no `channel_versions` entry (as LangGraph writes
   * an empty `__pregel_tasks`); not inherited by children.
   */
  unversioned?: Record<string, unknown>;
  /** Extra metadata keys; `step` defaults to the checkpoint's position in the chain. */
  metadata?: Record<string, unknown>;
  /** Parent checkpoint id; defaults to the chain's head. `null` starts a new root. */
  parent?: string | null;
  /** Writes stored on the new checkpoint after it is put, as one `putWrites` call of `taskId`. */
  writes?: PendingWrite[];
  taskId?: string;
  id?: string;
  v?: number;
}

interface ChannelState {
  values: Record<string, unknown>;
  versions: ChannelVersions;
}

/**
 * Builds checkpoint chains the way the Pregel loop does: each checkpoint carries the full channel state
 * of its parent plus the changes, and only the changed channels are passed as `newVersions`. Forks are
 * made by passing an older `parent`; the fork starts from that checkpoint's state.
 */
export class ChainWriter {
  /** Configs returned by `put`, in the order the checkpoints were put. */
  readonly configs: RunnableConfig[] = [];
  /** The checkpoints as they were put, by id. */
  readonly checkpoints = new Map<string, Checkpoint>();
  head: string | undefined;
  private readonly states = new Map<string, ChannelState>();
  private readonly steps = new Map<string, number>();
  private readonly unversioned = new Map<string, Record<string, unknown>>();

  constructor(
    readonly saver: PersistSaver,
    readonly threadId: string,
    readonly checkpointNs = "",
  ) {}

  get ids(): string[] {
    return this.configs.map((c) => idOf(c)!);
  }

  /**
   * A writer that continues this one's thread (from its head, with its history) through another saver
   * or under another thread id (e.g. a copy). Its `ids` are only the checkpoints it puts itself.
   */
  continueWith(saver: PersistSaver, threadId = this.threadId): ChainWriter {
    const next = new ChainWriter(saver, threadId, this.checkpointNs);
    for (const [k, v] of this.states) next.states.set(k, v);
    for (const [k, v] of this.steps) next.steps.set(k, v);
    for (const [k, v] of this.unversioned) next.unversioned.set(k, v);
    next.head = this.head;
    return next;
  }

  config(checkpointId?: string): RunnableConfig {
    return threadConfig(this.threadId, this.checkpointNs, checkpointId);
  }

  /** The channel values a read of this checkpoint must return. */
  valuesAt(checkpointId: string): Record<string, unknown> {
    return { ...this.states.get(checkpointId)!.values, ...this.unversioned.get(checkpointId) };
  }

  async step(options: StepOptions = {}): Promise<RunnableConfig> {
    const parent = options.parent === undefined ? this.head : (options.parent ?? undefined);
    // A parent this writer did not put (another writer's checkpoint) contributes no channels.
    const base: ChannelState = (parent !== undefined ? this.states.get(parent) : undefined) ?? { values: {}, versions: {} };
    const values = { ...base.values };
    const versions = { ...base.versions };
    const newVersions: ChannelVersions = {};
    for (const [channel, value] of Object.entries(options.set ?? {})) {
      newVersions[channel] = this.saver.getNextVersion(versions[channel]);
      versions[channel] = newVersions[channel];
      values[channel] = value;
    }
    for (const channel of options.clear ?? []) {
      newVersions[channel] = this.saver.getNextVersion(versions[channel]);
      versions[channel] = newVersions[channel];
      delete values[channel];
    }
    const stepNo = parent !== undefined ? (this.steps.get(parent) ?? -1) + 1 : 0;
    const checkpoint = makeCheckpoint({ id: options.id, v: options.v, values: { ...values, ...options.unversioned }, versions });
    const config = await this.saver.put(this.config(parent), checkpoint, makeMetadata(stepNo, options.metadata), newVersions);
    this.configs.push(config);
    this.checkpoints.set(checkpoint.id, checkpoint);
    this.states.set(checkpoint.id, { values, versions });
    this.steps.set(checkpoint.id, stepNo);
    if (options.unversioned) this.unversioned.set(checkpoint.id, { ...options.unversioned });
    this.head = checkpoint.id;
    if (options.writes && options.writes.length > 0) {
      await this.saver.putWrites(config, options.writes, options.taskId ?? "task-1");
    }
    return config;
  }

  /** Puts `n` checkpoints, each setting channel `step` to its index. */
  async chain(n: number, metadata: (i: number) => Record<string, unknown> = () => ({})): Promise<RunnableConfig[]> {
    const out: RunnableConfig[] = [];
    for (let i = 0; i < n; i++) out.push(await this.step({ set: { step: i }, metadata: metadata(i) }));
    return out;
  }
}

/** A thread with two namespaces, several channels (some set only by ancestors) and writes everywhere. */
export async function populateThread(saver: PersistSaver, threadId: string): Promise<{ root: ChainWriter; child: ChainWriter }> {
  const root = new ChainWriter(saver, threadId, "");
  const child = new ChainWriter(saver, threadId, "child:1");
  await root.step({ set: { a: "a0", b: "b0", messages: ["m0"] }, writes: [["a", "w0"]], taskId: "t0" });
  await root.step({ set: { c: "c1", messages: ["m0", "m1"] }, writes: [["b", "w1"], [ERROR, "oops"]], taskId: "t1" });
  await child.step({ set: { a: "child-a", messages: [{ role: "user", content: "hi" }] }, writes: [["a", "cw0"]], taskId: "t0" });
  await root.step({ clear: ["b"], set: { messages: ["m0", "m1", "m2"] }, writes: [["c", "w2"]], taskId: "t2" });
  await child.step({ set: { d: "child-d", messages: [{ role: "user", content: "hi" }, { role: "ai", content: "hello" }] } });
  return { root, child };
}

/** Everything the public API shows of a thread (except its id), for before/after comparisons. */
export async function snapshotThread(saver: PersistSaver, threadId: string): Promise<unknown> {
  const tuples = await collect(saver.list({ configurable: { thread_id: threadId } }));
  return tuples.map((t) => ({
    threadMatches: t.config.configurable?.thread_id === threadId,
    ns: t.config.configurable?.checkpoint_ns,
    id: t.config.configurable?.checkpoint_id,
    parent: t.parentConfig?.configurable?.checkpoint_id,
    values: t.checkpoint.channel_values,
    versions: t.checkpoint.channel_versions,
    metadata: t.metadata,
    writes: t.pendingWrites,
  }));
}
