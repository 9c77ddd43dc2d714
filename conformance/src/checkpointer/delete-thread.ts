import { expect } from "vitest";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { saverGroup } from "./context.js";
import { collect, makeCheckpoint, makeMetadata, populateThread, snapshotThread, threadConfig } from "./fixtures.js";

export function deleteThreadGroup(harness: SaverHarness): void {
  saverGroup(harness, "deleteThread", ({ fresh, test }) => {
    test("deleteThread - leaves no checkpoint, blob or write of the thread in any namespace", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const { root, child } = await populateThread(saver, thread);
      if (harness.countThreadArtifacts) {
        expect(await harness.countThreadArtifacts(saver, thread), "countThreadArtifacts sees the thread before the delete").toBeGreaterThan(0);
      }
      await saver.deleteThread(thread);

      expect(await saver.getTuple(threadConfig(thread, ""))).toBeUndefined();
      expect(await saver.getTuple(threadConfig(thread, "child:1"))).toBeUndefined();
      for (const id of root.ids) expect(await saver.getTuple(threadConfig(thread, "", id))).toBeUndefined();
      for (const id of child.ids) expect(await saver.getTuple(threadConfig(thread, "child:1", id))).toBeUndefined();
      expect(await collect(saver.list({ configurable: { thread_id: thread } }))).toEqual([]);
      expect(await collect(saver.list(threadConfig(thread, "")))).toEqual([]);
      if (harness.countThreadArtifacts) expect(await harness.countThreadArtifacts(saver, thread), "storage artefacts left").toBe(0);

      // Re-putting a deleted checkpoint id that points at the old channel versions without new blobs
      // shows whether blobs and writes survived.
      const old = root.checkpoints.get(root.ids[2])!;
      const again = makeCheckpoint({ id: old.id, values: old.channel_values, versions: old.channel_versions });
      await saver.put(threadConfig(thread, ""), again, makeMetadata(0), {});
      const tuple = await saver.getTuple(threadConfig(thread, "", old.id));
      expect(tuple?.checkpoint.channel_values, "no blob of the deleted thread is read back").toEqual({});
      expect(tuple?.pendingWrites, "no write of the deleted thread is read back").toEqual([]);
    });

    test("deleteThread - leaves other threads untouched, including ids that share a prefix", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const neighbours = [uniqueId(), `${thread}-2`, `${thread}:x`, `${thread}0`];
      await populateThread(saver, thread);
      for (const n of neighbours) await populateThread(saver, n);
      const before = await Promise.all(neighbours.map((n) => snapshotThread(saver, n)));
      const counts = harness.countThreadArtifacts ? await Promise.all(neighbours.map((n) => harness.countThreadArtifacts!(saver, n))) : undefined;
      await saver.deleteThread(thread);
      expect(await collect(saver.list({ configurable: { thread_id: thread } }))).toEqual([]);
      const after = await Promise.all(neighbours.map((n) => snapshotThread(saver, n)));
      for (let i = 0; i < neighbours.length; i++) {
        expect(after[i], `thread ${neighbours[i]}`).toEqual(before[i]);
        expect((after[i] as unknown[]).length).toBe(5);
      }
      if (counts) {
        const countsAfter = await Promise.all(neighbours.map((n) => harness.countThreadArtifacts!(saver, n)));
        expect(countsAfter).toEqual(counts);
      }
    });

    test("deleteThread - an unknown thread is a no-op", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      await populateThread(saver, thread);
      const before = await snapshotThread(saver, thread);
      await saver.deleteThread(uniqueId());
      expect(await snapshotThread(saver, thread)).toEqual(before);
    });
  });
}
