export { MemorySaver, MemoryCheckpointData } from "./saver.js";
export { InMemoryStore, MemoryStoreData } from "./store.js";
export type { MemorySaverOptions, InMemoryStoreOptions } from "./options.js";
