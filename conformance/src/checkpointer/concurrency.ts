import { expect } from "vitest";
import type { PersistSaver } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { saverGroup } from "./context.js";
import { ChainWriter, collect, makeCheckpoint, makeMetadata, threadConfig, tupleIds, writesOf } from "./fixtures.js";

async function writeThread(saver: PersistSaver, threadId: string, steps: number): Promise<ChainWriter> {
  const chain = new ChainWriter(saver, threadId);
  for (let i = 0; i < steps; i++) {
    await chain.step({ set: { step: i, [`only-${i}`]: `${threadId}/${i}` }, writes: [["step", `${threadId}/w${i}`]], taskId: `task-${i}` });
  }
  return chain;
}

async function expectThread(saver: PersistSaver, chain: ChainWriter): Promise<void> {
  const listed = await collect(saver.list(chain.config()));
  expect(tupleIds(listed), chain.threadId).toEqual([...chain.ids].reverse());
  for (const tuple of listed) {
    const id = tuple.checkpoint.id;
    const i = chain.ids.indexOf(id);
    expect(tuple.checkpoint.channel_values, `${chain.threadId} checkpoint ${i}`).toEqual(chain.valuesAt(id));
    expect(writesOf(tuple), `${chain.threadId} writes ${i}`).toEqual([[`task-${i}`, "step", `${chain.threadId}/w${i}`]]);
    expect(tuple.parentConfig?.configurable?.checkpoint_id).toBe(i === 0 ? undefined : chain.ids[i - 1]);
  }
}

export function concurrencyGroup(harness: SaverHarness): void {
  saverGroup(harness, "concurrency", ({ fresh, peer, test }) => {
    test("concurrency - setup() on ten fresh instances at once all resolve", async () => {
      const savers = await Promise.all(Array.from({ length: 10 }, () => peer()));
      await Promise.all(savers.map((s) => s.setup()));
      const thread = uniqueId();
      await Promise.all(savers.map((s, i) => new ChainWriter(s, `${thread}-${i}`).step({ set: { i } })));
      for (let i = 0; i < savers.length; i++) {
        expect((await savers[i].getTuple(threadConfig(`${thread}-${i}`)))?.checkpoint.channel_values).toEqual({ i });
      }
    });

    test("concurrency - twenty threads written in parallel all read back correctly", async () => {
      const saver = await fresh();
      const base = uniqueId();
      const chains = await Promise.all(Array.from({ length: 20 }, (_, i) => writeThread(saver, `${base}-${i}`, 4)));
      for (const chain of chains) await expectThread(saver, chain);
    });

    test(
      "concurrency - a second saver continues a thread the first one wrote, growing array channels included",
      async () => {
        const first = await fresh();
        const second = await peer();
        const thread = uniqueId();
        const a = new ChainWriter(first, thread);
        await a.step({ set: { messages: ["m0"] } });
        await a.step({ set: { messages: ["m0", "m1"] } });
        // The second saver starts from what it reads, as a new process would.
        const head = await second.getTuple(threadConfig(thread));
        expect(head?.checkpoint.channel_values).toEqual({ messages: ["m0", "m1"] });
        const versions = head!.checkpoint.channel_versions;
        const next = second.getNextVersion(versions.messages);
        const cp = makeCheckpoint({ values: { messages: ["m0", "m1", "m2"] }, versions: { ...versions, messages: next } });
        await second.put(head!.config, cp, makeMetadata(2), { messages: next });
        for (const reader of [first, second]) {
          const tuples = await collect(reader.list(threadConfig(thread)));
          expect(tuples.map((t) => t.checkpoint.channel_values.messages)).toEqual([["m0", "m1", "m2"], ["m0", "m1"], ["m0"]]);
        }
        // And the first saver continues after the second.
        const v3 = first.getNextVersion(next);
        const cp3 = makeCheckpoint({ values: { messages: ["m0", "m1", "m2", "m3"] }, versions: { messages: v3 } });
        await first.put(threadConfig(thread, "", cp.id), cp3, makeMetadata(3), { messages: v3 });
        expect((await second.getTuple(threadConfig(thread)))?.checkpoint.channel_values).toEqual({ messages: ["m0", "m1", "m2", "m3"] });
      },
      { requires: [["createPeer", harness.createPeer !== undefined]] },
    );

    test("concurrency - concurrent writes to one thread from two savers all land", async () => {
      const saver = await fresh();
      // A peer on the same data when the harness has one; otherwise one saver takes both roles.
      const other = harness.createPeer ? await peer() : saver;
      const thread = uniqueId();
      const [a, b] = [new ChainWriter(saver, thread), new ChainWriter(other, thread)];
      const root = await a.step({ set: { shared: "root" } });
      const branch = (w: ChainWriter, name: string) =>
        (async () => {
          for (let i = 0; i < 5; i++) {
            const config = await w.step({ parent: i === 0 ? a.ids[0] : undefined, set: { [name]: i } });
            await w.saver.putWrites(config, [[name, `w${i}`]], `task-${name}`);
            await w.saver.putWrites(root, [[`${name}-on-root-${i}`, i]], `task-${name}-${i}`);
          }
        })();
      await Promise.all([branch(a, "a"), branch(b, "b")]);
      for (const reader of [saver, other]) {
        const listed = await collect(reader.list(threadConfig(thread)));
        const expectedIds = [...a.ids, ...b.ids].sort().reverse();
        expect(tupleIds(listed)).toEqual(expectedIds);
        for (const tuple of listed) {
          const writer = a.checkpoints.has(tuple.checkpoint.id) ? a : b;
          expect(tuple.checkpoint.channel_values).toEqual(writer.valuesAt(tuple.checkpoint.id));
          if (tuple.checkpoint.id === root.configurable?.checkpoint_id) continue;
          const name = writer === a ? "a" : "b";
          const i = writer.ids.indexOf(tuple.checkpoint.id) - (writer === a ? 1 : 0);
          expect(writesOf(tuple)).toEqual([[`task-${name}`, name, `w${i}`]]);
        }
        const rootWrites = writesOf(await reader.getTuple(root));
        expect(rootWrites).toHaveLength(10);
      }
    });
  });
}
