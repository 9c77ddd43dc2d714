import type { PersistSaverOptions, PersistStoreOptions } from "@langgraph-persist/core";
import type { Cluster, ClusterOptions, Redis, RedisOptions } from "ioredis";

/** How a saver or store reaches Redis. Give exactly one of `client` and `url`. */
export interface RedisConnectionOptions {
  /**
   * An ioredis `Redis` or `Cluster` client. The caller owns it: `close()` leaves it open. It must not be in
   * subscriber mode (give the adapter its own connection, e.g. `client.duplicate()`).
   */
  client?: Redis | Cluster;
  /**
   * A connection URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS). The adapter creates the
   * client and quits it on `close()`.
   */
  url?: string;
  /**
   * Treat `url` as a seed node of a Redis Cluster and connect with an ioredis `Cluster`.
   * @default false
   */
  cluster?: boolean;
  /**
   * How long a client created from `url` may take to connect and become ready (TCP, TLS, AUTH and the
   * server's first answer) before `setup()` or the first call fails with `TimeoutError`
   * (`phase: "connect"`); ioredis's `connectTimeout` bounds the TCP part. `0`: no limit. Order: this
   * option, then `redisOptions.connectTimeout`, then `?connectTimeout=<ms>` in the URL. A `client` you pass
   * keeps its own settings.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * How long one command of a client created from `url` may wait for its answer (ioredis's
   * `commandTimeout`) before the call fails with `TimeoutError` (`phase: "command"`, or `"connect"` when
   * the command was still waiting for the connection). `0`: no limit. Order: this option, then
   * `redisOptions.commandTimeout`, then `?commandTimeout=<ms>` in the URL. A `client` you pass keeps its own
   * settings.
   * @default 10000
   */
  commandTimeoutMs?: number;
  /**
   * Options for the `Redis` client created from `url` (or, with `cluster: true`, for each node connection).
   * @default { maxRetriesPerRequest: 3, connectTimeout: 10000, commandTimeout: 10000 } — a command fails
   * with a typed error after three reconnection attempts or 10 s without an answer instead of waiting for
   * the server indefinitely; the client keeps reconnecting, so the next call works once the server is back.
   */
  redisOptions?: RedisOptions;
  /**
   * Options for the `Cluster` client created from `url` when `cluster: true`.
   * @default {}
   */
  clusterOptions?: ClusterOptions;
  /**
   * Prefix of every key, so several applications can share one database. Letters, digits and `_ . - / |`
   * (no `{`, `}` or `:`, because it is part of Redis Cluster hash tags). A saver and a store may share a prefix.
   * @default "lgp"
   */
  keyPrefix?: string;
}

/** Options of `RedisSaver`. */
export interface RedisSaverOptions extends PersistSaverOptions, RedisConnectionOptions {}

/** Options of `RedisStore`. */
export interface RedisStoreOptions extends PersistStoreOptions, RedisConnectionOptions {}
