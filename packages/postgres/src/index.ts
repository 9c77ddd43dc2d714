export { PostgresSaver } from "./saver.js";
export { PostgresStore } from "./store.js";
export type { PostgresConnection, PostgresCommonOptions, PostgresSaverOptions, PostgresStoreOptions, HnswIndexOptions, VectorIndexOptions } from "./options.js";
export { SAVER_MIGRATIONS, STORE_MIGRATIONS, VECTOR_MIGRATIONS, type Migration } from "./migrations.js";
