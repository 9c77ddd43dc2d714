import type { PersistSaver, PersistStore } from "@langgraph-persist/core";
import { resolveBackend } from "./backends.js";

/** Structurally the `BackendHarness` of @langgraph-persist/conformance (kept local: that package is optional). */
export interface UrlHarness {
  name: string;
  saver: {
    name: string;
    create(options?: object): Promise<PersistSaver>;
    createPeer(options?: object): Promise<PersistSaver>;
    teardown(): Promise<void>;
    capabilities: PersistSaver["capabilities"];
  };
  store: {
    name: string;
    create(options?: object): Promise<PersistStore>;
    createPeer(options?: object): Promise<PersistStore>;
    teardown(): Promise<void>;
    capabilities: PersistStore["capabilities"];
  };
}

/**
 * A conformance harness for the backend at `url`: every `create()` opens a new saver/store on it and
 * runs `setup()`. The suite isolates its tests by unique ids, so a shared database works, but it does
 * write test data: point it at a scratch database.
 */
export async function harnessFromUrl(url: string): Promise<UrlHarness> {
  const backend = await resolveBackend(url);
  const probeSaver = await backend.openSaver();
  const probeStore = await backend.openStore();
  const saverCapabilities = probeSaver.capabilities;
  const storeCapabilities = probeStore.capabilities;
  await Promise.all([probeSaver.close(), probeStore.close()]);
  const name = backend.spec.display;
  const saver = async (options = {}) => {
    const s = await backend.openSaver(options);
    await s.setup();
    return s;
  };
  const store = async (options = {}) => {
    const s = await backend.openStore(options);
    await s.setup();
    return s;
  };
  // Every instance opened from one backend sees the same data (for `memory:` too), so a peer is just
  // another instance.
  return {
    name,
    saver: {
      name,
      create: saver,
      createPeer: saver,
      teardown: () => backend.close(),
      capabilities: saverCapabilities,
    },
    store: {
      name,
      create: store,
      createPeer: store,
      teardown: () => backend.close(),
      capabilities: storeCapabilities,
    },
  };
}
