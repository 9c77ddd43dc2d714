export { MongoDBSaver } from "./saver.js";
export { MongoDBStore } from "./store.js";
export { vectorSearchIndexDefinition, DEFAULT_COLLECTION_PREFIX, saverCollections, storeCollections } from "./keys.js";
export type { SaverCollections, StoreCollections } from "./keys.js";
export type { MongoDBConnectionOptions, MongoDBSaverOptions, MongoDBStoreOptions } from "./options.js";
