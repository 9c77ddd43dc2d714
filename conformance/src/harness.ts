import type { LinearStorageOptions, PersistSaver, PersistStore, PersistStoreOptions, SaverCapabilities, SaverTtlConfig, StoreCapabilities } from "@langgraph-persist/core";

/** A test the harness opts out of, by its exact name, with the reason. */
export interface Exclusion {
  /** The exact test name as the suite prints it. */
  test: string;
  reason: string;
}

export interface SaverCreateOptions {
  ttl?: SaverTtlConfig;
  /** Passed to the saver's `linearStorage` option (the linear-storage group uses short chains). */
  linearStorage?: LinearStorageOptions;
}

/**
 * How the suite gets a fresh checkpointer for each test. Tests isolate themselves with unique thread
 * ids, so one database can serve every test.
 */
export interface SaverHarness<T extends PersistSaver = PersistSaver> {
  name: string;
  /** Once before the group (start a server, create a schema, ...). */
  setup?(): Promise<void>;
  /** Once after the group. */
  teardown?(): Promise<void>;
  /** A new saver on which `setup()` has already run. */
  create(options?: SaverCreateOptions): Promise<T>;
  /** Releases one saver created by `create()`. Defaults to `saver.close()`. */
  destroy?(saver: T): Promise<void>;
  /** A second, independent saver on the same data, for cross-instance tests. Defaults to `create()`. */
  createPeer?(options?: SaverCreateOptions): Promise<T>;
  /**
   * Number of storage artefacts (rows, keys, documents) that still mention `threadId`, for
   * "deleteThread leaves nothing behind" checks. Optional: without it those checks use the public API.
   */
  countThreadArtifacts?(saver: T, threadId: string): Promise<number>;
  capabilities: SaverCapabilities;
  exclude?: Exclusion[];
}

export interface StoreHarness<T extends PersistStore = PersistStore> {
  name: string;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** A new store with these options on which `setup()` has already run. */
  create(options?: PersistStoreOptions): Promise<T>;
  /** A second, independent store on the same data. Defaults to `create()` when the backend is `multiProcess`. */
  createPeer?(options?: PersistStoreOptions): Promise<T>;
  destroy?(store: T): Promise<void>;
  capabilities: StoreCapabilities;
  exclude?: Exclusion[];
}

export interface GraphHarness {
  name: string;
  saver: SaverHarness;
  store: StoreHarness;
  exclude?: Exclusion[];
}

/** Every harness of one backend, for the CLI and `runAllConformance`. */
export interface BackendHarness {
  name: string;
  saver?: SaverHarness;
  store?: StoreHarness;
}
