import { expect } from "vitest";
import { ClientClosedError, type PersistSaver } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { expectTypedError, saverGroup } from "./context.js";
import { ChainWriter, collect, makeCheckpoint, makeMetadata, threadConfig } from "./fixtures.js";

/** Every public operation, each of which must reject on a closed saver. */
function operations(saver: PersistSaver, threadId: string, checkpointId: string, caps: SaverHarness["capabilities"]) {
  const config = threadConfig(threadId, "", checkpointId);
  const ops: Array<[string, () => Promise<unknown>]> = [
    ["setup", () => saver.setup()],
    ["put", () => saver.put(threadConfig(threadId), makeCheckpoint(), makeMetadata(1), {})],
    ["putWrites", () => saver.putWrites(config, [["ch", 1]], "task-1")],
    ["getTuple", () => saver.getTuple(config)],
    ["getTuple (latest)", () => saver.getTuple(threadConfig(threadId))],
    ["list", () => collect(saver.list(threadConfig(threadId)))],
    ["deleteThread", () => saver.deleteThread(threadId)],
    ["getDeltaChannelHistory", () => saver.getDeltaChannelHistory({ config, channels: ["ch"] })],
  ];
  if (caps.extendedOps) {
    ops.push(
      ["deleteForRuns", () => saver.deleteForRuns(["run"])],
      ["copyThread", () => saver.copyThread(threadId, `${threadId}-copy`)],
      ["prune", () => saver.prune([threadId], { strategy: "keep_latest" })],
    );
  }
  if (caps.listThreads) ops.push(["listThreads", () => saver.listThreads({ limit: 10 })]);
  return ops;
}

export function lifecycleGroup(harness: SaverHarness): void {
  saverGroup(harness, "lifecycle", ({ fresh, test, caps }) => {
    test("lifecycle - setup() can run again, sequentially and concurrently, on a ready saver", async () => {
      const saver = await fresh();
      await saver.setup();
      await Promise.all([saver.setup(), saver.setup(), saver.setup()]);
      const chain = new ChainWriter(saver, uniqueId());
      await chain.step({ set: { a: 1 } });
      expect((await saver.getTuple(chain.config()))?.checkpoint.channel_values).toEqual({ a: 1 });
    });

    test("lifecycle - after close(), every operation rejects with ClientClosedError", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.step({ set: { a: 1 } });
      await saver.close();
      for (const [name, op] of operations(saver, chain.threadId, chain.ids[0], caps)) {
        await expectTypedError(op, ClientClosedError, `${name} after close()`);
      }
    });

    test("lifecycle - close() twice resolves", async () => {
      const saver = await fresh();
      await saver.close();
      await expect(saver.close()).resolves.toBeUndefined();
      await Promise.all([saver.close(), saver.close()]);
    });

    test("lifecycle - await using closes the saver through Symbol.asyncDispose", async () => {
      const saver = await fresh();
      expect(typeof saver[Symbol.asyncDispose]).toBe("function");
      const thread = uniqueId();
      {
        await using scoped = saver;
        await new ChainWriter(scoped, thread).step({ set: { a: 1 } });
      }
      await expectTypedError(saver.getTuple(threadConfig(thread)), ClientClosedError, "getTuple after the scope ended");
    });
  });
}
