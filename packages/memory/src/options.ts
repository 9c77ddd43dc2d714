import type { PersistSaverOptions, PersistStoreOptions } from "@langgraph-persist/core";
import type { MemoryCheckpointData } from "./saver.js";
import type { MemoryStoreData } from "./store.js";

/** Options of the in-memory checkpointer. */
export interface MemorySaverOptions extends PersistSaverOptions {
  /**
   * Share the data of another saver (`otherSaver.data`) instead of starting empty. `close()` only
   * clears data the saver created itself.
   * @default a new, empty data set
   */
  data?: MemoryCheckpointData;
}

/** Options of the in-memory store. */
export interface InMemoryStoreOptions extends PersistStoreOptions {
  /**
   * Share the items of another store (`otherStore.items`) instead of starting empty. `close()` only
   * clears items the store created itself.
   * @default a new, empty item set
   */
  data?: MemoryStoreData;
}
