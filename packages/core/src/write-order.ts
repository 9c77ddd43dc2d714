import * as checkpoint from "@langchain/langgraph-checkpoint";

/**
 * The order of one checkpoint's pending writes: `(task_path, task_id, idx)`, the order LangGraph applies
 * a superstep's task writes in (and the order `getTuple`/`list` must return them in since
 * `@langchain/langgraph-checkpoint` 1.2). Strings compare by code point, as Python `str` does, which
 * differs from JavaScript's UTF-16 `<` for characters above U+FFFF; `idx` numerically. Writes stored
 * without a task path (graph input, `Command` updates, rows written before paths existed) have `""`
 * and come first.
 */
export type WritesSortKey = readonly [taskPath: string, taskId: string, idx: number];

/** Compares two strings by Unicode code point (an unpaired surrogate counts as its own code point). */
export function compareStringsByCodePoint(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

function localWritesSortKey(taskPath: string, taskId = "", idx = 0): WritesSortKey {
  return [taskPath, taskId, idx];
}

function localCompareWritesSortKeys(a: WritesSortKey, b: WritesSortKey): number {
  if (a[0] !== b[0]) return compareStringsByCodePoint(a[0], b[0]);
  if (a[1] !== b[1]) return compareStringsByCodePoint(a[1], b[1]);
  return a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0;
}

// Upstream's own key and comparator where the installed package has them (1.2+), so a saver cannot
// drift from the order live execution uses; the same semantics locally for 1.1.
const upstream = checkpoint as Partial<{
  writesSortKey: (taskPath: string, taskId?: string, idx?: number) => WritesSortKey;
  compareWritesSortKeys: (a: WritesSortKey, b: WritesSortKey) => number;
}>;
const hasUpstream = typeof upstream.writesSortKey === "function" && typeof upstream.compareWritesSortKeys === "function";

/** The sort key of a write: upstream `writesSortKey` when the installed checkpoint package exports it. */
export const writesSortKey: (taskPath: string, taskId?: string, idx?: number) => WritesSortKey = hasUpstream ? upstream.writesSortKey! : localWritesSortKey;

/** Compares two {@link WritesSortKey}s: upstream `compareWritesSortKeys` when the installed checkpoint package exports it. */
export const compareWritesSortKeys: (a: WritesSortKey, b: WritesSortKey) => number = hasUpstream ? upstream.compareWritesSortKeys! : localCompareWritesSortKeys;

/** What the write order reads of a stored write. */
export interface WriteOrderFields {
  taskId: string;
  idx: number;
  /** `""` (or missing, in rows older than the field) when the write was stored without a task path. */
  taskPath?: string;
}

/** A new array of `writes` in `(task_path, task_id, idx)` order (see {@link WritesSortKey}). */
export function sortWrites<T extends WriteOrderFields>(writes: readonly T[]): T[] {
  if (writes.length < 2) return writes.slice();
  const keyed = writes.map((w) => ({ key: writesSortKey(w.taskPath ?? "", w.taskId, w.idx), w }));
  keyed.sort((a, b) => compareWritesSortKeys(a.key, b.key));
  return keyed.map((k) => k.w);
}
