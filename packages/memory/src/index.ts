export { MemorySaver } from "./saver.js";
export { InMemoryStore } from "./store.js";
export type { MemorySaverOptions, InMemoryStoreOptions } from "./options.js";
