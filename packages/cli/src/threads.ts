import type { ChannelVersions, PendingWrite } from "@langchain/langgraph-checkpoint";
import type { PersistSaver, ThreadInfo } from "@langgraph-persist/core";

/**
 * Every thread of a saver, newest latest-checkpoint first, read page by page from `listThreads`.
 * Threads can share their latest checkpoint id (`copyThread` keeps ids), so each page asks for ids
 * up to and including the last one seen and drops threads already returned; a strict `before` could
 * skip a thread that ties with the end of a page.
 */
export async function* allThreads(saver: PersistSaver, pageSize = 200): AsyncGenerator<ThreadInfo> {
  const seen = new Set<string>();
  let before: string | undefined;
  let limit = pageSize;
  while (true) {
    const page = await saver.listThreads({ limit, before });
    let fresh = 0;
    for (const t of page) {
      if (seen.has(t.threadId)) continue;
      seen.add(t.threadId);
      fresh++;
      yield t;
    }
    if (page.length < limit) return;
    const last = page[page.length - 1].checkpointId;
    if (fresh === 0) {
      // A whole page tied on one id: widen the page rather than skip threads.
      if (limit < 100_000) limit *= 2;
      else before = last;
      continue;
    }
    // "\u0001" sorts right after the id and before any longer id, so `< last + "\u0001"` means `<= last`.
    before = `${last}\u0001`;
    limit = pageSize;
  }
}

/** One checkpoint of a thread, as the copy and inspect commands need it (no channel values). */
export interface CheckpointRef {
  ns: string;
  id: string;
  parentId: string | undefined;
  writes: number;
}

export const refKey = (ns: string, id: string): string => `${ns}\u0000${id}`;

/** The checkpoints of one thread in every namespace, streamed from `list()` and kept without their values. */
export async function checkpointRefs(saver: PersistSaver, threadId: string): Promise<CheckpointRef[]> {
  const refs: CheckpointRef[] = [];
  for await (const t of saver.list({ configurable: { thread_id: threadId } })) {
    const c = t.config.configurable ?? {};
    refs.push({
      ns: String(c.checkpoint_ns ?? ""),
      id: String(c.checkpoint_id),
      parentId: t.parentConfig?.configurable?.checkpoint_id as string | undefined,
      writes: t.pendingWrites?.length ?? 0,
    });
  }
  return refs;
}

/** Orders checkpoints oldest first with every parent before its children (ids are time-ordered UUIDv6). */
export function parentsFirst(refs: CheckpointRef[]): CheckpointRef[] {
  const byKey = new Map(refs.map((r) => [refKey(r.ns, r.id), r]));
  const sorted = [...refs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
  const out: CheckpointRef[] = [];
  const placed = new Set<string>();
  const place = (r: CheckpointRef, depth: number) => {
    const k = refKey(r.ns, r.id);
    if (placed.has(k)) return;
    placed.add(k);
    const parent = r.parentId !== undefined ? byKey.get(refKey(r.ns, r.parentId)) : undefined;
    if (parent && depth < 10_000) place(parent, depth + 1);
    out.push(r);
  };
  for (const r of sorted) place(r, 0);
  return out;
}

export interface ThreadCopyResult {
  checkpoints: number;
  /** Checkpoints the target already had (a re-run), left as they are. */
  skipped: number;
  writes: number;
}

/**
 * Copies one thread — every checkpoint of every namespace with its metadata, channel values and
 * pending writes (with their task paths) — through the public saver API, so any backend can be the
 * source or the target. Parents are written before children, and each `put` declares as new only the
 * channels whose version differs from the parent's, exactly as LangGraph does when it runs the graph:
 * the target's blob layout (including append-only deltas) comes out as if the thread had been run there.
 * Checkpoints the target already holds are not rewritten; pending writes are insert-if-absent; so a
 * re-run (also after an interrupted copy) completes the thread without duplicating anything.
 */
export async function copyThreadAcross(
  source: PersistSaver,
  target: PersistSaver,
  threadId: string,
  onCheckpoint: (writes: number) => void = () => {},
): Promise<ThreadCopyResult> {
  const refs = parentsFirst(await checkpointRefs(source, threadId));
  const existing = new Set((await checkpointRefs(target, threadId)).map((r) => refKey(r.ns, r.id)));
  const versions = new Map<string, ChannelVersions>();
  const result: ThreadCopyResult = { checkpoints: 0, skipped: 0, writes: 0 };
  for (const ref of refs) {
    const config = { configurable: { thread_id: threadId, checkpoint_ns: ref.ns, checkpoint_id: ref.id } };
    const read = await source.getTupleWithWriteKeys(config);
    if (!read) continue; // deleted while we were copying
    const { tuple, writeKeys } = read;
    const key = refKey(ref.ns, ref.id);
    const channelVersions = tuple.checkpoint.channel_versions ?? {};
    if (existing.has(key)) {
      result.skipped++;
    } else {
      const parentVersions = ref.parentId !== undefined ? versions.get(refKey(ref.ns, ref.parentId)) : undefined;
      const newVersions: ChannelVersions = {};
      for (const [channel, version] of Object.entries(channelVersions)) {
        if (parentVersions === undefined || parentVersions[channel] !== version) newVersions[channel] = version;
      }
      const parentConfig = { configurable: { thread_id: threadId, checkpoint_ns: ref.ns, ...(ref.parentId !== undefined ? { checkpoint_id: ref.parentId } : {}) } };
      await target.put(parentConfig, tuple.checkpoint, tuple.metadata!, newVersions);
    }
    versions.set(key, channelVersions);
    // One putWrites per task and task path (the path orders the writes on the target as on the source);
    // special channels (negative index) apart, so the others get back their positions 0, 1, ….
    const byTask = new Map<string, { taskId: string; taskPath: string; writes: PendingWrite[] }>();
    (tuple.pendingWrites ?? []).forEach(([taskId, channel, value], i) => {
      const { taskPath, idx } = writeKeys[i];
      const group = JSON.stringify([taskId, taskPath, idx < 0]);
      let entry = byTask.get(group);
      if (!entry) byTask.set(group, (entry = { taskId, taskPath, writes: [] }));
      entry.writes.push([channel, value]);
    });
    for (const { taskId, taskPath, writes } of byTask.values()) await target.putWrites(config, writes, taskId, taskPath);
    result.checkpoints++;
    result.writes += tuple.pendingWrites?.length ?? 0;
    onCheckpoint(tuple.pendingWrites?.length ?? 0);
  }
  return result;
}

export interface ThreadVerification {
  /** Source checkpoints missing on the target. */
  missing: number;
  /** Source checkpoints whose pending writes the target has fewer of. */
  missingWrites: number;
  /** Checkpoints only the target has (it was written to independently). */
  extra: number;
}

/** Compares a thread on both sides: every source checkpoint and pending write must be on the target. */
export async function verifyThread(source: PersistSaver, target: PersistSaver, threadId: string): Promise<ThreadVerification> {
  const [src, dst] = await Promise.all([checkpointRefs(source, threadId), checkpointRefs(target, threadId)]);
  const dstByKey = new Map(dst.map((r) => [refKey(r.ns, r.id), r]));
  const srcKeys = new Set(src.map((r) => refKey(r.ns, r.id)));
  let missing = 0;
  let missingWrites = 0;
  for (const r of src) {
    const d = dstByKey.get(refKey(r.ns, r.id));
    if (!d) missing++;
    else if (d.writes < r.writes) missingWrites++;
  }
  return { missing, missingWrites, extra: dst.filter((r) => !srcKeys.has(refKey(r.ns, r.id))).length };
}
