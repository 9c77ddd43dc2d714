import { expect } from "vitest";
import { InvalidArgumentError, type TtlPutOperation } from "@langgraph-persist/core";
import type { StoreHarness } from "../harness.js";
import { expectRejection, sleep, sortedKeys, storeGroup } from "./support.js";

/** 0.005 minutes = 300 ms: short enough to keep the suite quick. */
const SHORT_TTL = 0.005;
/** Comfortably past SHORT_TTL. */
const PAST_SHORT_TTL_MS = 450;
/** A sweep every 0.12 s. */
const FAST_SWEEP = 0.002;
/** No sweep during the test: expired items must be hidden by the reads themselves. */
const NO_SWEEP = 60;

export function ttlGroup(harness: StoreHarness): void {
  storeGroup("store: TTL", harness, ({ store: fresh, root: newRoot, test, requires }) => {
    const ttl = { requires: [requires.ttl] };

    test(
      "ttl - an item expires after the store's defaultTtl",
      async () => {
        const store = await fresh({ ttl: { defaultTtl: SHORT_TTL, refreshOnRead: false, sweepIntervalMinutes: FAST_SWEEP } });
        const ns = [newRoot()];
        await store.put(ns, "k", { v: 1 });
        expect((await store.get(ns, "k"))?.value).toEqual({ v: 1 });
        await sleep(PAST_SHORT_TTL_MS);
        expect(await store.get(ns, "k")).toBeNull();
        expect(await store.search(ns)).toEqual([]);
      },
      ttl,
    );

    test(
      "ttl - a ttl on a put operation passed to batch() expires that item only",
      async () => {
        const store = await fresh({ ttl: { refreshOnRead: false, sweepIntervalMinutes: FAST_SWEEP } });
        const ns = [newRoot()];
        const ops: TtlPutOperation[] = [
          { namespace: ns, key: "short", value: { v: 1 }, ttl: SHORT_TTL },
          { namespace: ns, key: "forever", value: { v: 2 } },
        ];
        await store.batch(ops);
        expect(sortedKeys(await store.search(ns))).toEqual(["forever", "short"]);
        await sleep(PAST_SHORT_TTL_MS);
        expect(await store.get(ns, "short")).toBeNull();
        expect((await store.get(ns, "forever"))?.value).toEqual({ v: 2 });
      },
      ttl,
    );

    test(
      "ttl - store.put(ns, key, value, index, { ttl }) overrides a longer defaultTtl",
      async () => {
        const store = await fresh({ ttl: { defaultTtl: 60, refreshOnRead: false, sweepIntervalMinutes: FAST_SWEEP } });
        const ns = [newRoot()];
        await store.put(ns, "short", { v: 1 }, undefined, { ttl: SHORT_TTL });
        await store.put(ns, "default", { v: 2 });
        expect((await store.get(ns, "short"))?.value).toEqual({ v: 1 });
        await sleep(PAST_SHORT_TTL_MS);
        expect(await store.get(ns, "short")).toBeNull();
        expect((await store.get(ns, "default"))?.value).toEqual({ v: 2 });
      },
      ttl,
    );

    test(
      "ttl - an expired item is hidden from get, search and listNamespaces before any sweep",
      async () => {
        const store = await fresh({ ttl: { defaultTtl: SHORT_TTL, refreshOnRead: true, sweepIntervalMinutes: NO_SWEEP } });
        const root = newRoot();
        await store.put([root, "a"], "k", { marker: root });
        await sleep(PAST_SHORT_TTL_MS);
        expect(await store.get([root, "a"], "k")).toBeNull();
        expect(await store.search([root])).toEqual([]);
        expect(await store.search([], { filter: { marker: root } })).toEqual([]);
        expect(await store.listNamespaces({ prefix: [root] })).toEqual([]);
      },
      ttl,
    );

    test(
      "ttl - with refreshOnRead, reads keep an item alive while an unread sibling expires",
      async () => {
        // ttl 0.01 min = 600 ms; reading every 150 ms for over a second outlives it.
        const store = await fresh({ ttl: { defaultTtl: 0.01, refreshOnRead: true, sweepIntervalMinutes: FAST_SWEEP } });
        const ns = [newRoot()];
        await store.batch([
          { namespace: ns, key: "read", value: { v: 1 } },
          { namespace: ns, key: "unread", value: { v: 2 } },
        ]);
        for (let i = 0; i < 7; i++) {
          await sleep(150);
          expect((await store.get(ns, "read"))?.value, `read #${i + 1}`).toEqual({ v: 1 });
        }
        expect(await store.get(ns, "unread")).toBeNull();
        expect((await store.get(ns, "read"))?.value).toEqual({ v: 1 });
      },
      ttl,
    );

    test(
      "ttl - with refreshOnRead: false, reads do not extend the expiry",
      async () => {
        const store = await fresh({ ttl: { defaultTtl: 0.01, refreshOnRead: false, sweepIntervalMinutes: NO_SWEEP } });
        const ns = [newRoot()];
        await store.put(ns, "k", { v: 1 });
        expect((await store.get(ns, "k"))?.value).toEqual({ v: 1 });
        for (let i = 0; i < 5; i++) {
          await sleep(150);
          await store.get(ns, "k");
        }
        await sleep(150);
        expect(await store.get(ns, "k")).toBeNull();
      },
      ttl,
    );

    test(
      "ttl - ttl: null on a put never expires, even with a defaultTtl",
      async () => {
        const store = await fresh({ ttl: { defaultTtl: SHORT_TTL, refreshOnRead: false, sweepIntervalMinutes: FAST_SWEEP } });
        const ns = [newRoot()];
        await store.put(ns, "forever", { v: 1 }, undefined, { ttl: null });
        const ops: TtlPutOperation[] = [
          { namespace: ns, key: "forever-batch", value: { v: 2 }, ttl: null },
          { namespace: ns, key: "default", value: { v: 3 } },
        ];
        await store.batch(ops);
        await sleep(PAST_SHORT_TTL_MS);
        expect(sortedKeys(await store.search(ns))).toEqual(["forever", "forever-batch"]);
      },
      ttl,
    );

    test(
      "ttl - a ttl that is not a positive number of minutes is rejected with InvalidArgumentError",
      async () => {
        const store = await fresh({ ttl: { refreshOnRead: false, sweepIntervalMinutes: NO_SWEEP } });
        const ns = [newRoot()];
        for (const bad of [0, -1, Number.NaN, "1", {}]) {
          await expectRejection(() => store.put(ns, "k", { v: 1 }, undefined, { ttl: bad as number }), InvalidArgumentError);
          const op = { namespace: ns, key: "k", value: { v: 1 }, ttl: bad } as unknown as TtlPutOperation;
          await expectRejection(() => store.batch([op]), InvalidArgumentError);
        }
        expect(await store.get(ns, "k")).toBeNull();
      },
      ttl,
    );
  });
}
