import { expect } from "vitest";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { saverGroup } from "./context.js";
import { ChainWriter, collect, sleep, threadConfig } from "./fixtures.js";

export function ttlGroup(harness: SaverHarness): void {
  saverGroup(harness, "ttl", ({ fresh, test, caps }) => {
    const requires: Array<[string, boolean]> = [["ttl", caps.ttl]];

    test(
      "ttl - a thread not written for defaultTtl disappears from getTuple and list",
      async () => {
        // 0.005 minutes = 300 ms.
        const saver = await fresh({ ttl: { defaultTtl: 0.005 } });
        const marker = uniqueId("marker");
        const root = new ChainWriter(saver, uniqueId());
        const child = new ChainWriter(saver, root.threadId, "child:1");
        await root.step({ set: { a: 1 }, metadata: { marker }, writes: [["a", "w"]] });
        await child.step({ set: { b: 2 }, metadata: { marker } });
        expect((await saver.getTuple(root.config()))?.checkpoint.id, "stored before expiry").toBe(root.ids[0]);
        await sleep(1_000);
        expect(await saver.getTuple(root.config())).toBeUndefined();
        expect(await saver.getTuple(threadConfig(root.threadId, "child:1"))).toBeUndefined();
        expect(await saver.getTuple(root.config(root.ids[0]))).toBeUndefined();
        expect(await collect(saver.list({ configurable: { thread_id: root.threadId } }))).toEqual([]);
        expect(await collect(saver.list({}, { filter: { marker } }))).toEqual([]);
      },
      { requires, timeout: 10_000 },
    );

    test(
      "ttl - with refreshOnRead, a thread read periodically survives while an unread one expires",
      async () => {
        // 0.02 minutes = 1.2 s; the kept thread is read every 300 ms for 2 s.
        const saver = await fresh({ ttl: { defaultTtl: 0.02, refreshOnRead: true } });
        const kept = new ChainWriter(saver, uniqueId("kept"));
        const unread = new ChainWriter(saver, uniqueId("unread"));
        await kept.step({ set: { a: 1 } });
        await unread.step({ set: { a: 1 } });
        const started = Date.now();
        while (Date.now() - started < 2_000) {
          await sleep(300);
          expect((await saver.getTuple(kept.config()))?.checkpoint.id, "the read thread is alive").toBe(kept.ids[0]);
        }
        expect((await saver.getTuple(kept.config()))?.checkpoint.channel_values).toEqual({ a: 1 });
        expect(await saver.getTuple(unread.config()), "the unread thread expired").toBeUndefined();
      },
      { requires, timeout: 15_000 },
    );
  });
}
