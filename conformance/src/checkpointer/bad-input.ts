import { expect } from "vitest";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { Checkpoint, CheckpointListOptions, PendingWrite } from "@langchain/langgraph-checkpoint";
import { InvalidArgumentError, type ListThreadsOptions, type PersistenceError, type PersistSaver, type PruneOptions } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { expectTypedError, saverGroup } from "./context.js";
import { ChainWriter, collect, makeCheckpoint, makeMetadata, snapshotThread, threadConfig, tupleIds, writesOf } from "./fixtures.js";

/** What every row runs against: a thread with two checkpoints and pending writes on its head, and an unused thread id. */
export interface BadInputFixture {
  saver: PersistSaver;
  /** A thread with checkpoints `first` and `head` (namespace ""), and one pending write on `head`. */
  thread: string;
  first: string;
  head: string;
  /** A thread id nothing was written to: rows that would create data use it, and it must stay empty. */
  other: string;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** The one expected answer to a row's input: a typed error whose message names the argument, or a result. */
export type BadInputAnswer =
  | { error: ErrorClass; names: string }
  | { returns: string; check: (value: unknown, f: BadInputFixture) => void | Promise<void>; writes?: boolean };

export interface BadInputRow {
  /** The saver method the row calls. */
  op: string;
  /** The bad (or borderline) input, in words. */
  input: string;
  call: (f: BadInputFixture) => Promise<unknown>;
  answer: BadInputAnswer;
  /** Rows of the extended operations run only on savers that declare `extendedOps`. */
  extended?: boolean;
}

const NUL = "x\u0000y";
const anyValue = <T>(v: unknown) => v as T;
const cfg = (configurable: Record<string, unknown>): RunnableConfig => ({ configurable });

function refused(op: string, input: string, call: BadInputRow["call"], names: string, error: ErrorClass = InvalidArgumentError): BadInputRow {
  return { op, input, call, answer: { error, names } };
}

function answers(op: string, input: string, call: BadInputRow["call"], returns: string, check: (value: unknown, f: BadInputFixture) => void | Promise<void>, writes = false): BadInputRow {
  return { op, input, call, answer: { returns, check, writes } };
}

const extended = (row: BadInputRow): BadInputRow => ({ ...row, extended: true });

const list = (f: BadInputFixture, config: RunnableConfig, options?: unknown) => collect(f.saver.list(config, anyValue<CheckpointListOptions>(options)));
const headIds = (f: BadInputFixture) => [f.head, f.first];
const tuple = (v: unknown) => v as Awaited<ReturnType<PersistSaver["getTuple"]>>;
const tuples = (v: unknown) => v as Awaited<ReturnType<typeof list>>;

function putInto(f: BadInputFixture, config: RunnableConfig, checkpoint: unknown): Promise<unknown> {
  return f.saver.put(config, anyValue<Checkpoint>(checkpoint), makeMetadata(0), {});
}

function writeTo(f: BadInputFixture, writes: unknown, taskId: unknown, config?: RunnableConfig): Promise<unknown> {
  return f.saver.putWrites(config ?? threadConfig(f.thread, "", f.head), anyValue<PendingWrite[]>(writes), anyValue<string>(taskId));
}

function history(f: BadInputFixture, options: unknown): Promise<unknown> {
  return f.saver.getDeltaChannelHistory(anyValue<{ config: RunnableConfig; channels: string[] }>(options));
}

function checkpointWithout(field: "id", value?: unknown): Checkpoint {
  const cp = makeCheckpoint() as unknown as Record<string, unknown>;
  if (value === undefined) delete cp[field];
  else cp[field] = value;
  return cp as unknown as Checkpoint;
}

/**
 * The checkpointer's bad-input table: one row per (operation, input) with the one answer every backend
 * gives. Inputs a caller can get wrong are refused with `InvalidArgumentError` before anything is read or
 * written, and the message names the argument; borderline inputs with a defined meaning (an empty
 * `checkpoint_id` is "the latest", a `null` filter is no filter) have their result here.
 */
export const CHECKPOINTER_BAD_INPUT: readonly BadInputRow[] = [
  // getTuple(config)
  answers("getTuple", "a config without configurable", (f) => f.saver.getTuple({}), "undefined", (v) => expect(v).toBeUndefined()),
  refused("getTuple", "an empty thread_id", (f) => f.saver.getTuple(cfg({ thread_id: "" })), "thread_id"),
  refused("getTuple", "an object thread_id", (f) => f.saver.getTuple(cfg({ thread_id: { id: f.thread } })), "thread_id"),
  refused("getTuple", "a boolean thread_id", (f) => f.saver.getTuple(cfg({ thread_id: true })), "thread_id"),
  refused("getTuple", "a NaN thread_id", (f) => f.saver.getTuple(cfg({ thread_id: Number.NaN })), "thread_id"),
  refused("getTuple", "a NUL in thread_id", (f) => f.saver.getTuple(cfg({ thread_id: `${f.thread}${NUL}` })), "thread_id"),
  refused("getTuple", "an object checkpoint_id", (f) => f.saver.getTuple(cfg({ thread_id: f.thread, checkpoint_id: { id: f.head } })), "checkpoint_id"),
  refused("getTuple", "a NUL in checkpoint_id", (f) => f.saver.getTuple(cfg({ thread_id: f.thread, checkpoint_id: `${f.head}${NUL}` })), "checkpoint_id"),
  answers("getTuple", "an empty checkpoint_id", (f) => f.saver.getTuple(cfg({ thread_id: f.thread, checkpoint_id: "" })), "the latest checkpoint", (v, f) => expect(tuple(v)?.checkpoint.id).toBe(f.head)),
  answers("getTuple", "an unknown checkpoint_id", (f) => f.saver.getTuple(cfg({ thread_id: f.thread, checkpoint_id: "no-such-checkpoint" })), "undefined", (v) => expect(v).toBeUndefined()),
  refused("getTuple", "a number checkpoint_ns", (f) => f.saver.getTuple(cfg({ thread_id: f.thread, checkpoint_ns: 5 })), "checkpoint_ns"),
  refused("getTuple", "an object checkpoint_ns", (f) => f.saver.getTuple(cfg({ thread_id: f.thread, checkpoint_ns: {} })), "checkpoint_ns"),
  answers("getTuple", "a null checkpoint_ns", (f) => f.saver.getTuple(cfg({ thread_id: f.thread, checkpoint_ns: null })), "the latest checkpoint of namespace ''", (v, f) => expect(tuple(v)?.checkpoint.id).toBe(f.head)),

  // list(config, options)
  refused("list", "a negative limit", (f) => list(f, threadConfig(f.thread), { limit: -1 }), "limit"),
  refused("list", "a fractional limit", (f) => list(f, threadConfig(f.thread), { limit: 1.5 }), "limit"),
  refused("list", "a NaN limit", (f) => list(f, threadConfig(f.thread), { limit: Number.NaN }), "limit"),
  refused("list", "an infinite limit", (f) => list(f, threadConfig(f.thread), { limit: Number.POSITIVE_INFINITY }), "limit"),
  refused("list", "a string limit", (f) => list(f, threadConfig(f.thread), { limit: "1" }), "limit"),
  answers("list", "a limit of 0", (f) => list(f, threadConfig(f.thread), { limit: 0 }), "[]", (v) => expect(v).toEqual([])),
  refused("list", "a string filter", (f) => list(f, threadConfig(f.thread), { filter: "source" }), "filter"),
  refused("list", "an array filter", (f) => list(f, threadConfig(f.thread), { filter: [] }), "filter"),
  refused("list", "a number filter", (f) => list(f, threadConfig(f.thread), { filter: 5 }), "filter"),
  refused("list", "a Map filter", (f) => list(f, threadConfig(f.thread), { filter: new Map([["source", "loop"]]) }), "filter"),
  answers("list", "a null filter", (f) => list(f, threadConfig(f.thread), { filter: null }), "every checkpoint", (v, f) => expect(tupleIds(tuples(v))).toEqual(headIds(f))),
  refused("list", "a string before (not a config)", (f) => list(f, threadConfig(f.thread), { before: f.head }), "before"),
  refused("list", "a before whose checkpoint_id is an object", (f) => list(f, threadConfig(f.thread), { before: cfg({ checkpoint_id: { id: f.head } }) }), "before"),
  refused("list", "a NUL in before's checkpoint_id", (f) => list(f, threadConfig(f.thread), { before: cfg({ checkpoint_id: NUL }) }), "before"),
  answers("list", "a before without checkpoint_id", (f) => list(f, threadConfig(f.thread), { before: {} }), "every checkpoint", (v, f) => expect(tupleIds(tuples(v))).toEqual(headIds(f))),
  refused("list", "an empty thread_id", (f) => list(f, cfg({ thread_id: "" })), "thread_id"),
  refused("list", "an object thread_id", (f) => list(f, cfg({ thread_id: {} })), "thread_id"),
  refused("list", "a NUL in thread_id", (f) => list(f, cfg({ thread_id: `${f.thread}${NUL}` })), "thread_id"),
  refused("list", "an object checkpoint_id", (f) => list(f, cfg({ thread_id: f.thread, checkpoint_id: {} })), "checkpoint_id"),
  refused("list", "a number checkpoint_ns", (f) => list(f, cfg({ thread_id: f.thread, checkpoint_ns: 5 })), "checkpoint_ns"),

  // put(config, checkpoint, metadata, newVersions)
  refused("put", "a config without thread_id", (f) => putInto(f, cfg({ checkpoint_ns: "" }), makeCheckpoint()), "thread_id"),
  refused("put", "an empty thread_id", (f) => putInto(f, cfg({ thread_id: "" }), makeCheckpoint()), "thread_id"),
  refused("put", "an object thread_id", (f) => putInto(f, cfg({ thread_id: { id: f.other } }), makeCheckpoint()), "thread_id"),
  refused("put", "a NUL in thread_id", (f) => putInto(f, threadConfig(`${f.other}${NUL}`), makeCheckpoint()), "thread_id"),
  refused("put", "a checkpoint without id", (f) => putInto(f, threadConfig(f.other), checkpointWithout("id")), "checkpoint.id"),
  refused("put", "a checkpoint with an empty id", (f) => putInto(f, threadConfig(f.other), checkpointWithout("id", "")), "checkpoint.id"),
  refused("put", "a checkpoint with an object id", (f) => putInto(f, threadConfig(f.other), checkpointWithout("id", { id: "1" })), "checkpoint.id"),
  refused("put", "no checkpoint", (f) => putInto(f, threadConfig(f.other), undefined), "checkpoint"),
  refused("put", "a number checkpoint_ns", (f) => putInto(f, cfg({ thread_id: f.other, checkpoint_ns: 5 }), makeCheckpoint()), "checkpoint_ns"),
  refused("put", "an object parent checkpoint_id", (f) => putInto(f, cfg({ thread_id: f.other, checkpoint_ns: "", checkpoint_id: {} }), makeCheckpoint()), "checkpoint_id"),
  refused("put", "a NUL in the parent checkpoint_id", (f) => putInto(f, threadConfig(f.other, "", NUL), makeCheckpoint()), "checkpoint_id"),

  // putWrites(config, writes, taskId)
  refused("putWrites", "a string as writes", (f) => writeTo(f, "ab", "task-bad"), "writes"),
  refused("putWrites", "an object as writes", (f) => writeTo(f, { a: 1 }, "task-bad"), "writes"),
  refused("putWrites", "null as writes", (f) => writeTo(f, null, "task-bad"), "writes"),
  refused("putWrites", "a write that is not a [channel, value] pair", (f) => writeTo(f, [["a", 1], "ab"], "task-bad"), "writes"),
  refused("putWrites", "a null write", (f) => writeTo(f, [["a", 1], null], "task-bad"), "writes"),
  refused("putWrites", "a number channel", (f) => writeTo(f, [["a", 1], [5, 1]], "task-bad"), "channel"),
  refused("putWrites", "an empty channel", (f) => writeTo(f, [["a", 1], ["", 1]], "task-bad"), "channel"),
  refused("putWrites", "a NUL in a channel", (f) => writeTo(f, [["a", 1], [`a${NUL}`, 1]], "task-bad"), "channel"),
  refused("putWrites", "an empty taskId", (f) => writeTo(f, [["a", 1]], ""), "taskId"),
  refused("putWrites", "no taskId", (f) => writeTo(f, [["a", 1]], undefined), "taskId"),
  refused("putWrites", "an object taskId", (f) => writeTo(f, [["a", 1]], { id: "t" }), "taskId"),
  refused("putWrites", "a NUL in taskId", (f) => writeTo(f, [["a", 1]], `t${NUL}`), "taskId"),
  answers(
    "putWrites",
    "a number taskId",
    (f) => writeTo(f, [["a", "by-number"]], 7),
    "stored under the taskId '7'",
    async (_v, f) => {
      const read = await f.saver.getTuple(threadConfig(f.thread, "", f.head));
      expect(writesOf(read)).toContainEqual(["7", "a", "by-number"]);
    },
    true,
  ),
  refused("putWrites", "a config without checkpoint_id", (f) => writeTo(f, [["a", 1]], "task", threadConfig(f.thread)), "checkpoint_id"),
  refused("putWrites", "an object checkpoint_id", (f) => writeTo(f, [["a", 1]], "task", cfg({ thread_id: f.thread, checkpoint_ns: "", checkpoint_id: {} })), "checkpoint_id"),
  refused("putWrites", "a config without thread_id", (f) => writeTo(f, [["a", 1]], "task", cfg({ checkpoint_ns: "", checkpoint_id: f.head })), "thread_id"),
  refused("putWrites", "a number checkpoint_ns", (f) => writeTo(f, [["a", 1]], "task", cfg({ thread_id: f.thread, checkpoint_ns: 5, checkpoint_id: f.head })), "checkpoint_ns"),

  // deleteThread(threadId)
  refused("deleteThread", "an empty thread id", (f) => f.saver.deleteThread(""), "threadId"),
  refused("deleteThread", "no thread id", (f) => f.saver.deleteThread(anyValue<string>(undefined)), "threadId"),
  refused("deleteThread", "an object thread id", (f) => f.saver.deleteThread(anyValue<string>({ id: f.thread })), "threadId"),
  refused("deleteThread", "a NUL in the thread id", (f) => f.saver.deleteThread(`${f.thread}${NUL}`), "threadId"),

  // getDeltaChannelHistory({ config, channels })
  refused("getDeltaChannelHistory", "no options", (f) => history(f, undefined), "options"),
  refused("getDeltaChannelHistory", "a string as channels", (f) => history(f, { config: threadConfig(f.thread, "", f.head), channels: "a" }), "channels"),
  refused("getDeltaChannelHistory", "no channels", (f) => history(f, { config: threadConfig(f.thread, "", f.head) }), "channels"),
  refused("getDeltaChannelHistory", "a number channel", (f) => history(f, { config: threadConfig(f.thread, "", f.head), channels: ["a", 5] }), "channels"),
  refused("getDeltaChannelHistory", "a NUL in thread_id", (f) => history(f, { config: threadConfig(`${f.thread}${NUL}`, "", f.head), channels: ["a"] }), "thread_id"),
  refused("getDeltaChannelHistory", "an object thread_id", (f) => history(f, { config: cfg({ thread_id: {} }), channels: ["a"] }), "thread_id"),
  refused("getDeltaChannelHistory", "an object checkpoint_id", (f) => history(f, { config: cfg({ thread_id: f.thread, checkpoint_id: {} }), channels: ["a"] }), "checkpoint_id"),
  refused("getDeltaChannelHistory", "a number checkpoint_ns", (f) => history(f, { config: cfg({ thread_id: f.thread, checkpoint_ns: 5 }), channels: ["a"] }), "checkpoint_ns"),
  answers("getDeltaChannelHistory", "a config without thread_id", (f) => history(f, { config: {}, channels: ["a"] }), "an empty history per channel", (v) => expect(v).toEqual({ a: { writes: [] } })),

  // copyThread(source, target)
  extended(refused("copyThread", "an empty source", (f) => f.saver.copyThread("", f.other), "sourceThreadId")),
  extended(refused("copyThread", "an object source", (f) => f.saver.copyThread(anyValue<string>({ id: f.thread }), f.other), "sourceThreadId")),
  extended(refused("copyThread", "no target", (f) => f.saver.copyThread(f.thread, anyValue<string>(undefined)), "targetThreadId")),
  extended(refused("copyThread", "a NUL in the target", (f) => f.saver.copyThread(f.thread, `${f.other}${NUL}`), "targetThreadId")),
  extended(refused("copyThread", "the source as target", (f) => f.saver.copyThread(f.thread, f.thread), "target")),

  // prune(threadIds, options)
  extended(refused("prune", "an unknown strategy", (f) => f.saver.prune([f.thread], anyValue<PruneOptions>({ strategy: "keep_none" })), "strategy")),
  extended(refused("prune", "a string as options", (f) => f.saver.prune([f.thread], anyValue<PruneOptions>("delete")), "options")),
  extended(refused("prune", "a string as threadIds", (f) => f.saver.prune(anyValue<string[]>(f.thread), { strategy: "delete" }), "threadIds")),
  extended(refused("prune", "an empty thread id among valid ones", (f) => f.saver.prune([f.thread, ""], { strategy: "delete" }), "threadId")),
  extended(refused("prune", "an object thread id among valid ones", (f) => f.saver.prune([f.thread, anyValue<string>({})], { strategy: "keep_latest" }), "threadId")),

  // deleteForRuns(runIds)
  extended(refused("deleteForRuns", "a string as runIds", (f) => f.saver.deleteForRuns(anyValue<string[]>("run-1")), "runIds")),
  extended(refused("deleteForRuns", "an empty run id", (f) => f.saver.deleteForRuns(["run-1", ""]), "runId")),
  extended(refused("deleteForRuns", "an object run id", (f) => f.saver.deleteForRuns(anyValue<string[]>([{}])), "runId")),
  extended(refused("deleteForRuns", "a NUL in a run id", (f) => f.saver.deleteForRuns([`run${NUL}`]), "runId")),

  // listThreads(options)
  extended(refused("listThreads", "a negative limit", (f) => f.saver.listThreads({ limit: -1 }), "limit")),
  extended(refused("listThreads", "a fractional limit", (f) => f.saver.listThreads({ limit: 2.5 }), "limit")),
  extended(refused("listThreads", "a NaN limit", (f) => f.saver.listThreads({ limit: Number.NaN }), "limit")),
  extended(refused("listThreads", "a string limit", (f) => f.saver.listThreads(anyValue<ListThreadsOptions>({ limit: "5" })), "limit")),
  extended(answers("listThreads", "a limit of 0", (f) => f.saver.listThreads({ limit: 0 }), "[]", (v) => expect(v).toEqual([]))),
  extended(refused("listThreads", "a string filter", (f) => f.saver.listThreads(anyValue<ListThreadsOptions>({ filter: "source" })), "filter")),
  extended(refused("listThreads", "an array filter", (f) => f.saver.listThreads(anyValue<ListThreadsOptions>({ filter: [] })), "filter")),
  extended(refused("listThreads", "an object before", (f) => f.saver.listThreads(anyValue<ListThreadsOptions>({ before: { id: f.head } })), "before")),
  extended(refused("listThreads", "an empty before", (f) => f.saver.listThreads({ before: "" }), "before")),
  extended(refused("listThreads", "a string as options", (f) => f.saver.listThreads(anyValue<ListThreadsOptions>("all")), "options")),
];

function describeAnswer(answer: BadInputAnswer): string {
  return "error" in answer ? `${answer.error.name} naming ${answer.names}` : `returns ${answer.returns}`;
}

/**
 * Bad input to every checkpointer operation, as a table (`CHECKPOINTER_BAD_INPUT`): each row is one test
 * that asserts the row's answer (the error class, that it is a `PersistenceError` of this saver, and that
 * its message names the argument; or the result), and that the fixture thread reads back unchanged and
 * the unused thread stays empty.
 */
export function badInputGroup(harness: SaverHarness): void {
  saverGroup(harness, "bad input", ({ fresh, test, caps }) => {
    for (const row of CHECKPOINTER_BAD_INPUT) {
      test(
        `bad input - ${row.op}: ${row.input} → ${describeAnswer(row.answer)}`,
        async () => {
          const saver = await fresh();
          const chain = new ChainWriter(saver, uniqueId());
          await chain.step({ set: { a: "a0" } });
          await chain.step({ set: { a: "a1", b: "b1" }, writes: [["a", "pending"]], taskId: "task-1" });
          const f: BadInputFixture = { saver, thread: chain.threadId, first: chain.ids[0], head: chain.ids[1], other: uniqueId() };
          const before = await snapshotThread(saver, f.thread);
          const what = `${row.op} with ${row.input}`;

          if ("error" in row.answer) {
            const err = await expectTypedError(() => row.call(f), row.answer.error, what);
            const source = (saver as unknown as { source: string }).source;
            expect((err as PersistenceError).source, `${what}: raised by the saver's package`).toBe(source);
            expect(err.message, `${what}: the message names ${row.answer.names}`).toContain(row.answer.names);
          } else {
            await row.answer.check(await row.call(f), f);
          }

          if (!("error" in row.answer) && row.answer.writes) return;
          expect(await snapshotThread(saver, f.thread), `${what}: the thread reads back unchanged`).toEqual(before);
          expect(await collect(saver.list(threadConfig(f.other))), `${what}: nothing is written to another thread`).toEqual([]);
        },
        row.extended ? { requires: [["extendedOps", caps.extendedOps]] } : {},
      );
    }
  });
}
