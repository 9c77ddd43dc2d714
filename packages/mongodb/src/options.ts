import type { PersistSaverOptions, PersistStoreOptions } from "@langgraph-persist/core";
import type { MongoClient, MongoClientOptions } from "mongodb";

/** How a saver or store reaches MongoDB. Give exactly one of `client` and `url`. */
export interface MongoDBConnectionOptions {
  /**
   * An existing, caller-owned client. `close()` leaves it open: closing it is the caller's job.
   */
  client?: MongoClient;
  /**
   * A connection string (`mongodb://` or `mongodb+srv://`). The saver or store creates the client,
   * owns it and closes it in `close()`.
   */
  url?: string;
  /** Options for the client created from `url` (ignored with `client`). */
  clientOptions?: MongoClientOptions;
  /**
   * Database that holds the collections.
   * @default the database named in the connection string (the driver's default, `"test"`, when it names none)
   */
  dbName?: string;
  /**
   * Prefix of every collection name: letters, digits, `_`, `-` and `.`, not starting with `system.`.
   * Two savers (or stores) with different prefixes share nothing.
   * @default "langgraph_"
   */
  collectionPrefix?: string;
  /**
   * Whether multi-document writes run inside a transaction. `"auto"` uses one when the deployment
   * supports it (a replica set or a sharded cluster, detected with `hello` during `setup()`); `true`
   * makes `setup()` fail with `CapabilityError` on a standalone server; `false` never uses one. Without
   * a transaction the writes go in an order that never exposes a partial checkpoint (see the README).
   * @default "auto"
   */
  transactions?: "auto" | boolean;
  /**
   * Whether writes that touch several collections are sent as one `bulkWrite` command across
   * collections (`MongoClient.bulkWrite`, MongoDB 8.0+). `"auto"` uses it when the server supports it;
   * `false` sends one `bulkWrite` per collection, in commit order.
   * @default "auto"
   */
  clientBulkWrite?: "auto" | false;
}

/** Options of {@link MongoDBSaver}. */
export interface MongoDBSaverOptions extends PersistSaverOptions, MongoDBConnectionOptions {}

/** Options of {@link MongoDBStore}. */
export interface MongoDBStoreOptions extends PersistStoreOptions, MongoDBConnectionOptions {
  /**
   * Name of an Atlas Vector Search index on the store's vectors collection
   * (`<collectionPrefix>store_vectors`, see `vectorSearchIndexDefinition()`). When set, semantic search
   * runs `$vectorSearch` (approximate nearest neighbours) with the namespace prefix and the filter as
   * pre-filters; when unset, it ranks by the exact score of `index.distanceType` computed in an
   * aggregation pipeline. Either way the returned scores are exact; create the Atlas index with the
   * matching `similarity` (cosine: "cosine", l2: "euclidean", inner_product: "dotProduct").
   * Requires `index`.
   */
  vectorIndexName?: string;
  /**
   * Value paths (dotted, e.g. `"kind"` or `"profile.age"`) declared as `filter` fields in the Atlas
   * vector index. Filter conditions on these paths are applied inside `$vectorSearch`; every condition
   * is re-checked exactly afterwards.
   * @default []
   */
  vectorFilterFields?: string[];
  /**
   * `numCandidates` of `$vectorSearch`: how many nearest neighbours Atlas considers. Higher is more
   * accurate and slower. An integer from 1 to 10,000 (Atlas's limit); anything else is refused by the
   * constructor with `InvalidArgumentError`. A search page that reaches past the candidates
   * (offset + limit above them) is ranked exactly instead, as without `vectorIndexName`.
   * @default 10 × (offset + limit), at least 100 and at most 10,000
   */
  vectorNumCandidates?: number;
}
