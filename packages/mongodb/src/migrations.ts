import type { Connection } from "./connection.js";
import { saverIndexes, storeIndexes, type IndexSpec, type SaverCollections, type StoreCollections } from "./keys.js";

/**
 * Schema steps, in order. The position of a step in its list is the schema version it produces; the
 * applied version is kept per component in `<collectionPrefix>migrations` (`{ _id: "saver" | "store",
 * version }`). Every step is idempotent, so processes that run `setup()` at the same time may both
 * apply a step without harm, and no lock is needed; a future step that is not idempotent must take a
 * lease lock in that collection first.
 */
export interface Migration<C> {
  description: string;
  apply(connection: Connection, collections: C): Promise<void>;
}

// Concurrent setups may race on creating the same collection or index; both outcomes are the wanted state.
const BENIGN_RACES = new Set(["NamespaceExists", "IndexAlreadyExists", "IndexBuildAlreadyInProgress"]);

/** Creates the indexes (and with them the collections) of each collection; one command per collection. */
export async function ensureIndexes(connection: Connection, specs: Record<string, IndexSpec[]>): Promise<void> {
  for (const [collection, indexes] of Object.entries(specs)) {
    for (let attempt = 0; ; attempt++) {
      try {
        await connection.collection(collection).createIndexes(indexes);
        break;
      } catch (err) {
        const codeName = (err as { codeName?: string }).codeName;
        if (attempt >= 5 || codeName === undefined || !BENIGN_RACES.has(codeName)) throw err;
      }
    }
  }
}

export const SAVER_MIGRATIONS: ReadonlyArray<Migration<SaverCollections>> = [
  {
    description: "checkpoints, blobs, writes and threads collections with their indexes",
    apply: (connection, c) => ensureIndexes(connection, saverIndexes(c)),
  },
];

export const STORE_MIGRATIONS: ReadonlyArray<Migration<StoreCollections>> = [
  {
    description: "items collection with its (ns, key) and TTL indexes",
    apply: (connection, c) => ensureIndexes(connection, storeIndexes(c, false)),
  },
];

/** Applies the steps this database has not seen yet and records the new version. */
export async function applyMigrations<C>(
  connection: Connection,
  migrationsCollection: string,
  component: "saver" | "store",
  steps: ReadonlyArray<Migration<C>>,
  collections: C,
): Promise<number> {
  const versions = connection.collection<{ _id: string; version: number }>(migrationsCollection);
  const current = (await versions.findOne({ _id: component }))?.version ?? 0;
  for (let v = current; v < steps.length; v++) await steps[v].apply(connection, collections);
  if (current < steps.length) {
    await versions.updateOne({ _id: component }, { $max: { version: steps.length } }, { upsert: true });
  }
  return Math.max(current, steps.length);
}
