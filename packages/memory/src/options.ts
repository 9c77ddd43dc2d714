import type { PersistSaverOptions, PersistStoreOptions } from "@langgraph-persist/core";

/** Options of the in-memory checkpointer. */
export interface MemorySaverOptions extends PersistSaverOptions {}

/** Options of the in-memory store. */
export interface InMemoryStoreOptions extends PersistStoreOptions {}
