import { isDeepStrictEqual } from "node:util";
import { expect } from "vitest";
import type { CheckpointListOptions, CheckpointTuple } from "@langchain/langgraph-checkpoint";
import type { PersistSaver } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { saverGroup } from "./context.js";
import { ChainWriter, collect, makeCheckpoint, makeMetadata, threadConfig, tupleIds, writesOf } from "./fixtures.js";

/** One checkpoint the matrix test put, as the model of what `list` must return. */
interface ModelRow {
  threadId: string;
  checkpointNs: string;
  checkpointId: string;
  metadata: Record<string, unknown>;
}

interface MatrixQuery {
  threadId?: string;
  checkpointNs?: string;
  limit?: number;
  before?: string;
  filter?: Record<string, unknown>;
}

const rowKey = (r: { threadId: string; checkpointNs: string; checkpointId: string }) => `${r.threadId}|${r.checkpointNs}|${r.checkpointId}`;
const tupleKey = (t: CheckpointTuple) =>
  rowKey({
    threadId: t.config.configurable?.thread_id as string,
    checkpointNs: t.config.configurable?.checkpoint_ns as string,
    checkpointId: t.config.configurable?.checkpoint_id as string,
  });

function expectedRows(rows: ModelRow[], q: MatrixQuery): string[] {
  const matching = rows
    .filter((r) => q.threadId === undefined || r.threadId === q.threadId)
    .filter((r) => q.checkpointNs === undefined || r.checkpointNs === q.checkpointNs)
    .filter((r) => q.before === undefined || r.checkpointId < q.before)
    .filter((r) => !q.filter || Object.entries(q.filter).every(([k, v]) => Object.hasOwn(r.metadata, k) && isDeepStrictEqual(r.metadata[k], v)))
    .sort((a, b) => (a.checkpointId < b.checkpointId ? 1 : a.checkpointId > b.checkpointId ? -1 : 0))
    .map(rowKey);
  return q.limit === undefined ? matching : matching.slice(0, q.limit);
}

/**
 * Puts checkpoints on two threads and three namespaces, round-robin, so ids interleave across threads
 * and namespaces. Returns the model rows.
 */
async function putMatrixData(saver: PersistSaver, suite: string): Promise<{ rows: ModelRow[]; threads: string[] }> {
  const t1 = uniqueId("list-a");
  const t2 = uniqueId("list-b");
  const plan: Array<{ writer: ChainWriter; count: number }> = [
    { writer: new ChainWriter(saver, t1, ""), count: 5 },
    { writer: new ChainWriter(saver, t1, "child:1"), count: 3 },
    { writer: new ChainWriter(saver, t2, ""), count: 4 },
    { writer: new ChainWriter(saver, t2, "child:2"), count: 2 },
  ];
  const rows: ModelRow[] = [];
  let k = 0;
  while (plan.some((p) => p.writer.ids.length < p.count)) {
    for (const p of plan) {
      if (p.writer.ids.length >= p.count) continue;
      const extra = { parity: k % 2 === 0 ? "even" : "odd", suite, k };
      const config = await p.writer.step({ set: { k }, metadata: extra });
      rows.push({
        threadId: p.writer.threadId,
        checkpointNs: p.writer.checkpointNs,
        checkpointId: config.configurable!.checkpoint_id as string,
        metadata: { ...makeMetadata(p.writer.ids.length - 1), ...extra },
      });
      k++;
    }
  }
  return { rows, threads: [t1, t2] };
}

export function listGroup(harness: SaverHarness): void {
  saverGroup(harness, "list", ({ fresh, test }) => {
    test("list - returns newest first by checkpoint id, whatever the insertion order", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const [a, b, c, d] = [makeCheckpoint(), makeCheckpoint(), makeCheckpoint(), makeCheckpoint()];
      for (const cp of [c, a, d, b]) await saver.put(threadConfig(thread), cp, makeMetadata(0), {});
      expect(tupleIds(await collect(saver.list(threadConfig(thread))))).toEqual([d.id, c.id, b.id, a.id]);
    });

    test("list - before returns only strictly older checkpoints", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.chain(4);
      const ids = chain.ids;
      expect(tupleIds(await collect(saver.list(chain.config(), { before: chain.config(ids[2]) })))).toEqual([ids[1], ids[0]]);
      expect(tupleIds(await collect(saver.list(chain.config(), { before: chain.config(ids[0]) })))).toEqual([]);
    });

    test("list - limit caps the results; no limit returns every checkpoint and 0 returns none", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.chain(5);
      const newestFirst = [...chain.ids].reverse();
      expect(tupleIds(await collect(saver.list(chain.config())))).toEqual(newestFirst);
      expect(tupleIds(await collect(saver.list(chain.config(), { limit: 1 })))).toEqual(newestFirst.slice(0, 1));
      expect(tupleIds(await collect(saver.list(chain.config(), { limit: 3 })))).toEqual(newestFirst.slice(0, 3));
      expect(tupleIds(await collect(saver.list(chain.config(), { limit: 10 })))).toEqual(newestFirst);
      expect(tupleIds(await collect(saver.list(chain.config(), { limit: 0 })))).toEqual([]);
    });

    test("list - returns newest first and honours before + limit", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.chain(5);
      const ids = chain.ids;
      expect(tupleIds(await collect(saver.list(chain.config(), { before: chain.config(ids[3]), limit: 1 })))).toEqual([ids[2]]);
      expect(tupleIds(await collect(saver.list(chain.config(), { before: chain.config(ids[4]), limit: 2 })))).toEqual([ids[3], ids[2]]);
    });

    test("list - an unknown thread yields nothing", async () => {
      const saver = await fresh();
      await new ChainWriter(saver, uniqueId()).chain(2);
      expect(await collect(saver.list(threadConfig(uniqueId())))).toEqual([]);
      expect(await collect(saver.list(threadConfig(uniqueId()), { filter: { source: "loop" } }))).toEqual([]);
    });

    test("list - a checkpoint_id in the config lists only that checkpoint", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.chain(3);
      expect(tupleIds(await collect(saver.list(chain.config(chain.ids[1]))))).toEqual([chain.ids[1]]);
    });

    test("list - listed tuples carry config, parentConfig, metadata, channel values and pending writes", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const chain = new ChainWriter(saver, thread);
      await chain.step({ set: { a: "A" }, metadata: { tag: "first" } });
      await chain.step({ set: { b: "B" }, metadata: { tag: "second" }, writes: [["a", "pending"]], taskId: "t1" });
      const [latest, first] = await collect(saver.list(threadConfig(thread)));
      expect(latest.config.configurable).toMatchObject({ thread_id: thread, checkpoint_ns: "", checkpoint_id: chain.ids[1] });
      expect(latest.parentConfig?.configurable).toEqual({ thread_id: thread, checkpoint_ns: "", checkpoint_id: chain.ids[0] });
      expect(latest.metadata).toEqual(makeMetadata(1, { tag: "second" }));
      expect(latest.checkpoint.channel_values).toEqual({ a: "A", b: "B" });
      expect(writesOf(latest)).toEqual([["t1", "a", "pending"]]);
      expect(first.parentConfig).toBeUndefined();
      expect(first.checkpoint.channel_values).toEqual({ a: "A" });
      expect(writesOf(first)).toEqual([]);
    });

    test("list - without checkpoint_ns lists every namespace of the thread", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const root = new ChainWriter(saver, thread, "");
      const child = new ChainWriter(saver, thread, "child:1");
      await root.step();
      await child.step();
      await root.step();
      const all = await collect(saver.list({ configurable: { thread_id: thread } }));
      expect(tupleIds(all)).toEqual([root.ids[1], child.ids[0], root.ids[0]]);
      expect(all.map((t) => t.config.configurable?.checkpoint_ns)).toEqual(["", "child:1", ""]);
      expect(tupleIds(await collect(saver.list(threadConfig(thread, ""))))).toEqual([root.ids[1], root.ids[0]]);
    });

    test("list - without thread_id lists every thread", async () => {
      const saver = await fresh();
      const marker = uniqueId("marker");
      const a = new ChainWriter(saver, uniqueId());
      const b = new ChainWriter(saver, uniqueId());
      await a.step({ metadata: { marker } });
      await b.step({ metadata: { marker } });
      await a.step({ metadata: { marker } });
      const listed = await collect(saver.list({}, { filter: { marker } }));
      expect(tupleIds(listed)).toEqual([a.ids[1], b.ids[0], a.ids[0]]);
      expect(listed.map((t) => t.config.configurable?.thread_id)).toEqual([a.threadId, b.threadId, a.threadId]);
      const unfiltered = new Set(tupleIds(await collect(saver.list({}))));
      for (const id of [...a.ids, ...b.ids]) expect(unfiltered.has(id), `unfiltered list contains ${id}`).toBe(true);
    });

    test("list - filter matches nested objects and arrays by deep equality, not containment", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.step({ metadata: { obj: { x: 1, y: { z: [1, 2] } }, arr: [1, 2, 3] } });
      await chain.step({ metadata: { obj: { x: 1 }, arr: [1, 2] } });
      const ids = chain.ids;
      const run = async (filter: Record<string, unknown>) => tupleIds(await collect(saver.list(chain.config(), { filter })));
      expect(await run({ obj: { x: 1, y: { z: [1, 2] } } })).toEqual([ids[0]]);
      expect(await run({ obj: { y: { z: [1, 2] }, x: 1 } }), "key order does not matter").toEqual([ids[0]]);
      expect(await run({ obj: { x: 1 } }), "a nested subset matches only the equal object").toEqual([ids[1]]);
      expect(await run({ obj: { y: { z: [1, 2] } } })).toEqual([]);
      expect(await run({ arr: [1, 2, 3] })).toEqual([ids[0]]);
      expect(await run({ arr: [1, 2] })).toEqual([ids[1]]);
      expect(await run({ arr: [2, 1] }), "array order matters").toEqual([]);
      expect(await run({ arr: [1] })).toEqual([]);
    });

    test("list - filter compares types strictly: 1 does not match \"1\" and true does not match \"true\"", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.step({ metadata: { n: 1, flag: true, s: "1" } });
      await chain.step({ metadata: { n: "1", flag: "true", s: 1 } });
      const ids = chain.ids;
      const run = async (filter: Record<string, unknown>) => tupleIds(await collect(saver.list(chain.config(), { filter })));
      expect(await run({ n: 1 })).toEqual([ids[0]]);
      expect(await run({ n: "1" })).toEqual([ids[1]]);
      expect(await run({ flag: true })).toEqual([ids[0]]);
      expect(await run({ flag: "true" })).toEqual([ids[1]]);
      expect(await run({ s: "1" })).toEqual([ids[0]]);
      expect(await run({ n: 1.5 })).toEqual([]);
    });

    test("list - filter ANDs several keys", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.step({ metadata: { source: "input" } });
      await chain.step({ metadata: { source: "loop" } });
      await chain.step({ metadata: { source: "input" } });
      await chain.step({ metadata: { source: "loop", score: 42 } });
      const ids = chain.ids;
      const run = async (filter: Record<string, unknown>) => tupleIds(await collect(saver.list(chain.config(), { filter })));
      expect(await run({ source: "input" })).toEqual([ids[2], ids[0]]);
      expect(await run({ step: 1 })).toEqual([ids[1]]);
      expect(await run({ source: "input", step: 2 })).toEqual([ids[2]]);
      expect(await run({ source: "input", step: 1 })).toEqual([]);
      expect(await run({ source: "loop", score: 42, step: 3 })).toEqual([ids[3]]);
      expect(await run({ source: "update", step: 99 })).toEqual([]);
    });

    test("list - filter on a key a checkpoint lacks does not match it, even for null", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.step({ metadata: { tag: null } });
      await chain.step({ metadata: {} });
      await chain.step({ metadata: { tag: "x" } });
      const ids = chain.ids;
      const run = async (filter: Record<string, unknown>) => tupleIds(await collect(saver.list(chain.config(), { filter })));
      expect(await run({ tag: null }), "null matches only an explicit null").toEqual([ids[0]]);
      expect(await run({ tag: "x" })).toEqual([ids[2]]);
      expect(await run({ missing: "x" })).toEqual([]);
    });

    for (const threadGiven of [true, false]) {
      for (const nsGiven of [true, false]) {
        const label = `thread ${threadGiven ? "given" : "absent"}, namespace ${nsGiven ? "given" : "absent"}`;
        test(`list - matches the model for every limit, before and filter (${label})`, async () => {
          const saver = await fresh();
          const suite = uniqueId("suite");
          const { rows, threads } = await putMatrixData(saver, suite);
          const mine = new Set(threads);
          const sortedIds = rows.map((r) => r.checkpointId).sort();
          const middle = sortedIds[Math.floor(sortedIds.length / 2)];
          const config: Record<string, unknown> = {};
          if (threadGiven) config.thread_id = threads[0];
          if (nsGiven) config.checkpoint_ns = "";
          for (const limit of [undefined, 0, 1, 3]) {
            for (const before of [undefined, middle]) {
              for (const filter of [undefined, { parity: "even", suite }]) {
                const query: MatrixQuery = {
                  threadId: threadGiven ? threads[0] : undefined,
                  checkpointNs: nsGiven ? "" : undefined,
                  limit,
                  before,
                  filter,
                };
                const what = `${label}, limit=${String(limit)}, before=${before ? "middle" : "none"}, filter=${filter ? "parity+suite" : "none"}`;
                const options: CheckpointListOptions = {};
                if (limit !== undefined) options.limit = limit;
                if (before !== undefined) options.before = threadConfig(threads[0], "", before);
                if (filter !== undefined) options.filter = filter;
                const actual = (await collect(saver.list({ configurable: config }, options))).map(tupleKey);
                const expected = expectedRows(rows, query);
                if (threadGiven) {
                  expect(actual, what).toEqual(expected);
                  continue;
                }
                // Without a thread, other tests' (older) checkpoints of a shared database may follow ours.
                const isMine = (key: string) => mine.has(key.split("|")[0]);
                const firstForeign = actual.findIndex((key) => !isMine(key));
                const ours = firstForeign === -1 ? actual : actual.slice(0, firstForeign);
                expect(ours, what).toEqual(expected);
                expect(actual.slice(ours.length).filter(isMine), `${what}: all of this suite's rows come first`).toEqual([]);
                if (limit !== undefined) expect(actual.length, `${what}: at most limit rows`).toBeLessThanOrEqual(limit);
              }
            }
          }
        });
      }
    }

    test("list - consuming only the first item of a long list works and return() closes the stream", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.chain(50);
      const newest = chain.ids[49];
      for await (const tuple of saver.list(chain.config())) {
        expect(tuple.checkpoint.id).toBe(newest);
        break;
      }
      const iterator = saver.list(chain.config());
      const first = await iterator.next();
      expect(first.done).toBe(false);
      expect((first.value as CheckpointTuple).checkpoint.id).toBe(newest);
      const closed = await iterator.return(undefined);
      expect(closed.done).toBe(true);
      expect((await iterator.next()).done, "a closed stream yields nothing more").toBe(true);
      // The saver still works after abandoned streams.
      expect((await saver.getTuple(chain.config()))?.checkpoint.id).toBe(newest);
      expect(await collect(saver.list(chain.config()))).toHaveLength(50);
    });
  });
}
