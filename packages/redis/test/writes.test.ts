import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunnableConfig } from "@langchain/core/runnables";
import { ERROR, INTERRUPT, uuid6 } from "@langchain/langgraph-checkpoint";
import { RedisSaver } from "../src/index.js";
import { SaverKeys } from "../src/keys.js";
import { adminClient, checkpoint, deleteKeys, targets, testPrefix, missingServer } from "./support.js";

for (const target of targets) {
  if (!target.url) {
    missingServer(`pending writes (${target.name})`, target.env);
    continue;
  }
  const url = target.url;

  describe(`pending writes (${target.name})`, () => {
    const keyPrefix = testPrefix("w");
    const saver = new RedisSaver({ url, cluster: target.cluster, keyPrefix });
    beforeAll(async () => {
      await saver.setup();
    });
    afterAll(async () => {
      await saver.close();
      const admin = adminClient(url, target.cluster);
      await deleteKeys(admin, new SaverKeys(keyPrefix).allPattern());
      await admin.quit();
    });

    async function fresh(): Promise<RunnableConfig> {
      const v = String(saver.getNextVersion(undefined));
      return saver.put({ configurable: { thread_id: `w-${uuid6(-1)}`, checkpoint_ns: "" } }, checkpoint({ a: 1 }, { a: v }), { source: "loop", step: 0, parents: {} }, { a: v });
    }
    const writesOf = async (config: RunnableConfig) => (await saver.getTuple(config))?.pendingWrites;

    it("one call with the same special channel twice keeps the last; regular writes keep their positions", async () => {
      const config = await fresh();
      await saver.putWrites(config, [["a", "a0"], [ERROR, "first"], ["b", "b2"], [ERROR, "second"], [INTERRUPT, "int"]], "task-1");
      expect(await writesOf(config)).toEqual([
        ["task-1", INTERRUPT, "int"],
        ["task-1", ERROR, "second"],
        ["task-1", "a", "a0"],
        ["task-1", "b", "b2"],
      ]);
      // Calls without repeats: every write kept, in (task, idx) order, and a later call appends.
      await saver.putWrites(config, [["c", "c0"], ["d", "d1"], ["e", "e2"], ["f", "f3"]], "task-2");
      expect((await writesOf(config))?.map(([task, channel]) => `${task}/${channel}`)).toEqual([
        `task-1/${INTERRUPT}`,
        `task-1/${ERROR}`,
        "task-1/a",
        "task-1/b",
        "task-2/c",
        "task-2/d",
        "task-2/e",
        "task-2/f",
      ]);
    });

    it("many writes in one call (beyond the pairwise duplicate check) round-trip", async () => {
      const config = await fresh();
      const writes: Array<[string, unknown]> = Array.from({ length: 40 }, (_, i) => [`ch-${i}`, { i, text: "é".repeat(i) }]);
      writes.push([ERROR, "x"], [ERROR, "y"]);
      await saver.putWrites(config, writes, "task-big");
      const got = await writesOf(config);
      expect(got).toHaveLength(41);
      expect(got?.[0]).toEqual(["task-big", ERROR, "y"]);
      expect(got?.slice(1)).toEqual(writes.slice(0, 40).map(([channel, value]) => ["task-big", channel, value]));
    });
  });
}
