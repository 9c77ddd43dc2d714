import type { BaseMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { PersistSaver, PersistStore, PersistStoreOptions } from "@langgraph-persist/core";
import { conformanceGroup, conformanceTest, uniqueId, type ConformanceTestOptions } from "../define.js";
import { HashEmbeddings } from "../fakes.js";
import type { GraphHarness } from "../harness.js";

/** What a graph test gets: fresh savers and stores, each released after the test. */
export interface GraphContext {
  harness: GraphHarness;
  /** A new saver from the harness. */
  saver(): Promise<PersistSaver>;
  /**
   * A second saver on the same data as `saver`, as a new process would open it. Harnesses without
   * `createPeer` (an in-process backend whose instances share nothing) get `saver` itself back.
   */
  peerOf(saver: PersistSaver): Promise<PersistSaver>;
  /** A new store from the harness. */
  store(options?: PersistStoreOptions): Promise<PersistStore>;
  /** A new store with semantic search over the `text` field (64-dim hashed embeddings). */
  semanticStore(): Promise<PersistStore>;
  test(name: string, fn: () => Promise<void>, options?: ConformanceTestOptions): void;
}

type Release = () => Promise<void>;

/**
 * One describe block of graph tests. It runs the saver and store harnesses' setup/teardown once and
 * releases every instance a test created after it, even when the test fails.
 */
export function graphGroup(title: string, harness: GraphHarness, body: (ctx: GraphContext) => void): void {
  const { saver: saverHarness, store: storeHarness } = harness;
  const lifecycle = {
    async setup() {
      await saverHarness.setup?.();
      await storeHarness.setup?.();
    },
    async teardown() {
      await storeHarness.teardown?.();
      await saverHarness.teardown?.();
    },
    async destroy(release: Release) {
      await release();
    },
  };
  conformanceGroup<Release>(title, lifecycle, (track) => {
    const releaseSaver = (s: PersistSaver): Release => () => (saverHarness.destroy ? saverHarness.destroy(s) : s.close());
    const ctx: GraphContext = {
      harness,
      async saver() {
        const s = await saverHarness.create();
        track(releaseSaver(s));
        return s;
      },
      async peerOf(saver) {
        if (!saverHarness.createPeer) return saver;
        const s = await saverHarness.createPeer();
        track(releaseSaver(s));
        return s;
      },
      async store(options) {
        const s = await storeHarness.create(options);
        track(() => (storeHarness.destroy ? storeHarness.destroy(s) : s.close()));
        return s;
      },
      async semanticStore() {
        return ctx.store({ index: { dims: 64, embeddings: new HashEmbeddings(64), fields: ["text"] } });
      },
      test(name, fn, options) {
        conformanceTest(harness.exclude, name, fn, options);
      },
    };
    body(ctx);
  });
}

/** A config for a new, unique thread. */
export function newThread(extra: Record<string, unknown> = {}): RunnableConfig & { configurable: { thread_id: string } } {
  return { configurable: { thread_id: uniqueId("thread"), ...extra } };
}

/** The text of each message, in order. */
export function texts(messages: readonly BaseMessage[]): string[] {
  return messages.map((m) => m.text);
}

/** The type ("human", "ai", "system", ...) of each message, in order. */
export function types(messages: readonly BaseMessage[]): string[] {
  return messages.map((m) => m.getType());
}

/** Collects an async iterable (getStateHistory, list) into an array. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

/** The checkpoint id a config points at. */
export function checkpointIdOf(config: RunnableConfig | undefined): string | undefined {
  return config?.configurable?.checkpoint_id as string | undefined;
}

/** Concatenating reducer for `string[]` channels. */
export function concat(a: string[], b: string[] | string): string[] {
  return a.concat(b);
}
