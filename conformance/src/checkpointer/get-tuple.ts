import { expect } from "vitest";
import { TASKS, maxChannelVersion } from "@langchain/langgraph-checkpoint";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { saverGroup } from "./context.js";
import { ChainWriter, collect, makeCheckpoint, makeMetadata, nextCheckpointId, threadConfig, writesOf } from "./fixtures.js";

export function getTupleGroup(harness: SaverHarness): void {
  saverGroup(harness, "getTuple", ({ fresh, test }) => {
    test("getTuple - without checkpoint_id returns the namespace's checkpoint with the highest id", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const chain = new ChainWriter(saver, thread);
      const configs = await chain.chain(3);
      const latest = await saver.getTuple(threadConfig(thread));
      expect(latest?.checkpoint.id).toBe(chain.ids[2]);
      expect(latest?.metadata?.step).toBe(2);
      expect(latest?.config.configurable).toEqual(configs[2].configurable);

      // Insertion order does not matter: an older id put last is not the latest.
      const other = uniqueId();
      const older = makeCheckpoint();
      const newer = makeCheckpoint();
      await saver.put(threadConfig(other), newer, makeMetadata(1), {});
      await saver.put(threadConfig(other), older, makeMetadata(0), {});
      expect((await saver.getTuple(threadConfig(other)))?.checkpoint.id).toBe(newer.id);
    });

    test("getTuple - with checkpoint_id returns exactly that checkpoint", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.chain(3);
      const tuple = await saver.getTuple(chain.config(chain.ids[1]));
      expect(tuple?.checkpoint.id).toBe(chain.ids[1]);
      expect(tuple?.checkpoint.channel_values).toEqual({ step: 1 });
      expect(tuple?.metadata?.step).toBe(1);
    });

    test("getTuple - returns undefined for an unknown thread, checkpoint id or namespace", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const chain = new ChainWriter(saver, thread);
      await chain.chain(2);
      expect(await saver.getTuple(threadConfig(uniqueId()))).toBeUndefined();
      expect(await saver.getTuple(threadConfig(uniqueId(), "", chain.ids[0]))).toBeUndefined();
      expect(await saver.getTuple(threadConfig(thread, "", nextCheckpointId()))).toBeUndefined();
      expect(await saver.getTuple(threadConfig(thread, "child:1"))).toBeUndefined();
      expect(await saver.getTuple(threadConfig(thread, "child:1", chain.ids[0]))).toBeUndefined();
    });

    test("getTuple - config carries thread_id, checkpoint_ns and checkpoint_id; parentConfig points at the parent", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const chain = new ChainWriter(saver, thread, "child:1");
      await chain.chain(2);
      const [first, second] = chain.ids;
      const root = await saver.getTuple(threadConfig(thread, "child:1", first));
      expect(root?.config.configurable).toMatchObject({ thread_id: thread, checkpoint_ns: "child:1", checkpoint_id: first });
      expect(root?.parentConfig).toBeUndefined();
      const latest = await saver.getTuple(threadConfig(thread, "child:1"));
      expect(latest?.config.configurable).toMatchObject({ thread_id: thread, checkpoint_ns: "child:1", checkpoint_id: second });
      expect(latest?.parentConfig?.configurable).toEqual({ thread_id: thread, checkpoint_ns: "child:1", checkpoint_id: first });
    });

    test("getTuple - includes the checkpoint's pending writes", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      const c0 = await chain.step({ set: { a: 1 }, writes: [["a", "w0"]], taskId: "t0" });
      const c1 = await chain.step({ set: { a: 2 }, writes: [["a", "w1"], ["b", { x: 1 }]], taskId: "t1" });
      expect(writesOf(await saver.getTuple(c0))).toEqual([["t0", "a", "w0"]]);
      expect(writesOf(await saver.getTuple(c1))).toEqual([
        ["t1", "a", "w1"],
        ["t1", "b", { x: 1 }],
      ]);
      expect(writesOf(await saver.getTuple(chain.config())), "the latest tuple carries its writes too").toEqual(writesOf(await saver.getTuple(c1)));
    });

    test("getTuple - checkpoints older than format v4 get pending sends from the parent's TASKS writes", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const v1 = saver.getNextVersion(undefined);
      const v2 = saver.getNextVersion(v1);
      const parent = makeCheckpoint({ v: 3, values: { x: "p" }, versions: { x: v1 } });
      const parentConfig = await saver.put(threadConfig(thread), parent, makeMetadata(0), { x: v1 });
      const sends = [
        { node: "agent", args: { n: 1 } },
        { node: "tool", args: { n: 2 } },
      ];
      await saver.putWrites(parentConfig, [[TASKS, sends[0]], ["x", "ignored"], [TASKS, sends[1]]], "task-1");
      const child = makeCheckpoint({ v: 3, values: { x: "c", y: 1 }, versions: { x: v2, y: v1 } });
      await saver.put(parentConfig, child, makeMetadata(1), { x: v2, y: v1 });

      const tuple = await saver.getTuple(threadConfig(thread, "", child.id));
      expect(tuple?.checkpoint.channel_values).toEqual({ x: "c", y: 1, [TASKS]: sends });
      expect(tuple?.checkpoint.channel_versions[TASKS]).toEqual(maxChannelVersion(v2, v1));
      const listed = (await collect(saver.list(threadConfig(thread)))).find((t) => t.checkpoint.id === child.id);
      expect(listed?.checkpoint.channel_values, "list migrates too").toEqual({ x: "c", y: 1, [TASKS]: sends });

      const rootTuple = await saver.getTuple(parentConfig);
      expect(rootTuple?.checkpoint.channel_values, "a root checkpoint has no parent to migrate from").not.toHaveProperty(TASKS);

      const v3 = saver.getNextVersion(v2);
      const modern = makeCheckpoint({ v: 4, values: { x: "m" }, versions: { x: v3 } });
      await saver.put(parentConfig, modern, makeMetadata(1), { x: v3 });
      const modernTuple = await saver.getTuple(threadConfig(thread, "", modern.id));
      expect(modernTuple?.checkpoint.channel_values, "v4 checkpoints are not migrated").toEqual({ x: "m" });
    });
  });
}
