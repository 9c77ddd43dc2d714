import { expect } from "vitest";
import { BaseCheckpointSaver, DeltaSnapshot, isDeltaSnapshot, type DeltaChannelHistory } from "@langchain/langgraph-checkpoint";
import type { PersistSaver } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { saverGroup } from "./context.js";
import { ChainWriter } from "./fixtures.js";

/**
 * A delta channel "ch" over `steps` checkpoints: snapshot steps store `DeltaSnapshot(step)` and have no
 * write; every other step bumps the channel's version without a value and stores one write `step`.
 */
async function deltaChain(saver: PersistSaver, steps: number, snapshots: number[]): Promise<ChainWriter> {
  const chain = new ChainWriter(saver, uniqueId());
  for (let i = 0; i < steps; i++) {
    if (snapshots.includes(i)) await chain.step({ set: { ch: new DeltaSnapshot(i) } });
    else await chain.step({ clear: ["ch"], writes: [["ch", i]], taskId: `task-${i}` });
  }
  return chain;
}

const values = (h: DeltaChannelHistory | undefined) => (h?.writes ?? []).map((w) => w[2]);

function seedValue(seed: unknown): unknown {
  return isDeltaSnapshot(seed) ? (seed as { value: unknown }).value : seed;
}

export function deltaHistoryGroup(harness: SaverHarness): void {
  saverGroup(harness, "getDeltaChannelHistory", ({ fresh, peer, test }) => {
    test("getDeltaChannelHistory - is implemented by the saver, not inherited from BaseCheckpointSaver", async () => {
      const saver = await fresh();
      expect(saver.getDeltaChannelHistory).not.toBe(BaseCheckpointSaver.prototype.getDeltaChannelHistory);
    });

    test("getDeltaChannelHistory - walks from the target's parent: the target's own writes are excluded", async () => {
      const saver = await fresh();
      const chain = await deltaChain(saver, 5, [0]);
      await saver.putWrites(chain.configs[4], [["ch", "extra"]], "task-extra");
      const result = await saver.getDeltaChannelHistory({ config: chain.configs[4], channels: ["ch"] });
      expect(values(result.ch)).toEqual([1, 2, 3]);
      expect(result.ch.writes.map((w) => w[1])).toEqual(["ch", "ch", "ch"]);
      expect(result.ch.writes[0][0]).toBe("task-1");
      expect(seedValue(result.ch.seed)).toBe(0);
    });

    test("getDeltaChannelHistory - stops at the nearest ancestor with a stored value and returns it as seed", async () => {
      const saver = await fresh();
      const chain = await deltaChain(saver, 6, [0, 3]);
      const result = await saver.getDeltaChannelHistory({ config: chain.configs[5], channels: ["ch"] });
      expect(seedValue(result.ch.seed)).toBe(3);
      expect(values(result.ch)).toEqual([4]);
    });

    test("getDeltaChannelHistory - includes the writes of the ancestor that supplies the seed; channels end independently", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      for (let i = 0; i < 5; i++) {
        const set: Record<string, unknown> = {};
        const clear: string[] = [];
        if (i === 1) set.a = new DeltaSnapshot(`a@${i}`);
        else clear.push("a");
        if (i === 3) set.b = new DeltaSnapshot(`b@${i}`);
        else clear.push("b");
        await chain.step({ set, clear, writes: [["a", i], ["b", i]], taskId: "task" });
      }
      const result = await saver.getDeltaChannelHistory({ config: chain.configs[4], channels: ["a", "b"] });
      expect(values(result.a)).toEqual([1, 2, 3]);
      expect(seedValue(result.a.seed)).toBe("a@1");
      expect(values(result.b)).toEqual([3]);
      expect(seedValue(result.b.seed)).toBe("b@3");
    });

    test("getDeltaChannelHistory - returns writes oldest to newest and omits seed when no ancestor stored a value", async () => {
      const saver = await fresh();
      const chain = await deltaChain(saver, 4, []);
      const result = await saver.getDeltaChannelHistory({ config: chain.configs[3], channels: ["ch"] });
      expect(values(result.ch)).toEqual([0, 1, 2]);
      expect(result.ch, "no seed key at all").not.toHaveProperty("seed");
    });

    test("getDeltaChannelHistory - seeds from a plain stored value (a channel migrated from a non-delta type)", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      await chain.step({ clear: ["ch"], writes: [["ch", 0]] });
      await chain.step({ set: { ch: [10, 20, 30] } });
      await chain.step({ clear: ["ch"], writes: [["ch", 2]] });
      await chain.step({ clear: ["ch"], writes: [["ch", 3]] });
      const result = await saver.getDeltaChannelHistory({ config: chain.configs[3], channels: ["ch"] });
      expect(result.ch.seed).toEqual([10, 20, 30]);
      expect(values(result.ch)).toEqual([2]);
    });

    test("getDeltaChannelHistory - only ancestors on the target's path count, not forked siblings", async () => {
      const saver = await fresh();
      const chain = await deltaChain(saver, 3, [0]);
      // Fork from step 1: its siblings have newer ids than step 2 but are not on step 2's path, and vice versa.
      const fork1 = await chain.step({ parent: chain.ids[1], clear: ["ch"], writes: [["ch", "fork-2"]] });
      const fork2 = await chain.step({ clear: ["ch"], writes: [["ch", "fork-3"]] });
      const onFork = await saver.getDeltaChannelHistory({ config: fork2, channels: ["ch"] });
      expect(values(onFork.ch)).toEqual([1, "fork-2"]);
      expect(seedValue(onFork.ch.seed)).toBe(0);
      const onMain = await saver.getDeltaChannelHistory({ config: chain.configs[2], channels: ["ch"] });
      expect(values(onMain.ch)).toEqual([1]);
      const atFork = await saver.getDeltaChannelHistory({ config: fork1, channels: ["ch"] });
      expect(values(atFork.ch), "step 2 of the main branch is not an ancestor of the fork").toEqual([1]);
    });

    test("getDeltaChannelHistory - a checkpoint's writes come in (task_path, task_id, idx) order, strings by code point, as LangGraph applies them", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      const c0 = await chain.step({ set: { ch: new DeltaSnapshot(["seed"]) } });
      // Task ids sort the other way round from their task paths; "p\uFF5E" sorts before "p\u{1F600}" by code
      // point (not by UTF-16 unit); writes without a task path come first.
      await saver.putWrites(c0, [["ch", 5], ["ch", 6], ["other", "not ch"]], "a", "~__pregel_push, 0000000002");
      await saver.putWrites(c0, [["ch", 4]], "b", "~__pregel_push, 0000000001");
      await saver.putWrites(c0, [["ch", 3]], "d", "p\u{1F600}");
      await saver.putWrites(c0, [["ch", 2]], "e", "p\uFF5E");
      await saver.putWrites(c0, [["ch", 1]], "z");
      const c1 = await chain.step({ clear: ["ch"] });
      await saver.putWrites(c1, [["ch", 8]], "x", "~__pregel_push, 0000000002");
      await saver.putWrites(c1, [["ch", 7]], "y", "~__pregel_push, 0000000001");
      const c2 = await chain.step({ clear: ["ch"] });
      const sharesData = harness.capabilities.multiProcess || harness.createPeer !== undefined;
      for (const reader of sharesData ? [saver, await peer()] : [saver]) {
        const result = await reader.getDeltaChannelHistory({ config: c2, channels: ["ch", "other"] });
        expect(values(result.ch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        expect(result.ch.writes.map((w) => w[0])).toEqual(["z", "e", "d", "b", "a", "a", "y", "x"]);
        expect(seedValue(result.ch.seed)).toEqual(["seed"]);
        expect(values(result.other)).toEqual(["not ch"]);
      }
    });

    test("getDeltaChannelHistory - an empty channel list returns {}", async () => {
      const saver = await fresh();
      const chain = await deltaChain(saver, 3, [0]);
      expect(await saver.getDeltaChannelHistory({ config: chain.configs[2], channels: [] })).toEqual({});
    });

    test("getDeltaChannelHistory - a channel never written returns { writes: [] } without a seed", async () => {
      const saver = await fresh();
      const chain = await deltaChain(saver, 3, [0]);
      const result = await saver.getDeltaChannelHistory({ config: chain.configs[2], channels: ["ch", "never"] });
      expect(result.never).toEqual({ writes: [] });
      expect(result.never).not.toHaveProperty("seed");
      expect(values(result.ch)).toEqual([1]);
      expect(Object.keys(result).sort()).toEqual(["ch", "never"]);
    });
  });
}
