import { runCheckpointerConformance, runGraphConformance, runStoreConformance, type SaverHarness, type StoreHarness } from "@langgraph-persist/conformance";
import { InMemoryStore, MemorySaver } from "../src/index.js";

const saver: SaverHarness<MemorySaver> = {
  name: "memory",
  async create(options) {
    const s = new MemorySaver(options);
    await s.setup();
    return s;
  },
  capabilities: new MemorySaver().capabilities,
};

const store: StoreHarness<InMemoryStore> = {
  name: "memory",
  async create(options) {
    const s = new InMemoryStore(options);
    await s.setup();
    return s;
  },
  capabilities: new InMemoryStore().capabilities,
};

runCheckpointerConformance(saver);
runStoreConformance(store);
runGraphConformance({ name: "memory", saver, store });
