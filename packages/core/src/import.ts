import { isDeepStrictEqual } from "node:util";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { BaseCheckpointSaver, BaseStore, ChannelVersions, CheckpointMetadata, CheckpointTuple, PendingWrite } from "@langchain/langgraph-checkpoint";
import { InvalidArgumentError } from "./errors.js";
import type { PendingWriteKey, PersistSaver } from "./saver.js";
import type { ImportItem, PersistStore } from "./store.js";

const SOURCE = "@langgraph-persist/core";

/** One checkpoint read from a source, with what a public `CheckpointTuple` cannot carry. */
export interface SourceCheckpoint {
  tuple: CheckpointTuple;
  /**
   * The task path of each pending write (same positions as `tuple.pendingWrites`). Absent when the
   * source does not keep task paths (upstream savers do not): every write is imported with path `""`.
   */
  writeKeys?: Array<Pick<PendingWriteKey, "taskPath">>;
  /** Bytes the source stores for this checkpoint (row, channel values, writes), when it knows them. */
  bytes?: number;
}

/**
 * Where checkpoints are imported from. `importCheckpoints` also takes any `BaseCheckpointSaver`
 * (see `saverSource`); the CLI's readers of the official adapters' tables implement this directly.
 */
export interface CheckpointSource {
  /** Every thread id, each once, streamed. */
  threads(): AsyncIterable<string>;
  /**
   * Every checkpoint of one thread, in every namespace, with its pending writes. Parents should come
   * before children (ascending checkpoint id per namespace); `importCheckpoints` reorders when they do not.
   */
  readThread(threadId: string): AsyncIterable<SourceCheckpoint>;
  /** One checkpoint as the source returns it now (for verification); `readThread`'s copy is used when absent. */
  getTuple?(config: RunnableConfig): Promise<CheckpointTuple | undefined>;
  close?(): Promise<void>;
}

/** One store item read from a source: what `PersistStore.importItems` writes, and its size for progress. */
export interface SourceItem extends ImportItem {
  bytes?: number;
}

/** Where store items are imported from. `importStore` also takes any `BaseStore` (see `storeSource`). */
export interface ItemSource {
  /** Every item under `prefix` (`[]` = all), in pages. */
  items(prefix: string[]): AsyncIterable<SourceItem[]>;
  /** One item as the source returns it now (for verification). */
  get?(namespace: string[], key: string): Promise<{ value: Record<string, unknown>; createdAt: Date; updatedAt: Date } | null>;
  close?(): Promise<void>;
}

export type VerifyMode = "sample" | "all" | "none";

export interface ImportProgress {
  phase: "threads" | "store" | "verify";
  threads: number;
  checkpoints: number;
  writes: number;
  items: number;
  bytes: number;
  /** Threads known so far (all of them once enumeration finished), when the source can tell. */
  totalThreads?: number;
}

export interface ImportCheckpointsOptions {
  /** Only these threads (default: every thread the source lists). Required for a saver that cannot list all threads. */
  threads?: string[];
  /** Count what would be imported (threads, checkpoints, writes, bytes); write nothing. */
  dryRun?: boolean;
  /**
   * Compare what the source returns with what the target returns after the import: `getTuple` of
   * every imported checkpoint (`all`), of each thread's latest checkpoint per namespace and a few others
   * (`sample`, the default), or nothing (`none`).
   */
  verify?: VerifyMode;
  onProgress?: (progress: ImportProgress) => void;
}

export interface ImportStoreOptions {
  /** Only items under this namespace prefix. */
  namespace?: string[];
  dryRun?: boolean;
  /** Compare each imported item (`all`), about one in ten (`sample`, the default), or none. */
  verify?: VerifyMode;
  onProgress?: (progress: ImportProgress) => void;
  /** Items per page read from the source and written to the target. @default 200 */
  pageSize?: number;
}

/** One difference found by verification. */
export interface ImportProblem {
  threadId?: string;
  checkpointNs?: string;
  checkpointId?: string;
  namespace?: string[];
  key?: string;
  message: string;
}

export interface CheckpointImportReport {
  dryRun: boolean;
  threads: number;
  checkpoints: number;
  /** Checkpoints the target already held (a re-run), left as they are. */
  alreadyPresent: number;
  writes: number;
  bytes: number;
  verified: number;
  problems: ImportProblem[];
  seconds: number;
}

export interface StoreImportReport {
  dryRun: boolean;
  items: number;
  namespaces: number;
  /** Items already expired in the source, not imported. */
  expired: number;
  bytes: number;
  /** Whether the target kept the source's `createdAt`/`updatedAt` (see `PersistStore.importItems`). */
  timestampsKept: boolean;
  verified: number;
  problems: ImportProblem[];
  seconds: number;
}

const refKey = (ns: string, id: string) => `${ns}\u0000${id}`;

function isCheckpointSource(x: unknown): x is CheckpointSource {
  return typeof (x as CheckpointSource)?.readThread === "function" && typeof (x as CheckpointSource)?.threads === "function";
}

function isItemSource(x: unknown): x is ItemSource {
  return typeof (x as ItemSource)?.items === "function";
}

function isPersistSaver(x: unknown): x is PersistSaver {
  return typeof (x as PersistSaver)?.getTupleWithWriteKeys === "function";
}

/**
 * A `CheckpointSource` over any saver's public API. Threads come from `list({})` (savers that can list
 * every thread, as upstream MemorySaver does) unless `threads` is given. A langgraph-persist saver
 * gives each write's task path (`getTupleWithWriteKeys`); an upstream saver has no public way to, so
 * its writes are imported with path `""` (LangGraph orders a task's writes by task path first: writes
 * of one task keep their order, and different tasks keep theirs by task id).
 */
export function saverSource(saver: BaseCheckpointSaver, threads?: string[]): CheckpointSource {
  return {
    async *threads() {
      if (threads) {
        yield* threads;
        return;
      }
      const seen = new Set<string>();
      for await (const t of saver.list({})) {
        const id = t.config.configurable?.thread_id as string | undefined;
        if (id !== undefined && !seen.has(id)) {
          seen.add(id);
          yield id;
        }
      }
    },
    async *readThread(threadId) {
      const tuples: CheckpointTuple[] = [];
      for await (const t of saver.list({ configurable: { thread_id: threadId } })) tuples.push(t);
      tuples.reverse();
      for (const t of tuples) {
        if (isPersistSaver(saver)) {
          const read = await saver.getTupleWithWriteKeys(t.config);
          if (read) yield { tuple: read.tuple, writeKeys: read.writeKeys };
        } else yield { tuple: t };
      }
    },
    getTuple: (config) => saver.getTuple(config),
  };
}

/** An `ItemSource` over any store's public API: `search(prefix)` paged by offset. TTLs are not readable this way. */
export function storeSource(store: BaseStore, pageSize = 200): ItemSource {
  return {
    async *items(prefix) {
      for (let offset = 0; ; offset += pageSize) {
        const page = await store.search(prefix, { limit: pageSize, offset });
        if (page.length > 0) {
          yield page.map((item) => ({
            namespace: item.namespace,
            key: item.key,
            value: item.value,
            createdAt: new Date(item.createdAt),
            updatedAt: new Date(item.updatedAt),
          }));
        }
        if (page.length < pageSize) return;
      }
    },
    async get(namespace, key) {
      const item = await store.get(namespace, key);
      return item ? { value: item.value, createdAt: new Date(item.createdAt), updatedAt: new Date(item.updatedAt) } : null;
    },
  };
}

/** Orders one thread's checkpoints so that every parent comes before its children. */
function parentsFirst(checkpoints: SourceCheckpoint[]): SourceCheckpoint[] {
  const key = (c: SourceCheckpoint) => refKey(c.tuple.config.configurable?.checkpoint_ns ?? "", c.tuple.config.configurable?.checkpoint_id);
  const parentKey = (c: SourceCheckpoint) =>
    c.tuple.parentConfig ? refKey(c.tuple.parentConfig.configurable?.checkpoint_ns ?? "", c.tuple.parentConfig.configurable?.checkpoint_id) : undefined;
  const byKey = new Map(checkpoints.map((c) => [key(c), c]));
  const placed = new Set<string>();
  const out: SourceCheckpoint[] = [];
  const place = (c: SourceCheckpoint) => {
    // Iterative: a long chain must not overflow the stack.
    const stack: SourceCheckpoint[] = [];
    let cur: SourceCheckpoint | undefined = c;
    while (cur && !placed.has(key(cur))) {
      placed.add(key(cur));
      stack.push(cur);
      const pk = parentKey(cur);
      cur = pk !== undefined ? byKey.get(pk) : undefined;
    }
    while (stack.length) out.push(stack.pop()!);
  };
  for (const c of checkpoints) place(c);
  return out;
}

/** Bytes of a tuple when the source does not say: its JSON text length (an estimate). */
function estimateBytes(c: SourceCheckpoint): number {
  if (c.bytes !== undefined) return c.bytes;
  try {
    return Buffer.byteLength(JSON.stringify([c.tuple.checkpoint, c.tuple.metadata, c.tuple.pendingWrites]) ?? "");
  } catch {
    return 0;
  }
}

/**
 * Imports every checkpoint of every thread — all namespaces (subgraphs), ids, parents, metadata,
 * channel versions, versions seen, channel values and pending writes (interrupts, errors, sends) — from
 * `source` into `target`. `source` is any `BaseCheckpointSaver` (upstream `MemorySaver`, an official
 * adapter, another langgraph-persist saver) or a `CheckpointSource` (the CLI reads the official
 * adapters' tables with one).
 *
 * Parents are written before children, and each `put` declares as new only the channels whose version
 * differs from the parent's, as LangGraph does when it runs a graph, so the target stores the thread in
 * its own layout (delta chains included). Checkpoints the target already holds are skipped and pending
 * writes are insert-if-absent: running it again, also after an interruption, completes what is missing
 * and duplicates nothing. The source is only read.
 */
export async function importCheckpoints(
  source: BaseCheckpointSaver | CheckpointSource,
  target: PersistSaver,
  options: ImportCheckpointsOptions = {},
): Promise<CheckpointImportReport> {
  const started = Date.now();
  const verify = options.verify ?? "sample";
  if (verify !== "sample" && verify !== "all" && verify !== "none") throw new InvalidArgumentError(SOURCE, `importCheckpoints: verify must be "sample", "all" or "none", got ${JSON.stringify(verify)}`);
  if (options.threads !== undefined && (!Array.isArray(options.threads) || options.threads.some((t) => typeof t !== "string" || t === ""))) {
    throw new InvalidArgumentError(SOURCE, "importCheckpoints: threads must be an array of thread ids");
  }
  const src = isCheckpointSource(source) ? source : saverSource(source, options.threads);
  const dryRun = options.dryRun === true;
  const report: CheckpointImportReport = { dryRun, threads: 0, checkpoints: 0, alreadyPresent: 0, writes: 0, bytes: 0, verified: 0, problems: [], seconds: 0 };
  const progress = (phase: ImportProgress["phase"], totalThreads?: number) =>
    options.onProgress?.({ phase, threads: report.threads, checkpoints: report.checkpoints, writes: report.writes, items: 0, bytes: report.bytes, totalThreads });
  if (!dryRun) await target.setup();

  const wanted = options.threads ? new Set(options.threads) : undefined;
  const threadIds: string[] = [];
  if (options.threads && isCheckpointSource(source)) threadIds.push(...new Set(options.threads));
  else for await (const t of src.threads()) if (!wanted || wanted.has(t)) threadIds.push(t);

  for (const threadId of threadIds) {
    const checkpoints: SourceCheckpoint[] = [];
    for await (const c of src.readThread(threadId)) checkpoints.push(c);
    if (checkpoints.length === 0) {
      if (options.threads) report.problems.push({ threadId, message: `thread ${threadId} not found in the source` });
      continue;
    }
    const ordered = parentsFirst(checkpoints);
    const existing = new Set<string>();
    // A thread the target does not hold yet (the usual case) costs one short read instead of a listing.
    let onTarget = false;
    if (!dryRun) for await (const _ of target.list({ configurable: { thread_id: threadId } }, { limit: 1 })) onTarget = true;
    if (onTarget) for await (const t of target.list({ configurable: { thread_id: threadId } })) existing.add(refKey(t.config.configurable?.checkpoint_ns ?? "", t.config.configurable?.checkpoint_id));
    const versions = new Map<string, ChannelVersions>();
    for (const c of ordered) {
      const { tuple } = c;
      const ns: string = tuple.config.configurable?.checkpoint_ns ?? "";
      const id: string = tuple.config.configurable?.checkpoint_id ?? tuple.checkpoint.id;
      const parentId: string | undefined = tuple.parentConfig?.configurable?.checkpoint_id;
      const channelVersions = tuple.checkpoint.channel_versions ?? {};
      const writes = tuple.pendingWrites ?? [];
      report.bytes += estimateBytes(c);
      report.writes += writes.length;
      if (!dryRun) {
        const key = refKey(ns, id);
        if (existing.has(key)) report.alreadyPresent++;
        else {
          const parentVersions = parentId !== undefined ? versions.get(refKey(ns, parentId)) : undefined;
          const newVersions: ChannelVersions = {};
          for (const [channel, version] of Object.entries(channelVersions)) {
            if (parentVersions === undefined || parentVersions[channel] !== version) newVersions[channel] = version;
          }
          const parentConfig = { configurable: { thread_id: threadId, checkpoint_ns: ns, ...(parentId !== undefined ? { checkpoint_id: parentId } : {}) } };
          await target.put(parentConfig, { ...tuple.checkpoint, id }, (tuple.metadata ?? {}) as CheckpointMetadata, newVersions);
        }
        // One putWrites per task and task path; special channels (negative index) are placed by
        // channel name, the others get back their positions 0, 1, … within their task.
        const byTask = new Map<string, { taskId: string; taskPath: string; writes: PendingWrite[] }>();
        writes.forEach(([taskId, channel, value], i) => {
          const taskPath = c.writeKeys?.[i]?.taskPath ?? "";
          const group = JSON.stringify([taskId, taskPath]);
          let entry = byTask.get(group);
          if (!entry) byTask.set(group, (entry = { taskId, taskPath, writes: [] }));
          entry.writes.push([channel, value]);
        });
        const config = { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: id } };
        for (const { taskId, taskPath, writes: w } of byTask.values()) await target.putWrites(config, w, taskId, taskPath);
      }
      versions.set(refKey(ns, id), channelVersions);
      report.checkpoints++;
    }
    report.threads++;
    progress("threads", threadIds.length);
    if (!dryRun && verify !== "none") {
      const chosen = verify === "all" ? ordered : sampleOf(ordered);
      for (const c of chosen) {
        const problem = await verifyCheckpoint(src, target, c);
        report.verified++;
        if (problem) report.problems.push(problem);
      }
    }
  }
  progress("threads", threadIds.length);
  report.seconds = (Date.now() - started) / 1000;
  return report;
}

/** The latest checkpoint of each namespace, the first one and about one in twenty of the others. */
function sampleOf(ordered: SourceCheckpoint[]): SourceCheckpoint[] {
  const latest = new Map<string, SourceCheckpoint>();
  for (const c of ordered) latest.set(c.tuple.config.configurable?.checkpoint_ns ?? "", c);
  const chosen = new Set<SourceCheckpoint>(latest.values());
  if (ordered.length > 0) chosen.add(ordered[0]);
  ordered.forEach((c, i) => {
    if (i % 20 === 10) chosen.add(c);
  });
  return [...chosen];
}

/** Values compared as their JSON (class instances such as messages by their `toJSON`), keys sorted. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v && typeof v === "object" && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
    }
    return v;
  });
}

export function sameValue(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b) || canonical(a) === canonical(b);
}

/** Differences between two tuples of the same checkpoint, as short descriptions (empty: equal). */
export function compareTuples(expected: CheckpointTuple, actual: CheckpointTuple): string[] {
  const diffs: string[] = [];
  const e = expected.checkpoint;
  const a = actual.checkpoint;
  if (e.id !== a.id) diffs.push("checkpoint id");
  if (e.ts !== a.ts) diffs.push("ts");
  if (!sameValue(e.channel_versions ?? {}, a.channel_versions ?? {})) diffs.push("channel_versions");
  if (!sameValue(e.versions_seen ?? {}, a.versions_seen ?? {})) diffs.push("versions_seen");
  const ev = (e.channel_values ?? {}) as Record<string, unknown>;
  const av = (a.channel_values ?? {}) as Record<string, unknown>;
  for (const ch of new Set([...Object.keys(ev), ...Object.keys(av)])) {
    if (!sameValue(ev[ch], av[ch])) diffs.push(`channel value ${JSON.stringify(ch)}`);
  }
  if (!sameValue(expected.metadata ?? {}, actual.metadata ?? {})) diffs.push("metadata");
  if ((expected.parentConfig?.configurable?.checkpoint_id ?? null) !== (actual.parentConfig?.configurable?.checkpoint_id ?? null)) diffs.push("parent");
  // As a multiset: a source without task paths (upstream savers) cannot say in which order LangGraph
  // would have returned writes of different tasks, and LangGraph matches them to tasks by task id.
  const writes = (t: CheckpointTuple) => (t.pendingWrites ?? []).map((w) => canonical(w)).sort();
  if (!sameValue(writes(expected), writes(actual))) diffs.push("pending writes");
  return diffs;
}

async function verifyCheckpoint(src: CheckpointSource, target: PersistSaver, c: SourceCheckpoint): Promise<ImportProblem | undefined> {
  const config = c.tuple.config;
  const where = { threadId: config.configurable?.thread_id, checkpointNs: config.configurable?.checkpoint_ns ?? "", checkpointId: config.configurable?.checkpoint_id };
  const expected = (src.getTuple ? await src.getTuple(config) : undefined) ?? c.tuple;
  const actual = await target.getTuple(config);
  if (!actual) return { ...where, message: `checkpoint ${where.checkpointId} of thread ${where.threadId} is missing on the target` };
  const diffs = compareTuples(expected, actual);
  return diffs.length > 0 ? { ...where, message: `checkpoint ${where.checkpointId} of thread ${where.threadId} differs on the target: ${diffs.join(", ")}` } : undefined;
}

const nsKey = (ns: string[]) => JSON.stringify(ns);

/**
 * Imports every store item under `options.namespace` (default: all) from `source` — any `BaseStore`
 * (upstream `InMemoryStore`, an official adapter) or an `ItemSource` — into `target`, with namespace,
 * key and value; `createdAt`/`updatedAt` and the remaining TTL through `target.importItems` when the
 * target keeps timestamps (`target.capabilities.importTimestamps`), else through `put` (the target then
 * sets both to the import time: `timestampsKept` is false in the report). Items already expired in the
 * source are skipped. An item is written whole or not at all; re-running overwrites items with the
 * same values (nothing is duplicated).
 */
export async function importStore(source: BaseStore | ItemSource, target: PersistStore, options: ImportStoreOptions = {}): Promise<StoreImportReport> {
  const started = Date.now();
  const verify = options.verify ?? "sample";
  if (verify !== "sample" && verify !== "all" && verify !== "none") throw new InvalidArgumentError(SOURCE, `importStore: verify must be "sample", "all" or "none", got ${JSON.stringify(verify)}`);
  const pageSize = options.pageSize ?? 200;
  const src = isItemSource(source) ? source : storeSource(source as BaseStore, pageSize);
  const prefix = options.namespace ?? [];
  const dryRun = options.dryRun === true;
  const keep = target.capabilities.importTimestamps === true;
  const report: StoreImportReport = { dryRun, items: 0, namespaces: 0, expired: 0, bytes: 0, timestampsKept: keep, verified: 0, problems: [], seconds: 0 };
  if (!dryRun) await target.setup();
  const namespaces = new Set<string>();
  let n = 0;
  for await (const page of src.items(prefix)) {
    const now = Date.now();
    const live = page.filter((item) => {
      if (item.expiresAt != null && item.expiresAt <= now) {
        report.expired++;
        return false;
      }
      return true;
    });
    for (const item of live) {
      namespaces.add(nsKey(item.namespace));
      report.bytes += item.bytes ?? Buffer.byteLength(JSON.stringify(item.value));
    }
    if (!dryRun && live.length > 0) {
      const rows: ImportItem[] = live.map((item) => ({
        namespace: item.namespace,
        key: item.key,
        value: item.value,
        createdAt: item.createdAt,
        updatedAt: item.updatedAt,
        expiresAt: item.expiresAt ?? null,
      }));
      if (keep) await target.importItems(rows);
      else {
        await target.batch(
          rows.map((r) => ({ namespace: r.namespace, key: r.key, value: r.value, ttl: r.expiresAt != null ? Math.max((r.expiresAt - now) / 60_000, 1 / 60_000) : null })),
        );
      }
      if (verify !== "none") {
        const chosen = live.filter(() => verify === "all" || n++ % 10 === 0);
        const stored = await target.batch(chosen.map((item) => ({ namespace: item.namespace, key: item.key })));
        for (const [i, item] of chosen.entries()) {
          const expected = src.get ? await src.get(item.namespace, item.key) : item;
          const got = stored[i];
          report.verified++;
          const where = { namespace: item.namespace, key: item.key };
          const label = `${item.namespace.join("/")}/${item.key}`;
          if (!got) report.problems.push({ ...where, message: `store item ${label} is missing on the target` });
          else if (expected && !sameValue(expected.value, got.value)) report.problems.push({ ...where, message: `store item ${label} differs on the target` });
          else if (expected && keep && (got.createdAt.getTime() !== expected.createdAt.getTime() || got.updatedAt.getTime() !== expected.updatedAt.getTime())) {
            report.problems.push({ ...where, message: `store item ${label} has other timestamps on the target` });
          }
        }
      }
    }
    report.items += live.length;
    options.onProgress?.({ phase: "store", threads: 0, checkpoints: 0, writes: 0, items: report.items, bytes: report.bytes });
  }
  report.namespaces = namespaces.size;
  report.seconds = (Date.now() - started) / 1000;
  return report;
}
