import { expect } from "vitest";
import { AIMessage, HumanMessage, SystemMessage, type BaseMessage } from "@langchain/core/messages";
import { PersistSerializer, type PersistSaver } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { saverGroup } from "./context.js";
import { ChainWriter, collect, threadConfig, tupleIds } from "./fixtures.js";

/** Chains this short make every test cross several full snapshots. */
const SHORT = { snapshotEvery: 3 };

const m = (i: number | string) => ({ role: typeof i === "number" && i % 2 ? "ai" : "user", content: `message ${i}`, meta: { i } });

/** Every checkpoint the writer put reads back with exactly its values, by getTuple and by list, from every reader. */
async function expectAllReadBack(chain: ChainWriter, readers: PersistSaver[], ids = chain.ids): Promise<void> {
  for (const reader of readers) {
    for (const id of ids) {
      const tuple = await reader.getTuple(chain.config(id));
      expect(tuple?.checkpoint.channel_values, `getTuple of checkpoint ${chain.ids.indexOf(id)}`).toEqual(chain.valuesAt(id));
    }
    const listed = await collect(reader.list(chain.config()));
    for (const tuple of listed) {
      if (ids.includes(tuple.checkpoint.id)) expect(tuple.checkpoint.channel_values, `list, checkpoint ${chain.ids.indexOf(tuple.checkpoint.id)}`).toEqual(chain.valuesAt(tuple.checkpoint.id));
    }
  }
}

/** Every checkpoint in `expected` reads back exactly those `messages` (class instances included), by getTuple and by list. */
async function expectMessages(chain: ChainWriter, expected: ReadonlyMap<string, unknown>, readers: PersistSaver[]): Promise<void> {
  for (const reader of readers) {
    for (const [id, messages] of expected) {
      const tuple = await reader.getTuple(chain.config(id));
      expect(tuple?.checkpoint.channel_values.messages, `checkpoint ${chain.ids.indexOf(id)}`).toStrictEqual(messages);
    }
    for (const tuple of await collect(reader.list(chain.config()))) {
      expect(tuple.checkpoint.channel_values.messages, `list, checkpoint ${chain.ids.indexOf(tuple.checkpoint.id)}`).toStrictEqual(expected.get(tuple.checkpoint.id));
    }
  }
}

/** Appends one message per step to `messages`, starting from `from` messages. */
async function grow(chain: ChainWriter, steps: number, from = 0, extra: (i: number) => Record<string, unknown> = () => ({})): Promise<void> {
  for (let i = from; i < from + steps; i++) {
    await chain.step({ set: { messages: Array.from({ length: i + 1 }, (_, k) => m(k)), ...extra(i) } });
  }
}

/**
 * Linear storage: array channels that only grow are stored as deltas chained to a full snapshot, and a
 * checkpoint references one key per channel. These tests use `snapshotEvery: 3`, so every thread crosses
 * several snapshots, and check that reads, forks, other instances and every extended operation see whole
 * values, whatever part of a chain was written, pruned or copied.
 */
export function linearStorageGroup(harness: SaverHarness): void {
  saverGroup(harness, "linear storage", ({ fresh, peer, test, caps }) => {
    const extended: Array<[string, boolean]> = [["extendedOps", caps.extendedOps]];
    // Readers on the same data: this saver, plus cold instances where the harness can open them.
    const sharesData = caps.multiProcess || harness.createPeer !== undefined;
    const readers = async (saver: PersistSaver, ...options: Array<Parameters<typeof peer>[0]>): Promise<PersistSaver[]> =>
      sharesData ? [saver, ...(await Promise.all(options.map((o) => peer(o))))] : [saver];

    test("linear storage - the harness passes linearStorage options to the saver", async () => {
      const saver = await fresh({ linearStorage: SHORT });
      expect(saver.linearStorage.snapshotEvery).toBe(3);
      expect(saver.linearStorage.enabled).toBe(true);
      expect((await fresh()).linearStorage.snapshotEvery, "default").toBeGreaterThanOrEqual(32);
    });

    test("linear storage - a channel appended to across several snapshots reads back at every checkpoint, from a cold instance too", async () => {
      const saver = await fresh({ linearStorage: SHORT });
      const chain = new ChainWriter(saver, uniqueId());
      await grow(chain, 14, 0, (i) => (i % 4 === 0 ? { other: `o${i}` } : {}));
      await expectAllReadBack(chain, await readers(saver, { linearStorage: SHORT }, undefined));
    });

    test("linear storage - another instance extends a chain it did not write, and both read the whole thread", async () => {
      const saver = await fresh({ linearStorage: SHORT });
      const chain = new ChainWriter(saver, uniqueId());
      await grow(chain, 5);
      const other = await peer({ linearStorage: SHORT });
      // The second writer continues from the first one's head, as a second worker resuming the thread would.
      const continued = chain.continueWith(other);
      await grow(continued, 5, 5);
      const all = [...chain.ids, ...continued.ids];
      for (const reader of [saver, other, await peer()]) {
        expect(tupleIds(await collect(reader.list(chain.config())))).toEqual([...all].reverse());
        for (const id of continued.ids) expect((await reader.getTuple(chain.config(id)))?.checkpoint.channel_values).toEqual(continued.valuesAt(id));
        for (const id of chain.ids) expect((await reader.getTuple(chain.config(id)))?.checkpoint.channel_values).toEqual(chain.valuesAt(id));
      }
    }, { requires: [["multiProcess or createPeer", caps.multiProcess || harness.createPeer !== undefined]] });

    test("linear storage - branches forked from the middle of a chain each read back their own values", async () => {
      const saver = await fresh({ linearStorage: SHORT });
      const chain = new ChainWriter(saver, uniqueId());
      await grow(chain, 5);
      const forkPoint = chain.ids[3];
      const base = Array.from({ length: 4 }, (_, k) => m(k));
      // Two branches extend the same chain position with different items.
      await chain.step({ parent: forkPoint, set: { messages: [...base, m("fork-a")] } });
      await chain.step({ set: { messages: [...base, m("fork-a"), m("fork-a2")] } });
      await chain.step({ parent: forkPoint, set: { messages: [...base, m("fork-b")] } });
      await chain.step({ set: { messages: [...base, m("fork-b"), m("fork-b2")] } });
      await chain.step({ parent: chain.ids[1], set: { messages: [m(0), m(1), m("fork-c")] } });
      await expectAllReadBack(chain, await readers(saver, undefined));
    });

    test("linear storage - a channel that shrinks, is rewritten, is cleared or stops being an array mid-chain reads back exactly", async () => {
      const saver = await fresh({ linearStorage: SHORT });
      const chain = new ChainWriter(saver, uniqueId());
      await grow(chain, 4);
      await chain.step({ set: { messages: [m(0), m(1)] } });
      await chain.step({ set: { messages: [m(0), m(1), m("x")] } });
      await chain.step({ set: { messages: [{ ...m(0), content: "edited" }, m(1), m("x"), m("y")] } });
      await chain.step({ set: { messages: [] } });
      await chain.step({ set: { messages: [m("z")] } });
      await chain.step({ set: { messages: [m("z"), m("zz")] } });
      await chain.step({ clear: ["messages"] });
      await chain.step({ set: { messages: [m("again")] } });
      await chain.step({ set: { messages: { not: "an array" } } });
      await chain.step({ set: { messages: [m("again"), m("and again")] } });
      await expectAllReadBack(chain, await readers(saver, undefined));
    });

    test(
      "linear storage - prune keep_latest removes the base of the chain; the latest reads back in full and the thread keeps growing",
      async () => {
        const saver = await fresh({ linearStorage: SHORT });
        const chain = new ChainWriter(saver, uniqueId());
        await grow(chain, 8);
        await saver.prune([chain.threadId]);
        expect(tupleIds(await collect(saver.list(chain.config())))).toEqual([chain.ids[7]]);
        await grow(chain, 4, 8);
        const left = [chain.ids[7], ...chain.ids.slice(8)];
        await expectAllReadBack(chain, await readers(saver, undefined), left);
        await saver.prune([chain.threadId]);
        await expectAllReadBack(chain, await readers(saver, undefined), [chain.ids[11]]);
      },
      { requires: extended },
    );

    test(
      "linear storage - deleteForRuns of the runs that wrote the base of a chain keeps later checkpoints whole",
      async () => {
        const saver = await fresh({ linearStorage: SHORT });
        const chain = new ChainWriter(saver, uniqueId());
        const [early, late] = [uniqueId("run"), uniqueId("run")];
        for (let i = 0; i < 8; i++) {
          await chain.step({ set: { messages: Array.from({ length: i + 1 }, (_, k) => m(k)) }, metadata: { run_id: i < 5 ? early : late } });
        }
        await saver.deleteForRuns([early]);
        expect(tupleIds(await collect(saver.list(chain.config())))).toEqual(chain.ids.slice(5).reverse());
        await expectAllReadBack(chain, await readers(saver, undefined), chain.ids.slice(5));
      },
      { requires: extended },
    );

    test(
      "linear storage - copyThread copies whole chains; the copy reads back after the source is deleted and keeps growing",
      async () => {
        const saver = await fresh({ linearStorage: SHORT });
        const chain = new ChainWriter(saver, uniqueId());
        await grow(chain, 7);
        const target = uniqueId();
        await saver.copyThread(chain.threadId, target);
        await saver.deleteThread(chain.threadId);
        for (const reader of await readers(saver, undefined)) {
          for (const id of chain.ids) {
            expect((await reader.getTuple(threadConfig(target, "", id)))?.checkpoint.channel_values).toEqual(chain.valuesAt(id));
          }
        }
        const copy = chain.continueWith(saver, target);
        await grow(copy, 3, 7);
        for (const reader of await readers(saver, undefined)) {
          for (const id of copy.ids) expect((await reader.getTuple(threadConfig(target, "", id)))?.checkpoint.channel_values).toEqual(copy.valuesAt(id));
        }
      },
      { requires: extended },
    );

    test("linear storage - deleteThread removes every link of every chain", async () => {
      const saver = await fresh({ linearStorage: SHORT });
      const chain = new ChainWriter(saver, uniqueId());
      await grow(chain, 7);
      await saver.deleteThread(chain.threadId);
      expect(await saver.getTuple(chain.config())).toBeUndefined();
      if (harness.countThreadArtifacts) expect(await harness.countThreadArtifacts(saver, chain.threadId)).toBe(0);
      const again = new ChainWriter(saver, chain.threadId);
      await grow(again, 4);
      await expectAllReadBack(again, await readers(saver, undefined));
    });

    test(
      "linear storage - a saver holding a thread's latest values reads what another instance wrote since (growth, rewrite, delete)",
      async () => {
        const saver = await fresh({ linearStorage: SHORT });
        const chain = new ChainWriter(saver, uniqueId());
        await grow(chain, 4);
        // This saver now holds the thread's latest values; a second worker moves the thread on.
        expect((await saver.getTuple(chain.config()))?.checkpoint.channel_values).toEqual(chain.valuesAt(chain.head!));
        const other = await peer({ linearStorage: SHORT });
        const continued = chain.continueWith(other);
        await grow(continued, 2, 4);
        expect((await saver.getTuple(chain.config()))?.checkpoint.channel_values, "after growth elsewhere").toEqual(continued.valuesAt(continued.head!));
        await continued.step({ set: { messages: [m("rewritten")] } });
        expect((await saver.getTuple(chain.config()))?.checkpoint.channel_values, "after a rewrite elsewhere").toEqual(continued.valuesAt(continued.head!));
        await other.deleteThread(chain.threadId);
        expect(await saver.getTuple(chain.config()), "after a delete elsewhere").toBeUndefined();
        const again = new ChainWriter(other, chain.threadId);
        await grow(again, 3);
        expect((await saver.getTuple(chain.config()))?.checkpoint.channel_values, "after the thread was written again").toEqual(again.valuesAt(again.head!));
        // And this saver extends what it read.
        const mine = again.continueWith(saver);
        await grow(mine, 2, 3);
        await expectAllReadBack(mine, await readers(saver, undefined));
      },
      { requires: [["multiProcess or createPeer", caps.multiProcess || harness.createPeer !== undefined]] },
    );

    test("linear storage - elements changed in place between puts are stored as they were at each put", async () => {
      const saver = await fresh({ linearStorage: SHORT });
      const chain = new ChainWriter(saver, uniqueId());
      type Msg = Record<string, unknown> & { meta: Record<string, unknown> };
      const msgs: Msg[] = [m(0), m(1)];
      const expected = new Map<string, unknown>();
      const put = async (messages: Msg[] = msgs) => {
        const config = await chain.step({ set: { messages: [...messages] } });
        expected.set(String(config.configurable?.checkpoint_id), structuredClone(messages));
      };
      await put();
      msgs.push(m(2));
      await put();
      msgs[0].content = "edited in place"; // same object, other content
      msgs.push(m(3));
      await put();
      msgs[1].meta.i = 99; // a nested change, nothing appended
      await put();
      delete msgs[2].role; // same keys and values in another order: other bytes
      msgs[2].role = "user";
      msgs.push(m(4));
      await put();
      msgs[3].extra = [1, { deep: true }, "x"]; // a key added
      msgs[4].meta = { when: new Date(Date.UTC(2025, 0, 2)) }; // no longer plain JSON
      await put();
      msgs[4].meta = { i: 4 };
      msgs[0] = m("replaced"); // another object at the same position
      msgs.push(m(5));
      await put();
      msgs.splice(1, 1); // shrinks
      await put();
      // The values a read hands out are the caller's: changing them and putting them again stores the change.
      const read = (await saver.getTuple(chain.config()))?.checkpoint.channel_values.messages as Msg[];
      read[0].content = "edited after a read";
      read.push(m(6));
      await put(read);
      (read[1].meta as Record<string, unknown>).i = "edited again";
      read.push(m(7));
      await put(read);
      await expectMessages(chain, expected, await readers(saver, { linearStorage: SHORT }));
    });

    test("linear storage - LangChain messages changed in place between puts are stored as they were at each put", async () => {
      const saver = await fresh({ linearStorage: SHORT });
      const chain = new ChainWriter(saver, uniqueId());
      // What each put must read back: the messages as the serializer saw them at that put.
      const serde = new PersistSerializer();
      const expected = new Map<string, unknown>();
      const put = async (messages: BaseMessage[]) => {
        const config = await chain.step({ set: { messages: [...messages] } });
        const [type, data] = await serde.dumpsTyped(messages);
        expected.set(String(config.configurable?.checkpoint_id), await serde.loadsTyped(type, data));
      };
      const human = (i: number) => new HumanMessage({ content: `question ${i}`, id: `h${i}` });
      const ai = (i: number) => new AIMessage({ content: `answer ${i}`, id: `a${i}`, additional_kwargs: { step: i } });
      const msgs: BaseMessage[] = [human(0), ai(0)];
      await put(msgs);
      msgs.push(human(1));
      await put(msgs);
      msgs[0].content = "question 0, edited in place";
      msgs.push(ai(1));
      await put(msgs);
      (msgs[1].additional_kwargs as Record<string, unknown>).nested = { deep: [1, 2] }; // a nested change, nothing appended
      await put(msgs);
      (msgs[3] as AIMessage).tool_calls?.push({ name: "search", args: { q: "x" }, id: "call-1", type: "tool_call" });
      msgs[2].id = "h1-renamed";
      msgs.push(human(2));
      await put(msgs);
      msgs[0] = new SystemMessage({ content: "question 0, edited in place", id: "h0" }); // same fields, another class
      msgs[4].name = "alice"; // a field set that was undefined
      await put(msgs);
      // Messages read back (revived) are changed and put again, as a graph does between invokes.
      const read = (await saver.getTuple(chain.config()))?.checkpoint.channel_values.messages as BaseMessage[];
      read[1].content = "answer 0, edited after a read";
      read.push(ai(2));
      await put(read);
      read.push(human(3));
      await put(read);
      await expectMessages(chain, expected, await readers(saver, { linearStorage: SHORT }));
    });

    test("linear storage - a value read back belongs to the caller: changing it changes neither what is stored nor the next read", async () => {
      const saver = await fresh({ linearStorage: SHORT });
      const chain = new ChainWriter(saver, uniqueId());
      await grow(chain, 4);
      const before = structuredClone(chain.valuesAt(chain.head!));
      for (let round = 0; round < 2; round++) {
        const tuple = await saver.getTuple(chain.config());
        expect(tuple?.checkpoint.channel_values, `read ${round}`).toEqual(before);
        const messages = tuple?.checkpoint.channel_values.messages as Array<Record<string, unknown>>;
        messages[0].content = "changed by the caller";
        (messages[1].meta as Record<string, unknown>).i = -1;
        messages.push(m("pushed by the caller"));
      }
      const listed = await collect(saver.list(chain.config(), { limit: 1 }));
      expect(listed[0]?.checkpoint.channel_values).toEqual(before);
      // A listing hands out values of its own too, each checkpoint's separate from the others'.
      for (let round = 0; round < 2; round++) {
        for (const tuple of await collect(saver.list(chain.config()))) {
          expect(tuple.checkpoint.channel_values, `list ${round}, checkpoint ${chain.ids.indexOf(tuple.checkpoint.id)}`).toEqual(chain.valuesAt(tuple.checkpoint.id));
          const messages = tuple.checkpoint.channel_values.messages as Array<Record<string, unknown>> | undefined;
          if (messages?.length) {
            messages[0].content = "changed by the caller";
            messages.pop();
          }
        }
      }
      await grow(chain, 2, 4);
      await expectAllReadBack(chain, await readers(saver, { linearStorage: SHORT }));
    });

    test("linear storage - channel values without a version stay with their own checkpoint, by getTuple and by listings that reuse decoded chains", async () => {
      const saver = await fresh({ linearStorage: SHORT });
      const chain = new ChainWriter(saver, uniqueId());
      for (let i = 0; i < 9; i++) {
        // Growing arrays without a version (as `log`) are values like any other: never deltas of each other.
        const unversioned = i % 3 === 2 ? undefined : { __pregel_tasks: [], log: Array.from({ length: i + 1 }, (_, k) => m(k)), note: `n${i}` };
        await chain.step({ set: { messages: Array.from({ length: i + 1 }, (_, k) => m(k)) }, unversioned });
      }
      await expectAllReadBack(chain, await readers(saver, { linearStorage: SHORT }, undefined));
    });

    test("linear storage - disabled, every version is stored whole and reads back", async () => {
      const saver = await fresh({ linearStorage: { enabled: false } });
      expect(saver.linearStorage.enabled).toBe(false);
      const chain = new ChainWriter(saver, uniqueId());
      await grow(chain, 5);
      await expectAllReadBack(chain, await readers(saver, undefined));
    });
  });
}
