import { expect } from "vitest";
import { ERROR, INTERRUPT, RESUME, SCHEDULED } from "@langchain/langgraph-checkpoint";
import { InvalidArgumentError } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { expectTypedError, saverGroup } from "./context.js";
import { ChainWriter, collect, makeCheckpoint, makeMetadata, nextCheckpointId, threadConfig, writesOf } from "./fixtures.js";

export function putWritesGroup(harness: SaverHarness): void {
  saverGroup(harness, "putWrites", ({ fresh, test }) => {
    test("putWrites - writes read back as (task_id, channel, value) on their checkpoint", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      const config = await chain.step({ set: { a: 1 } });
      await saver.putWrites(config, [["a", { data: 123 }], ["b", "two"], ["c", [3]]], "task-1");
      expect(writesOf(await saver.getTuple(config))).toEqual([
        ["task-1", "a", { data: 123 }],
        ["task-1", "b", "two"],
        ["task-1", "c", [3]],
      ]);
      const listed = await collect(chain.saver.list(chain.config()));
      expect(writesOf(listed[0]), "list returns the same pending writes").toEqual(writesOf(await saver.getTuple(config)));
    });

    test("putWrites - writes of different tasks to the same channel are kept apart", async () => {
      const saver = await fresh();
      const config = await new ChainWriter(saver, uniqueId()).step();
      await saver.putWrites(config, [["ch", "from-1"]], "task-1");
      await saver.putWrites(config, [["ch", "from-2"]], "task-2");
      expect(writesOf(await saver.getTuple(config))).toEqual([
        ["task-1", "ch", "from-1"],
        ["task-2", "ch", "from-2"],
      ]);
    });

    test("putWrites - idx comes from WRITES_IDX_MAP for special channels and from the position otherwise", async () => {
      const saver = await fresh();
      const config = await new ChainWriter(saver, uniqueId()).step();
      // Positions: a=0, ERROR=-1 (not 1), b=2.
      await saver.putWrites(config, [["a", "a0"], [ERROR, "boom"], ["b", "b2"]], "task-1");
      // Positions 0 and 2 are taken, so only d (position 1) is new; c and e are ignored.
      await saver.putWrites(config, [["c", "c0"], ["d", "d1"], ["e", "e2"]], "task-1");
      expect(writesOf(await saver.getTuple(config))).toEqual([
        ["task-1", ERROR, "boom"],
        ["task-1", "a", "a0"],
        ["task-1", "d", "d1"],
        ["task-1", "b", "b2"],
      ]);
    });

    test("putWrites - special channels (error, interrupt, resume, scheduled) replace: the last write wins", async () => {
      const saver = await fresh();
      const config = await new ChainWriter(saver, uniqueId()).step();
      for (const channel of [ERROR, INTERRUPT, RESUME, SCHEDULED]) {
        await saver.putWrites(config, [[channel, `${channel}-first`]], "task-1");
        await saver.putWrites(config, [[channel, `${channel}-second`]], "task-1");
      }
      const writes = writesOf(await saver.getTuple(config));
      for (const channel of [ERROR, INTERRUPT, RESUME, SCHEDULED]) {
        expect(
          writes.filter(([, c]) => c === channel),
          `${channel}`,
        ).toEqual([["task-1", channel, `${channel}-second`]]);
      }
      expect(writes).toHaveLength(4);
    });

    test("putWrites - regular writes insert if absent: the first write at a position wins and re-putting is idempotent", async () => {
      const saver = await fresh();
      const config = await new ChainWriter(saver, uniqueId()).step();
      const expected = [
        ["task-1", "a", "first"],
        ["task-1", "b", "b-first"],
      ];
      await saver.putWrites(config, [["a", "first"], ["b", "b-first"]], "task-1");
      await saver.putWrites(config, [["a", "first"], ["b", "b-first"]], "task-1");
      expect(writesOf(await saver.getTuple(config)), "re-putting the same writes stores them once").toEqual(expected);
      await saver.putWrites(config, [["a", "second"], ["b", "b-second"]], "task-1");
      expect(writesOf(await saver.getTuple(config)), "a later write at a taken position is ignored").toEqual(expected);
    });

    test("putWrites - an empty list of writes is a no-op", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const config = await new ChainWriter(saver, thread).step();
      await saver.putWrites(config, [], "task-1");
      expect(writesOf(await saver.getTuple(config))).toEqual([]);

      const other = uniqueId();
      await saver.putWrites(threadConfig(other, "", nextCheckpointId()), [], "task-1");
      expect(await saver.getTuple(threadConfig(other)), "no thread appears from an empty putWrites").toBeUndefined();
      expect(await collect(saver.list(threadConfig(other)))).toEqual([]);
    });

    test("putWrites - writes stored before their checkpoint appear once it is put", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const checkpoint = makeCheckpoint();
      const config = threadConfig(thread, "", checkpoint.id);
      await saver.putWrites(config, [["early", "value"], [INTERRUPT, "pause"]], "task-1");
      expect(await saver.getTuple(threadConfig(thread)), "writes alone do not make a checkpoint").toBeUndefined();
      await saver.put(threadConfig(thread), checkpoint, makeMetadata(0), {});
      expect(writesOf(await saver.getTuple(config))).toEqual([
        ["task-1", INTERRUPT, "pause"],
        ["task-1", "early", "value"],
      ]);
    });

    test("putWrites - pendingWrites are ordered by task_id, then idx", async () => {
      const saver = await fresh();
      const config = await new ChainWriter(saver, uniqueId()).step();
      await saver.putWrites(config, [["z", "c0"], ["y", "c1"]], "task-c");
      await saver.putWrites(config, [["b0", 0], ["b1", 1], ["b2", 2]], "task-b");
      await saver.putWrites(config, [["a0", 0], ["a1", 1], [INTERRUPT, "int"], [ERROR, "err"]], "task-a");
      expect(writesOf(await saver.getTuple(config)).map(([t, c]) => `${t}/${c}`)).toEqual([
        `task-a/${INTERRUPT}`,
        `task-a/${ERROR}`,
        "task-a/a0",
        "task-a/a1",
        "task-b/b0",
        "task-b/b1",
        "task-b/b2",
        "task-c/z",
        "task-c/y",
      ]);
    });

    test("putWrites - pendingWrites of getTuple and list are ordered by (task_path, task_id, idx), strings by code point; writes without a task path first", async () => {
      const saver = await fresh();
      const chain = new ChainWriter(saver, uniqueId());
      const config = await chain.step({ set: { a: 1 } });
      // Task ids sort the other way round from their task paths. U+FF5E (one UTF-16 unit, 0xFF5E) sorts
      // before U+1F600 (a surrogate pair starting 0xD83D) by code point, after it by UTF-16 unit.
      await saver.putWrites(config, [["ch", "push-2"], ["other", "push-2b"]], "a-second", "~__pregel_push, 0000000002");
      await saver.putWrites(config, [["ch", "input"]], "z-input");
      await saver.putWrites(config, [["ch", "astral path"]], "c-astral", "x\u{1F600}");
      await saver.putWrites(config, [["ch", "push-1"], [INTERRUPT, "int"]], "b-first", "~__pregel_push, 0000000001");
      await saver.putWrites(config, [["ch", "astral id"]], "t\u{1F600}", "p");
      await saver.putWrites(config, [["ch", "bmp path"]], "d-bmp", "x\uFF5E");
      await saver.putWrites(config, [["ch", "bmp id"]], "t\uFF5E", "p");
      await saver.putWrites(config, [["ch", "empty path"]], "y-input", "");
      const expected = [
        ["y-input", "ch", "empty path"],
        ["z-input", "ch", "input"],
        ["t\uFF5E", "ch", "bmp id"],
        ["t\u{1F600}", "ch", "astral id"],
        ["d-bmp", "ch", "bmp path"],
        ["c-astral", "ch", "astral path"],
        ["b-first", INTERRUPT, "int"],
        ["b-first", "ch", "push-1"],
        ["a-second", "ch", "push-2"],
        ["a-second", "other", "push-2b"],
      ];
      expect(writesOf(await saver.getTuple(config)), "getTuple").toEqual(expected);
      expect(writesOf(await saver.getTuple(chain.config())), "getTuple of the latest").toEqual(expected);
      expect(writesOf((await collect(saver.list(chain.config())))[0]), "list").toEqual(expected);
      expect(writesOf((await collect(saver.list(chain.config(), { limit: 1 })))[0]), "list with a limit").toEqual(expected);
    });

    test("putWrites - writes belong to one checkpoint of one namespace", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const root = new ChainWriter(saver, thread, "");
      const child = new ChainWriter(saver, thread, "child:1");
      const r0 = await root.step();
      const c0 = await child.step();
      await saver.putWrites(r0, [["ch", "root"]], "task-1");
      await saver.putWrites(c0, [["ch", "child"]], "task-1");
      expect(writesOf(await saver.getTuple(r0))).toEqual([["task-1", "ch", "root"]]);
      expect(writesOf(await saver.getTuple(c0))).toEqual([["task-1", "ch", "child"]]);
      const r1 = await root.step();
      expect(writesOf(await saver.getTuple(r1)), "a new checkpoint starts without the parent's writes").toEqual([]);
    });

    test("putWrites - task_path is accepted and not returned", async () => {
      const saver = await fresh();
      const config = await new ChainWriter(saver, uniqueId()).step();
      await saver.putWrites(config, [["ch", "v"]], "task-1", "a:b:c");
      const tuple = await saver.getTuple(config);
      expect(tuple?.pendingWrites).toEqual([["task-1", "ch", "v"]]);
    });

    test("putWrites - a config without checkpoint_id or thread_id is rejected with InvalidArgumentError", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      await expectTypedError(saver.putWrites(threadConfig(thread), [["ch", 1]], "task-1"), InvalidArgumentError, "putWrites without checkpoint_id");
      await expectTypedError(
        saver.putWrites({ configurable: { checkpoint_ns: "", checkpoint_id: nextCheckpointId() } }, [["ch", 1]], "task-1"),
        InvalidArgumentError,
        "putWrites without thread_id",
      );
      expect(await saver.getTuple(threadConfig(thread))).toBeUndefined();
    });
  });
}
