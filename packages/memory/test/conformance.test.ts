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
    type Blob = { key: string; prev?: Blob };
    type Space = { rows: Array<{ refs: Array<string | Blob> }>; writes?: Map<string, unknown[]>; loose?: Map<string, Blob> };
    const thread = (s.data as unknown as { threads: Map<string, { namespaces: Map<string, Space> }> }).threads.get(threadId);
    if (!thread) return 0;
    let n = 0;
    for (const space of thread.namespaces.values()) {
      // Blobs are held by the rows that reference them (and by the later links of their chains).
      const blobs = new Set<Blob>();
      for (const row of space.rows) {
        n++;
        for (const ref of row.refs) for (let b = typeof ref === "string" ? undefined : ref; b && !blobs.has(b); b = b.prev) blobs.add(b);
      }
      n += blobs.size + (space.loose?.size ?? 0);
      for (const list of space.writes?.values() ?? []) n += list.length;
    }
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

