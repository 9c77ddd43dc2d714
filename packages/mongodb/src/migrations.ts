import { CapabilityError } from "@langgraph-persist/core";
import type { Document } from "mongodb";
import type { Connection } from "./connection.js";
import { SOURCE, saverIndexes, storeIndexes, type IndexSpec, type SaverCollections, type StoreCollections } from "./keys.js";

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

/**
 * The collation of every collection and index: binary comparison of UTF-8 bytes. Key ranges (delta
 * chains, namespace prefixes, `before`), the unique `(ns, key)` index and every equality on ids assume
 * it; a locale collation would make `"A"` and `"a"` (or `"é"` and `"e"`) the same key.
 */
export const SIMPLE_COLLATION = { locale: "simple" } as const;

/** What `listCollections` reports about one collection, as far as `checkCollection` looks. */
export interface CollectionInfo {
  name: string;
  type?: string;
  options?: Document;
}

/**
 * Refuses an existing collection the adapter cannot use as is: a view (or any non-collection), or a
 * collection created with a default collation other than the simple one.
 */
export function checkCollection(info: CollectionInfo): void {
  if (info.type !== undefined && info.type !== "collection") {
    throw new CapabilityError(SOURCE, `"${info.name}" exists but is a ${info.type}, not a collection: drop it or use another collectionPrefix`);
  }
  const collation = info.options?.collation as Document | undefined;
  if (collation !== undefined && collation.locale !== "simple") {
    throw new CapabilityError(
      SOURCE,
      `collection "${info.name}" has the default collation ${JSON.stringify(collation)}; the adapter needs the simple (binary) collation, ` +
        `or distinct keys such as "A" and "a" could collide. Recreate it without a collation (or with { locale: "simple" }), or use another collectionPrefix.`,
    );
  }
}

/**
 * Checks the collections that exist and creates the missing ones with the simple collation, so
 * queries, ranges and unique indexes compare bytes whatever the database's habits. One
 * `listCollections`, plus one `create` per missing collection.
 */
export async function ensureCollections(connection: Connection, names: readonly string[]): Promise<void> {
  const list = async (only: readonly string[]) => (await connection.db.listCollections({ name: { $in: [...only] } }).toArray()) as CollectionInfo[];
  const existing = await list(names);
  existing.forEach(checkCollection);
  const missing = names.filter((n) => !existing.some((e) => e.name === n));
  const raced: string[] = [];
  for (const name of missing) {
    try {
      await connection.db.createCollection(name, { collation: SIMPLE_COLLATION });
    } catch (err) {
      if ((err as { codeName?: string }).codeName !== "NamespaceExists") throw err;
      raced.push(name);
    }
  }
  // Another process created it first: check what it created.
  if (raced.length > 0) (await list(raced)).forEach(checkCollection);
}

/** Creates the indexes (and with them the collections) of each collection; one command per collection. */
export async function ensureIndexes(connection: Connection, specs: Record<string, IndexSpec[]>): Promise<void> {
  for (const [collection, indexes] of Object.entries(specs)) {
    for (let attempt = 0; ; attempt++) {
      try {
        await connection.collection(collection).createIndexes(indexes.map((i) => ({ ...i, collation: SIMPLE_COLLATION })));
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
