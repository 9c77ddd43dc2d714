import type { RedisConnection } from "./connection.js";

/** One change of the key layout. Redis has no schema: a migration rewrites keys when the layout changes. */
export interface RedisMigration {
  description: string;
  up(connection: RedisConnection): Promise<void>;
}

/**
 * The key layout versions, oldest first. The position of a migration in the list is the version it
 * brings the data to (stored at `{<prefix>:m}:version`); `setup()` applies the missing ones under a lock.
 */
export const MIGRATIONS: readonly RedisMigration[] = [
  {
    description: "v1: per-thread hash-tagged keys, global checkpoint/thread/run indexes, store items with namespace indexes (see keys.ts)",
    async up() {
      // The first layout needs no data change: keys are created on first write.
    },
  },
];
