import { expect } from "vitest";
import { INTERRUPT } from "@langchain/langgraph-checkpoint";
import { InvalidArgumentError, type PersistSaver, type PruneOptions } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { expectTypedError, saverGroup } from "./context.js";
import { ChainWriter, collect, makeCheckpoint, makeMetadata, populateThread, snapshotThread, threadConfig, tupleIds, writesOf } from "./fixtures.js";

const runIdsOf = async (saver: PersistSaver, threadId: string, ns = "") =>
  (await collect(saver.list(threadConfig(threadId, ns)))).map((t) => (t.metadata as Record<string, unknown>).run_id);

export function deleteForRunsGroup(harness: SaverHarness): void {
  saverGroup(harness, "deleteForRuns", ({ fresh, test, caps }) => {
    const requires: Array<[string, boolean]> = [["extendedOps", caps.extendedOps]];

    test(
      "deleteForRuns - deletes the checkpoints whose metadata.run_id is listed and keeps their children",
      async () => {
        const saver = await fresh();
        const [r1, r2] = [uniqueId("run"), uniqueId("run")];
        const chain = new ChainWriter(saver, uniqueId());
        await chain.step({ set: { a: 1, messages: ["m0"] }, metadata: { run_id: r1 } });
        await chain.step({ set: { b: 2, messages: ["m0", "m1"] }, metadata: { run_id: r2 } });
        await saver.deleteForRuns([r1]);
        expect(await runIdsOf(saver, chain.threadId)).toEqual([r2]);
        expect(await saver.getTuple(chain.config(chain.ids[0]))).toBeUndefined();
        const child = await saver.getTuple(chain.config(chain.ids[1]));
        expect(child?.checkpoint.id).toBe(chain.ids[1]);
        expect(child?.checkpoint.channel_values, "values written by the deleted parent stay readable").toEqual({ a: 1, b: 2, messages: ["m0", "m1"] });
      },
      { requires },
    );

    test(
      "deleteForRuns - deletes several runs at once and keeps the others",
      async () => {
        const saver = await fresh();
        const [r1, r2, r3] = [uniqueId("run"), uniqueId("run"), uniqueId("run")];
        const chain = new ChainWriter(saver, uniqueId());
        for (const run_id of [r1, r2, r3]) await chain.step({ metadata: { run_id } });
        await chain.step({ parent: null, metadata: {} });
        await saver.deleteForRuns([r1, r2]);
        expect(await runIdsOf(saver, chain.threadId), "checkpoints without a run_id never match").toEqual([undefined, r3]);
      },
      { requires },
    );

    test(
      "deleteForRuns - removes the deleted checkpoints' pending writes",
      async () => {
        const saver = await fresh();
        const r1 = uniqueId("run");
        const chain = new ChainWriter(saver, uniqueId());
        const config = await chain.step({ set: { a: 1 }, metadata: { run_id: r1 }, writes: [["a", "w"], [INTERRUPT, "i"]] });
        expect(writesOf(await saver.getTuple(config))).toHaveLength(2);
        await saver.deleteForRuns([r1]);
        expect(await saver.getTuple(config)).toBeUndefined();
        if (harness.countThreadArtifacts) expect(await harness.countThreadArtifacts(saver, chain.threadId), "storage artefacts left").toBe(0);
        // The same checkpoint put again must not pick up writes of the deleted one.
        const old = chain.checkpoints.get(chain.ids[0])!;
        await saver.put(chain.config(), makeCheckpoint({ id: old.id }), makeMetadata(0), {});
        expect(writesOf(await saver.getTuple(config))).toEqual([]);
      },
      { requires },
    );

    test(
      "deleteForRuns - applies to every namespace and thread",
      async () => {
        const saver = await fresh();
        const [r1, keep] = [uniqueId("run"), uniqueId("run")];
        const thread = uniqueId();
        const other = uniqueId();
        const root = new ChainWriter(saver, thread, "");
        const child = new ChainWriter(saver, thread, "child:1");
        const elsewhere = new ChainWriter(saver, other, "");
        await root.step({ metadata: { run_id: r1 } });
        await child.step({ metadata: { run_id: r1 } });
        await elsewhere.step({ metadata: { run_id: r1 } });
        await root.step({ metadata: { run_id: keep } });
        await elsewhere.step({ metadata: { run_id: keep } });
        await saver.deleteForRuns([r1]);
        expect(await runIdsOf(saver, thread, "")).toEqual([keep]);
        expect(await runIdsOf(saver, thread, "child:1")).toEqual([]);
        expect(await runIdsOf(saver, other, "")).toEqual([keep]);
      },
      { requires },
    );

    test(
      "deleteForRuns - an empty list or unknown run ids change nothing",
      async () => {
        const saver = await fresh();
        const thread = uniqueId();
        const chain = new ChainWriter(saver, thread);
        await chain.step({ set: { a: 1 }, metadata: { run_id: uniqueId("run") }, writes: [["a", "w"]] });
        await chain.step({ set: { b: 2 } });
        const before = await snapshotThread(saver, thread);
        await saver.deleteForRuns([]);
        await saver.deleteForRuns([uniqueId("unknown-run")]);
        expect(await snapshotThread(saver, thread)).toEqual(before);
      },
      { requires },
    );
  });
}

export function copyThreadGroup(harness: SaverHarness): void {
  saverGroup(harness, "copyThread", ({ fresh, test, caps }) => {
    const requires: Array<[string, boolean]> = [["extendedOps", caps.extendedOps]];

    test(
      "copyThread - copies every checkpoint with its id, order, channel values, metadata and parent",
      async () => {
        const saver = await fresh();
        const source = uniqueId();
        const target = uniqueId();
        const chain = new ChainWriter(saver, source);
        await chain.step({ set: { a: "a0", b: "b0" }, metadata: { run_id: "r", custom: { x: 1 } } });
        await chain.step({ set: { c: "c1" } });
        await chain.step({ clear: ["b"] });
        await chain.step({ set: { a: "a3" }, metadata: { source: "update" } });
        await saver.copyThread(source, target);
        const src = await collect(saver.list(threadConfig(source)));
        const dst = await collect(saver.list(threadConfig(target)));
        expect(tupleIds(dst)).toEqual(tupleIds(src));
        expect(tupleIds(dst)).toEqual([...chain.ids].reverse());
        for (let i = 0; i < src.length; i++) {
          const what = `checkpoint ${src[i].checkpoint.id}`;
          expect(dst[i].checkpoint.channel_values, what).toEqual(chain.valuesAt(src[i].checkpoint.id));
          expect(dst[i].checkpoint, what).toEqual(src[i].checkpoint);
          expect(dst[i].metadata, what).toEqual(src[i].metadata);
          expect(dst[i].config.configurable, what).toMatchObject({ thread_id: target, checkpoint_ns: "", checkpoint_id: src[i].checkpoint.id });
          expect(dst[i].parentConfig?.configurable?.checkpoint_id, what).toBe(src[i].parentConfig?.configurable?.checkpoint_id);
          if (dst[i].parentConfig) expect(dst[i].parentConfig?.configurable?.thread_id, what).toBe(target);
        }
      },
      { requires },
    );

    test(
      "copyThread - copies every namespace and all pending writes",
      async () => {
        const saver = await fresh();
        const source = uniqueId();
        const target = uniqueId();
        const { root, child } = await populateThread(saver, source);
        await saver.copyThread(source, target);
        const dst = (await snapshotThread(saver, target)) as unknown[];
        expect(dst).toEqual(await snapshotThread(saver, source));
        expect(dst).toHaveLength(5);
        for (const writer of [root, child]) {
          for (const id of writer.ids) {
            const tuple = await saver.getTuple(threadConfig(target, writer.checkpointNs, id));
            expect(tuple?.checkpoint.channel_values, `${writer.checkpointNs}/${id}`).toEqual(writer.valuesAt(id));
          }
        }
        const writes = writesOf(await saver.getTuple(threadConfig(target, "")));
        expect(writes).toEqual([["t2", "c", "w2"]]);
        expect((await collect(saver.list(threadConfig(target, "child:1")))).length).toBe(2);
      },
      { requires },
    );

    test(
      "copyThread - leaves the source unchanged and independent of the copy",
      async () => {
        const saver = await fresh();
        const source = uniqueId();
        const target = uniqueId();
        await populateThread(saver, source);
        const before = await snapshotThread(saver, source);
        await saver.copyThread(source, target);
        expect(await snapshotThread(saver, source)).toEqual(before);
        // Changing or deleting the copy does not reach the source.
        const head = await saver.getTuple(threadConfig(target, ""));
        await saver.putWrites(head!.config, [["late", "only-in-copy"]], "t9");
        await saver.deleteThread(target);
        expect(await snapshotThread(saver, source)).toEqual(before);
      },
      { requires },
    );

    test(
      "copyThread - the copy stays complete after the source is deleted or pruned",
      async () => {
        const saver = await fresh();
        const source = uniqueId();
        const target = uniqueId();
        await populateThread(saver, source);
        await saver.copyThread(source, target);
        const copy = await snapshotThread(saver, target);
        await saver.prune([source], { strategy: "keep_latest" });
        expect(await snapshotThread(saver, target)).toEqual(copy);
        await saver.deleteThread(source);
        expect(await snapshotThread(saver, target)).toEqual(copy);
      },
      { requires },
    );

    test(
      "copyThread - keeps channel values without a version, pending_sends and the task paths that order pending writes; so does prune",
      async () => {
        const saver = await fresh();
        const source = uniqueId();
        const target = uniqueId();
        const va = saver.getNextVersion(undefined);
        const root = { ...makeCheckpoint({ v: 1, values: { a: "A", __pregel_tasks: [], loose: { x: [1, "y"] } }, versions: { a: va } }), pending_sends: [{ node: "n", args: 1 }] };
        const c0 = await saver.put(threadConfig(source), root, makeMetadata(0), { a: va });
        const child = makeCheckpoint({ values: { a: "A", only: "child" }, versions: { a: va } });
        const c1 = await saver.put(c0, child, makeMetadata(1), {});
        // Task ids sort the other way round from their task paths.
        await saver.putWrites(c1, [["ch", "second"]], "a-task", "~__pregel_push, 0000000002");
        await saver.putWrites(c1, [["ch", "first"], [INTERRUPT, "stop"]], "b-task", "~__pregel_push, 0000000001");
        await saver.putWrites(c1, [["ch", "input"]], "z-input");
        const writes = [
          ["z-input", "ch", "input"],
          ["b-task", INTERRUPT, "stop"],
          ["b-task", "ch", "first"],
          ["a-task", "ch", "second"],
        ];
        await saver.copyThread(source, target);
        await saver.deleteThread(source);
        expect((await saver.getTuple(threadConfig(target, "", root.id)))?.checkpoint).toEqual(root);
        expect((await saver.getTuple(threadConfig(target, "", child.id)))?.checkpoint).toEqual(child);
        expect((await collect(saver.list(threadConfig(target)))).map((t) => t.checkpoint)).toEqual([child, root]);
        expect(writesOf(await saver.getTuple(threadConfig(target)))).toEqual(writes);
        await saver.prune([target], { strategy: "keep_latest" });
        const kept = await saver.getTuple(threadConfig(target));
        expect(kept?.checkpoint).toEqual(child);
        expect(writesOf(kept)).toEqual(writes);
      },
      { requires },
    );

    test(
      "copyThread - a missing source leaves the target empty",
      async () => {
        const saver = await fresh();
        const target = uniqueId();
        try {
          await saver.copyThread(uniqueId("missing"), target);
        } catch {
          // Rejecting is allowed; creating anything is not.
        }
        expect(await collect(saver.list({ configurable: { thread_id: target } }))).toEqual([]);
        expect(await saver.getTuple(threadConfig(target))).toBeUndefined();
        if (harness.countThreadArtifacts) expect(await harness.countThreadArtifacts(saver, target)).toBe(0);
      },
      { requires },
    );
  });
}

export function pruneGroup(harness: SaverHarness): void {
  saverGroup(harness, "prune", ({ fresh, test, caps }) => {
    const requires: Array<[string, boolean]> = [["extendedOps", caps.extendedOps]];

    test(
      "prune - keep_latest keeps exactly the newest checkpoint of each namespace",
      async () => {
        const saver = await fresh();
        const thread = uniqueId();
        const root = new ChainWriter(saver, thread, "");
        const child = new ChainWriter(saver, thread, "child:1");
        await root.chain(2);
        await child.chain(2);
        await root.step({ set: { step: 2 } });
        await saver.prune([thread], { strategy: "keep_latest" });
        expect(tupleIds(await collect(saver.list(threadConfig(thread, ""))))).toEqual([root.ids[2]]);
        expect(tupleIds(await collect(saver.list(threadConfig(thread, "child:1"))))).toEqual([child.ids[1]]);
        for (const id of root.ids.slice(0, 2)) expect(await saver.getTuple(threadConfig(thread, "", id))).toBeUndefined();
      },
      { requires },
    );

    test(
      "prune - keep_latest keeps the latest checkpoint's writes and every channel value, even those written by pruned ancestors",
      async () => {
        const saver = await fresh();
        const chain = new ChainWriter(saver, uniqueId());
        await chain.step({ set: { a: "from-0", messages: ["m0"] }, writes: [["a", "old-0"]] });
        await chain.step({ set: { b: "from-1", messages: ["m0", "m1"] }, writes: [["b", "old-1"]] });
        await chain.step({ set: { c: "from-2", messages: ["m0", "m1", "m2"] }, writes: [["c", "latest"], [INTERRUPT, "stop"]], taskId: "t2" });
        const expected = await saver.getTuple(chain.config());
        await saver.prune([chain.threadId]);
        const kept = await saver.getTuple(chain.config());
        expect(kept?.checkpoint.id).toBe(chain.ids[2]);
        expect(kept?.checkpoint.channel_values).toEqual({ a: "from-0", b: "from-1", c: "from-2", messages: ["m0", "m1", "m2"] });
        expect(kept?.checkpoint).toEqual(expected?.checkpoint);
        expect(writesOf(kept)).toEqual([
          ["t2", INTERRUPT, "stop"],
          ["t2", "c", "latest"],
        ]);
        expect(await collect(saver.list(chain.config()))).toHaveLength(1);
      },
      { requires },
    );

    test(
      "prune - keep_latest handles several threads and leaves other threads untouched",
      async () => {
        const saver = await fresh();
        const [t1, t2, untouched] = [new ChainWriter(saver, uniqueId()), new ChainWriter(saver, uniqueId()), new ChainWriter(saver, uniqueId())];
        await t1.chain(3);
        await t2.chain(2);
        await untouched.chain(3);
        const before = await snapshotThread(saver, untouched.threadId);
        await saver.prune([t1.threadId, t2.threadId], { strategy: "keep_latest" });
        expect(tupleIds(await collect(saver.list(t1.config())))).toEqual([t1.ids[2]]);
        expect(tupleIds(await collect(saver.list(t2.config())))).toEqual([t2.ids[1]]);
        expect(await snapshotThread(saver, untouched.threadId)).toEqual(before);
      },
      { requires },
    );

    test(
      "prune - delete removes the threads in every namespace",
      async () => {
        const saver = await fresh();
        const thread = uniqueId();
        const other = uniqueId();
        await populateThread(saver, thread);
        await populateThread(saver, other);
        const before = await snapshotThread(saver, other);
        await saver.prune([thread], { strategy: "delete" });
        expect(await collect(saver.list({ configurable: { thread_id: thread } }))).toEqual([]);
        expect(await saver.getTuple(threadConfig(thread, "child:1"))).toBeUndefined();
        if (harness.countThreadArtifacts) expect(await harness.countThreadArtifacts(saver, thread)).toBe(0);
        expect(await snapshotThread(saver, other)).toEqual(before);
      },
      { requires },
    );

    test(
      "prune - an unknown strategy is rejected with InvalidArgumentError and deletes nothing",
      async () => {
        const saver = await fresh();
        const chain = new ChainWriter(saver, uniqueId());
        await chain.chain(3);
        await expectTypedError(
          saver.prune([chain.threadId], { strategy: "keep_none" } as unknown as PruneOptions),
          InvalidArgumentError,
          "prune with an unknown strategy",
        );
        expect(await collect(saver.list(chain.config()))).toHaveLength(3);
      },
      { requires },
    );

    test(
      "prune - an empty list or unknown threads change nothing",
      async () => {
        const saver = await fresh();
        const thread = uniqueId();
        await populateThread(saver, thread);
        const before = await snapshotThread(saver, thread);
        await saver.prune([], { strategy: "keep_latest" });
        await saver.prune([uniqueId()], { strategy: "keep_latest" });
        await saver.prune([uniqueId()], { strategy: "delete" });
        expect(await snapshotThread(saver, thread)).toEqual(before);
      },
      { requires },
    );
  });
}
