import { expect } from "vitest";
import { InvalidArgumentError } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { expectTypedError, saverGroup } from "./context.js";
import { ChainWriter, collect, makeCheckpoint, makeMetadata, threadConfig, tupleIds } from "./fixtures.js";

export function putGroup(harness: SaverHarness): void {
  saverGroup(harness, "put", ({ fresh, peer, test }) => {
    test("put - returns a config with thread_id, checkpoint_ns and the checkpoint's id", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const root = makeCheckpoint();
      const returned = await saver.put(threadConfig(thread, ""), root, makeMetadata(0), {});
      expect(returned.configurable).toEqual({ thread_id: thread, checkpoint_ns: "", checkpoint_id: root.id });

      const child = makeCheckpoint();
      const inChild = await saver.put(threadConfig(thread, "child:1"), child, makeMetadata(0), {});
      expect(inChild.configurable).toEqual({ thread_id: thread, checkpoint_ns: "child:1", checkpoint_id: child.id });

      const noNs = makeCheckpoint();
      const defaulted = await saver.put({ configurable: { thread_id: thread } }, noNs, makeMetadata(1), {});
      expect(defaulted.configurable, "a config without checkpoint_ns stores into the root namespace").toEqual({
        thread_id: thread,
        checkpoint_ns: "",
        checkpoint_id: noNs.id,
      });
      expect((await saver.getTuple(threadConfig(thread, "", noNs.id)))?.checkpoint.id).toBe(noNs.id);
    });

    test("put - the checkpoint and metadata read back exactly as put", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const v1 = saver.getNextVersion(undefined);
      const checkpoint = makeCheckpoint({
        values: { messages: ["hi"], count: 3 },
        versions: { messages: v1, count: v1 },
        versionsSeen: { node_a: { messages: v1 }, __input__: {} },
      });
      const metadata = makeMetadata(-1, { source: "input", writes: null, run_id: "r-1", tags: ["a", "b"], nested: { deep: { x: 1 } } });
      await saver.put(threadConfig(thread), checkpoint, metadata, { messages: v1, count: v1 });
      const tuple = await saver.getTuple(threadConfig(thread, "", checkpoint.id));
      expect(tuple?.checkpoint).toEqual(checkpoint);
      expect(tuple?.metadata).toEqual(metadata);
    });

    test("put - channel values without a channel_versions entry read back as put, by getTuple and list, also when newVersions is {}", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const va = saver.getNextVersion(undefined);
      // LangGraph writes an empty __pregel_tasks this way; a caller may put any value without a version.
      const first = makeCheckpoint({
        values: { a: "A", __pregel_tasks: [], loose: { when: new Date(Date.UTC(2025, 0, 2)), list: [1, "two", null] }, nothing: null },
        versions: { a: va },
      });
      const c1 = await saver.put(threadConfig(thread), first, makeMetadata(0), { a: va });
      const second = makeCheckpoint({ values: { only: "unversioned", count: 0 } });
      await saver.put(c1, second, makeMetadata(1), {});
      const sharesData = harness.capabilities.multiProcess || harness.createPeer !== undefined;
      for (const reader of sharesData ? [saver, await peer()] : [saver]) {
        expect((await reader.getTuple(threadConfig(thread, "", first.id)))?.checkpoint, "getTuple of the first").toEqual(first);
        expect((await reader.getTuple(threadConfig(thread)))?.checkpoint, "getTuple of the latest").toEqual(second);
        expect((await collect(reader.list(threadConfig(thread)))).map((t) => t.checkpoint), "list").toEqual([second, first]);
        const loose = (await reader.getTuple(threadConfig(thread, "", first.id)))?.checkpoint.channel_values.loose as { when: unknown };
        expect(loose.when, "values keep their serde types").toBeInstanceOf(Date);
      }
    });

    test("put - the pending_sends of a legacy checkpoint read back as put", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const va = saver.getNextVersion(undefined);
      const sends = [
        { node: "worker", args: { item: "a" } },
        { node: "worker", args: { item: "b", n: [1, 2] } },
      ];
      const legacy = { ...makeCheckpoint({ v: 1, values: { a: "A" }, versions: { a: va } }), pending_sends: sends };
      const c1 = await saver.put(threadConfig(thread), legacy, makeMetadata(0), { a: va });
      const next = { ...makeCheckpoint({ values: { a: "A" }, versions: { a: va } }), pending_sends: [] };
      await saver.put(c1, next, makeMetadata(1), {});
      const tuple = await saver.getTuple(threadConfig(thread, "", legacy.id));
      expect((tuple?.checkpoint as { pending_sends?: unknown } | undefined)?.pending_sends).toEqual(sends);
      expect(tuple?.checkpoint).toEqual(legacy);
      expect((await saver.getTuple(threadConfig(thread)))?.checkpoint).toEqual(next);
      expect((await collect(saver.list(threadConfig(thread)))).map((t) => t.checkpoint)).toEqual([next, legacy]);
    });

    test("put - stores a snapshot: mutating the checkpoint or metadata afterwards changes nothing", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const v1 = saver.getNextVersion(undefined);
      const list = [1, 2];
      const checkpoint = makeCheckpoint({ values: { list }, versions: { list: v1 } });
      const metadata = makeMetadata(0, { tags: ["x"] });
      await saver.put(threadConfig(thread), checkpoint, metadata, { list: v1 });
      list.push(3);
      checkpoint.channel_versions.other = "1";
      (metadata as unknown as { tags: string[] }).tags.push("y");
      const tuple = await saver.getTuple(threadConfig(thread));
      expect(tuple?.checkpoint.channel_values).toEqual({ list: [1, 2] });
      expect(tuple?.checkpoint.channel_versions).toEqual({ list: v1 });
      expect((tuple?.metadata as unknown as { tags: string[] }).tags).toEqual(["x"]);

      // A returned tuple is the caller's to mutate, too.
      (tuple!.checkpoint.channel_values.list as number[]).push(99);
      const again = await saver.getTuple(threadConfig(thread));
      expect(again?.checkpoint.channel_values).toEqual({ list: [1, 2] });
    });

    test("put - stores only the channels listed in newVersions", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const va = saver.getNextVersion(undefined);
      const vb = saver.getNextVersion(undefined);
      const cp = makeCheckpoint({ values: { a: "A", b: "B" }, versions: { a: va, b: vb } });
      await saver.put(threadConfig(thread), cp, makeMetadata(0), { a: va });
      const tuple = await saver.getTuple(threadConfig(thread, "", cp.id));
      expect(tuple?.checkpoint.channel_values, "b's version was never stored, so b reads back absent").toEqual({ a: "A" });
      expect(tuple?.checkpoint.channel_versions).toEqual({ a: va, b: vb });
    });

    test("put - a channel missing from newVersions reads back the value an earlier checkpoint stored for that version", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const v1 = saver.getNextVersion(undefined);
      const first = makeCheckpoint({ values: { a: "stored" }, versions: { a: v1 } });
      const c1 = await saver.put(threadConfig(thread), first, makeMetadata(0), { a: v1 });
      const second = makeCheckpoint({ values: { a: "not stored: same version, not in newVersions" }, versions: { a: v1 } });
      await saver.put(c1, second, makeMetadata(1), {});
      const tuple = await saver.getTuple(threadConfig(thread, "", second.id));
      expect(tuple?.checkpoint.channel_values).toEqual({ a: "stored" });
    });

    test("put - getTuple rebuilds every channel from channel_versions, including channels written only by ancestors", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const chain = new ChainWriter(saver, thread);
      const c0 = await chain.step({ set: { a: "A0" } });
      const c1 = await chain.step({ set: { b: "B1" } });
      const c2 = await chain.step({ set: { c: "C2" } });
      const c3 = await chain.step({ set: { a: "A3" } });
      const c4 = await chain.step({});
      const expected: Array<[unknown, Record<string, unknown>]> = [
        [c0, { a: "A0" }],
        [c1, { a: "A0", b: "B1" }],
        [c2, { a: "A0", b: "B1", c: "C2" }],
        [c3, { a: "A3", b: "B1", c: "C2" }],
        [c4, { a: "A3", b: "B1", c: "C2" }],
      ];
      for (const [config, values] of expected) {
        const tuple = await saver.getTuple(config as never);
        expect(tuple?.checkpoint.channel_values, `values of checkpoint ${tuple?.checkpoint.id}`).toEqual(values);
      }
      const listed = await collect(saver.list(threadConfig(thread)));
      expect(listed.map((t) => t.checkpoint.channel_values)).toEqual(expected.map(([, v]) => v).reverse());
    });

    test("put - a channel in newVersions without a value reads back absent", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const chain = new ChainWriter(saver, thread);
      const c0 = await chain.step({ set: { a: "A", keep: 1 } });
      const c1 = await chain.step({ clear: ["a"] });
      const tuple = await saver.getTuple(c1);
      expect(tuple?.checkpoint.channel_values).toEqual({ keep: 1 });
      expect(Object.keys(tuple!.checkpoint.channel_versions).sort()).toEqual(["a", "keep"]);
      expect((await saver.getTuple(c0))?.checkpoint.channel_values, "the parent keeps its value").toEqual({ a: "A", keep: 1 });
    });

    test("put - array channels that grow, change, shrink or fork read back exactly at every checkpoint", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      const m = (i: number) => ({ role: i % 2 ? "ai" : "user", content: `message ${i}`, meta: { i, tags: [String(i)] } });
      await chain.step({ set: { messages: [] } });
      await chain.step({ set: { messages: [m(0)] } });
      await chain.step({ set: { messages: [m(0), m(1)] } });
      const forkPoint = chain.head;
      await chain.step({ set: { messages: [m(0), m(1), m(2)], other: "x" } });
      await chain.step({ set: { other: "y" } });
      await chain.step({ set: { messages: [m(0), m(1), m(2), m(3)] } });
      await chain.step({ set: { messages: [{ ...m(0), content: "edited" }, m(1), m(2), m(3), m(4)] } });
      await chain.step({ set: { messages: [m(0)] } });
      await chain.step({ set: { messages: [m(0), m(5)] } });
      await chain.step({ set: { messages: "no longer an array" } });
      await chain.step({ set: { messages: [m(6)] } });
      await chain.step({ set: { messages: [m(6), m(7)] } });
      await chain.step({ clear: ["messages"] });
      await chain.step({ parent: forkPoint, set: { messages: [m(0), m(1), "fork-2"] } });
      await chain.step({ set: { messages: [m(0), m(1), "fork-2", "fork-3"] } });
      for (const id of chain.ids) {
        const tuple = await saver.getTuple(chain.config(id));
        expect(tuple?.checkpoint.channel_values, `checkpoint ${chain.ids.indexOf(id)}`).toEqual(chain.valuesAt(id));
      }
      const listed = await collect(saver.list(chain.config()));
      for (const tuple of listed) expect(tuple.checkpoint.channel_values).toEqual(chain.valuesAt(tuple.checkpoint.id));
    });

    test("put - an array channel appended to 120 times reads back in full at every checkpoint", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      const messages: string[] = [];
      for (let i = 0; i < 120; i++) {
        messages.push(`message ${i}`);
        await chain.step({ set: { messages: [...messages] } });
      }
      const listed = await collect(saver.list(chain.config()));
      expect(listed).toHaveLength(120);
      for (const tuple of listed) {
        const i = chain.ids.indexOf(tuple.checkpoint.id);
        expect((tuple.checkpoint.channel_values.messages as string[]).length, `checkpoint ${i}`).toBe(i + 1);
        expect(tuple.checkpoint.channel_values, `checkpoint ${i}`).toEqual(chain.valuesAt(tuple.checkpoint.id));
      }
    });

    test("put - parentConfig comes from config.checkpoint_id", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const root = makeCheckpoint();
      const rootConfig = await saver.put(threadConfig(thread, "child:1"), root, makeMetadata(0), {});
      const child = makeCheckpoint();
      await saver.put(rootConfig, child, makeMetadata(1), {});
      const rootTuple = await saver.getTuple(threadConfig(thread, "child:1", root.id));
      expect(rootTuple?.parentConfig, "a root checkpoint has no parent").toBeUndefined();
      const childTuple = await saver.getTuple(threadConfig(thread, "child:1", child.id));
      expect(childTuple?.parentConfig?.configurable).toEqual({ thread_id: thread, checkpoint_ns: "child:1", checkpoint_id: root.id });
    });

    test("put - a config without thread_id is rejected with InvalidArgumentError", async () => {
      const saver = await fresh();
      await expectTypedError(saver.put({ configurable: {} }, makeCheckpoint(), makeMetadata(0), {}), InvalidArgumentError, "put without thread_id");
      await expectTypedError(
        saver.put({ configurable: { checkpoint_ns: "" } }, makeCheckpoint(), makeMetadata(0), {}),
        InvalidArgumentError,
        "put with checkpoint_ns but no thread_id",
      );
    });

    test("put - checkpoint namespaces are isolated, even for the same channel version", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      // The same channel at the same version in two namespaces: blobs must be keyed by namespace too.
      const version = "1";
      const root = makeCheckpoint({ values: { a: "root" }, versions: { a: version } });
      const child = makeCheckpoint({ values: { a: "child" }, versions: { a: version } });
      await saver.put(threadConfig(thread, ""), root, makeMetadata(0), { a: version });
      await saver.put(threadConfig(thread, "child:1"), child, makeMetadata(0), { a: version });

      expect((await saver.getTuple(threadConfig(thread, "")))?.checkpoint.channel_values).toEqual({ a: "root" });
      expect((await saver.getTuple(threadConfig(thread, "child:1")))?.checkpoint.channel_values).toEqual({ a: "child" });
      expect(await saver.getTuple(threadConfig(thread, "", child.id)), "the child checkpoint is not visible in the root namespace").toBeUndefined();
      expect(await saver.getTuple(threadConfig(thread, "child:1", root.id))).toBeUndefined();
      expect(tupleIds(await collect(saver.list(threadConfig(thread, ""))))).toEqual([root.id]);
      expect(tupleIds(await collect(saver.list(threadConfig(thread, "child:1"))))).toEqual([child.id]);
    });

    test("put - re-putting an existing checkpoint from another saver instance keeps every channel readable", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      let parent: string | undefined;
      let version: string | number | undefined;
      const messages: string[] = [];
      const ids: string[] = [];
      const saved: Array<{ checkpoint: ReturnType<typeof makeCheckpoint>; parent?: string }> = [];
      for (let i = 0; i < 4; i++) {
        messages.push(`message ${i}`);
        version = saver.getNextVersion(version as number | undefined);
        const cp = makeCheckpoint({ values: { messages: [...messages] }, versions: { messages: version } });
        await saver.put(threadConfig(thread, "", parent), cp, makeMetadata(i), { messages: version });
        saved.push({ checkpoint: cp, parent });
        ids.push(cp.id);
        parent = cp.id;
      }
      // Another instance (a copy tool, a second worker) writes the last checkpoint again.
      const other = await peer();
      const last = saved[saved.length - 1];
      await other.put(threadConfig(thread, "", last.parent), last.checkpoint, makeMetadata(3), { messages: last.checkpoint.channel_versions.messages });
      for (const reader of [saver, other]) {
        const tuples = await collect(reader.list(threadConfig(thread, "")));
        expect(tupleIds(tuples)).toEqual([...ids].reverse());
        expect(tuples[0].checkpoint.channel_values.messages).toEqual(messages);
        expect(tuples[1].checkpoint.channel_values.messages).toEqual(messages.slice(0, 3));
      }
    }, { requires: [["multiProcess or createPeer", harness.capabilities.multiProcess || harness.createPeer !== undefined]] });
  });
}
