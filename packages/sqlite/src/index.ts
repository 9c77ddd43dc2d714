export { SqliteSaver } from "./saver.js";
export { SqliteStore } from "./store.js";
export type { SqliteSaverOptions, SqliteStoreOptions, SqliteConnectionOptions } from "./options.js";
export type { SqliteDatabase } from "./connection.js";
