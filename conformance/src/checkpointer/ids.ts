import { expect } from "vitest";
import type { RunnableConfig } from "@langchain/core/runnables";
import { InvalidArgumentError } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { expectTypedError, saverGroup } from "./context.js";
import { ChainWriter, collect, makeCheckpoint, makeMetadata, threadConfig, tupleIds, writesOf } from "./fixtures.js";

/** A thread id as a number no other test (or earlier run on the same database) uses. */
function uniqueNumber(): number {
  return Date.now() * 1000 + Math.floor(Math.random() * 1000);
}

/** A config whose ids are numbers, as JavaScript callers sometimes pass them. */
function numericConfig(threadId: number, checkpointId?: number): RunnableConfig {
  const configurable: Record<string, unknown> = { thread_id: threadId, checkpoint_ns: "" };
  if (checkpointId !== undefined) configurable.checkpoint_id = checkpointId;
  return { configurable };
}

/**
 * Ids as callers pass them: a number is the same id as its decimal string on every backend (in `put`,
 * `getTuple`, `list` and its `before`, `putWrites`), and a NUL character in a thread id, checkpoint id,
 * namespace, task id or channel name is refused with `InvalidArgumentError` on every backend (PostgreSQL
 * text cannot hold it), before anything is written.
 */
export function idsGroup(harness: SaverHarness): void {
  saverGroup(harness, "ids", ({ fresh, test }) => {
    test("ids - numeric thread_id and checkpoint_id are the same ids as their strings in put, getTuple, list (and before) and putWrites", async () => {
      const saver = await fresh();
      const thread = uniqueNumber();
      const first = await saver.put(numericConfig(thread), makeCheckpoint({ id: "100" }), makeMetadata(0), {});
      expect(first.configurable).toMatchObject({ thread_id: String(thread), checkpoint_id: "100" });
      const v = saver.getNextVersion(undefined);
      const second = makeCheckpoint({ id: "123", values: { a: "x" }, versions: { a: v } });
      (second as { id: unknown }).id = 123;
      const put = await saver.put(numericConfig(thread, 100), second, makeMetadata(1), { a: v });
      expect(put.configurable?.checkpoint_id).toBe("123");

      await saver.putWrites(numericConfig(thread, 123), [["a", "written"]], "task-1");

      for (const config of [numericConfig(thread, 123), threadConfig(String(thread), "", "123")]) {
        const tuple = await saver.getTuple(config);
        expect(tuple?.checkpoint.id, "getTuple by the numeric or the string id").toBe("123");
        expect(tuple?.checkpoint.channel_values).toEqual({ a: "x" });
        expect(tuple?.parentConfig?.configurable?.checkpoint_id).toBe("100");
        expect(writesOf(tuple)).toEqual([["task-1", "a", "written"]]);
      }
      expect((await saver.getTuple(numericConfig(thread)))?.checkpoint.id, "the latest of a numeric thread").toBe("123");
      expect((await saver.getTuple(numericConfig(thread, 100)))?.checkpoint.id).toBe("100");

      expect(tupleIds(await collect(saver.list(numericConfig(thread))))).toEqual(["123", "100"]);
      expect(tupleIds(await collect(saver.list(numericConfig(thread), { before: numericConfig(thread, 123) }))), "list before a numeric id").toEqual(["100"]);
      expect(tupleIds(await collect(saver.list(threadConfig(String(thread)), { before: { configurable: { checkpoint_id: 124 } } })))).toEqual(["123", "100"]);
      expect(tupleIds(await collect(saver.list(numericConfig(thread, 100))))).toEqual(["100"]);
    });

    test("ids - a NUL character in a thread id, checkpoint id, namespace, task id or channel is refused with InvalidArgumentError, and nothing is written", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const chain = new ChainWriter(saver, thread);
      const good = await chain.step({ set: { a: "kept" }, writes: [["a", "kept-write"]] });
      const before = await saver.getTuple(good);
      const goodId = chain.ids[0];
      const nul = "x\u0000y";

      await expectTypedError(saver.put(threadConfig(`${thread}${nul}`), makeCheckpoint(), makeMetadata(0), {}), InvalidArgumentError, "put with NUL in thread_id");
      await expectTypedError(saver.put(good, makeCheckpoint({ id: `${goodId}${nul}` }), makeMetadata(1), {}), InvalidArgumentError, "put with NUL in checkpoint.id");
      await expectTypedError(saver.put(threadConfig(thread, nul), makeCheckpoint(), makeMetadata(0), {}), InvalidArgumentError, "put with NUL in checkpoint_ns");
      await expectTypedError(saver.put(threadConfig(thread, "", `${goodId}${nul}`), makeCheckpoint(), makeMetadata(1), {}), InvalidArgumentError, "put with NUL in the parent checkpoint_id");
      await expectTypedError(saver.putWrites(threadConfig(`${thread}${nul}`, "", goodId), [["a", 1]], "task"), InvalidArgumentError, "putWrites with NUL in thread_id");
      await expectTypedError(saver.putWrites(threadConfig(thread, "", `${goodId}${nul}`), [["a", 1]], "task"), InvalidArgumentError, "putWrites with NUL in checkpoint_id");
      await expectTypedError(saver.putWrites(good, [["a", 1]], `task${nul}`), InvalidArgumentError, "putWrites with NUL in the task id");
      await expectTypedError(saver.putWrites(good, [["ok", 1], [`a${nul}`, 1]], "task"), InvalidArgumentError, "putWrites with NUL in a channel name");
      await expectTypedError(saver.getTuple(threadConfig(`${thread}${nul}`)), InvalidArgumentError, "getTuple with NUL in thread_id");
      await expectTypedError(saver.getTuple(threadConfig(thread, "", `${goodId}${nul}`)), InvalidArgumentError, "getTuple with NUL in checkpoint_id");
      await expectTypedError(collect(saver.list(threadConfig(`${thread}${nul}`))), InvalidArgumentError, "list with NUL in thread_id");
      await expectTypedError(collect(saver.list(threadConfig(thread), { before: threadConfig(thread, "", nul) })), InvalidArgumentError, "list with NUL in before");
      await expectTypedError(saver.deleteThread(`${thread}${nul}`), InvalidArgumentError, "deleteThread with NUL in the thread id");

      const after = await saver.getTuple(threadConfig(thread));
      expect(after?.checkpoint.id, "the thread is unchanged").toBe(goodId);
      expect(after?.checkpoint.channel_values).toEqual(before?.checkpoint.channel_values);
      expect(writesOf(after)).toEqual(writesOf(before));
      expect(await collect(saver.list(threadConfig(thread)))).toHaveLength(1);
    });
  });
}
