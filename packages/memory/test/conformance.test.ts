import { runCheckpointerConformance, runGraphConformance, runStoreConformance, type SaverHarness, type StoreHarness } from "@langgraph-persist/conformance";
import { InMemoryStore, MemorySaver } from "../src/index.js";

/** One shared data set per harness, so `createPeer` returns a second saver on the same data. */
let shared: MemorySaver | undefined;

const saver: SaverHarness<MemorySaver> = {
  name: "memory",
  async create(options) {
    const s = new MemorySaver(options);
    await s.setup();
    shared = s;
    return s;
  },
  async createPeer(options) {
    const s = new MemorySaver({ ...options, data: shared?.data });
    await s.setup();
    return s;
  },
  async countThreadArtifacts(s, threadId) {
    const thread = (s.data as unknown as { threads: Map<string, { checkpoints: Map<string, Map<string, unknown>>; blobs: Map<string, unknown>; writes: Map<string, Map<string, unknown>> }> }).threads.get(threadId);
    if (!thread) return 0;
    let n = 0;
    for (const m of (thread.blobs as unknown as Map<string, Map<string, unknown>>).values()) n += m.size;
    for (const m of thread.checkpoints.values()) n += m.size;
    for (const m of thread.writes.values()) n += m.size;
    return n;
  },
  capabilities: new MemorySaver().capabilities,
};

let sharedStore: InMemoryStore | undefined;

const store: StoreHarness<InMemoryStore> = {
  name: "memory",
  async create(options) {
    const s = new InMemoryStore(options);
    await s.setup();
    sharedStore = s;
    return s;
  },
  async createPeer(options) {
    const s = new InMemoryStore({ ...options, data: sharedStore?.items });
    await s.setup();
    return s;
  },
  capabilities: new InMemoryStore().capabilities,
};

runCheckpointerConformance(saver);
runStoreConformance(store);
runGraphConformance({ name: "memory", saver, store });

