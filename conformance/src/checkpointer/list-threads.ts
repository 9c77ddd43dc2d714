import { expect } from "vitest";
import type { PersistSaver } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { saverGroup } from "./context.js";
import { ChainWriter } from "./fixtures.js";

export function listThreadsGroup(harness: SaverHarness): void {
  saverGroup(harness, "listThreads", ({ fresh, test, caps }) => {
    const requires: Array<[string, boolean]> = [["listThreads", caps.listThreads]];

    /** Three threads whose latest checkpoints are, oldest to newest: b, c, a. */
    async function threeThreads(saver: PersistSaver, marker: string) {
      const a = new ChainWriter(saver, uniqueId("lt-a"));
      const b = new ChainWriter(saver, uniqueId("lt-b"));
      const c = new ChainWriter(saver, uniqueId("lt-c"));
      await a.step({ metadata: { marker, name: "a0" } });
      await b.step({ metadata: { marker, name: "b0" } });
      await c.step({ metadata: { marker, name: "c0" } });
      await b.step({ metadata: { marker, name: "b1" } });
      await c.step({ metadata: { marker, name: "c1" } });
      await a.step({ metadata: { marker, name: "a1" } });
      return { a, b, c };
    }

    test(
      "listThreads - returns each thread once with its latest checkpoint id, ts and metadata, newest first",
      async () => {
        const saver = await fresh();
        const marker = uniqueId("marker");
        const { a, b, c } = await threeThreads(saver, marker);
        const threads = await saver.listThreads({ limit: 10, filter: { marker } });
        expect(threads.map((t) => t.threadId)).toEqual([a.threadId, c.threadId, b.threadId]);
        for (const [info, writer, name] of [
          [threads[0], a, "a1"],
          [threads[1], c, "c1"],
          [threads[2], b, "b1"],
        ] as const) {
          const latest = writer.checkpoints.get(writer.head!)!;
          expect(info.checkpointId, writer.threadId).toBe(latest.id);
          expect(info.checkpointNs).toBe("");
          expect(info.ts).toBe(latest.ts);
          expect(info.metadata).toEqual({ source: "loop", step: 1, parents: {}, marker, name });
        }
      },
      { requires },
    );

    test(
      "listThreads - limit caps the number of threads",
      async () => {
        const saver = await fresh();
        const marker = uniqueId("marker");
        const { a, c } = await threeThreads(saver, marker);
        expect((await saver.listThreads({ limit: 2, filter: { marker } })).map((t) => t.threadId)).toEqual([a.threadId, c.threadId]);
        expect((await saver.listThreads({ limit: 1, filter: { marker } })).map((t) => t.threadId)).toEqual([a.threadId]);
        expect(await saver.listThreads({ limit: 0, filter: { marker } })).toEqual([]);
      },
      { requires },
    );

    test(
      "listThreads - before pages through threads by latest checkpoint id",
      async () => {
        const saver = await fresh();
        const marker = uniqueId("marker");
        const { b, c } = await threeThreads(saver, marker);
        const first = await saver.listThreads({ limit: 1, filter: { marker } });
        const next = await saver.listThreads({ limit: 1, before: first[0].checkpointId, filter: { marker } });
        expect(next.map((t) => t.threadId)).toEqual([c.threadId]);
        const rest = await saver.listThreads({ limit: 10, before: next[0].checkpointId, filter: { marker } });
        expect(rest.map((t) => t.threadId)).toEqual([b.threadId]);
        expect(await saver.listThreads({ limit: 10, before: rest[0].checkpointId, filter: { marker } })).toEqual([]);
      },
      { requires },
    );

    test(
      "listThreads - filter matches the latest checkpoint's metadata only",
      async () => {
        const saver = await fresh();
        const marker = uniqueId("marker");
        const x = new ChainWriter(saver, uniqueId());
        const y = new ChainWriter(saver, uniqueId());
        await x.step({ metadata: { marker, kind: "match" } });
        await y.step({ metadata: { marker, kind: "other" } });
        await x.step({ metadata: { marker, kind: "other" } });
        await y.step({ metadata: { marker, kind: "match", nested: { n: 1 } } });
        expect((await saver.listThreads({ limit: 10, filter: { marker, kind: "match" } })).map((t) => t.threadId)).toEqual([y.threadId]);
        expect((await saver.listThreads({ limit: 10, filter: { marker, nested: { n: 1 } } })).map((t) => t.threadId)).toEqual([y.threadId]);
        expect((await saver.listThreads({ limit: 10, filter: { marker } })).map((t) => t.threadId)).toEqual([y.threadId, x.threadId]);
      },
      { requires },
    );

    test(
      "listThreads - describes a thread by its root namespace and forgets deleted threads",
      async () => {
        const saver = await fresh();
        const marker = uniqueId("marker");
        const root = new ChainWriter(saver, uniqueId());
        const child = new ChainWriter(saver, root.threadId, "child:1");
        const gone = new ChainWriter(saver, uniqueId());
        await root.step({ metadata: { marker } });
        await gone.step({ metadata: { marker } });
        await child.step({ metadata: { marker } });
        const threads = await saver.listThreads({ limit: 10, filter: { marker } });
        expect(threads.find((t) => t.threadId === root.threadId)).toMatchObject({ checkpointId: root.ids[0], checkpointNs: "" });
        await saver.deleteThread(gone.threadId);
        expect((await saver.listThreads({ limit: 10, filter: { marker } })).map((t) => t.threadId)).toEqual([root.threadId]);
      },
      { requires },
    );
  });
}
