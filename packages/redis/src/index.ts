export { RedisSaver } from "./saver.js";
export { RedisStore } from "./store.js";
export type { RedisConnectionOptions, RedisSaverOptions, RedisStoreOptions } from "./options.js";
