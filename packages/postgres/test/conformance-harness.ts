import pg from "pg";
import { afterAll } from "vitest";
import { runCheckpointerConformance, runGraphConformance, runStoreConformance, type SaverHarness, type StoreHarness } from "@langgraph-persist/conformance";
import { PostgresSaver, PostgresStore } from "../src/index.js";
import { PGBOUNCER_URL, POSTGRES_URL, adminPool, describePg, describePgBouncer, dropSchemasAfterAll, uniqueSchema } from "./helpers.js";

/**
 * Registers the shared suite (checkpointer, store, graph) against the real server, in a schema of its
 * own that is dropped afterwards. Every instance goes through one caller-owned pool made by
 * `poolConfig` (so `close()` must leave it open); `createPeer` gets a second pool of the same shape.
 * `via: "pgbouncer"`: the pools connect through `PGBOUNCER_URL` (the suite's own checks still go
 * straight to the server), and the suite is skipped when there is none.
 */
export function registerConformance(
  title: string,
  poolConfig: pg.PoolConfig,
  { via = "direct" }: { via?: "direct" | "pgbouncer" } = {},
): void {
  const schema = uniqueSchema(title.replace(/\W+/g, "_"));
  dropSchemasAfterAll(schema);

  const pools: pg.Pool[] = [];
  const newPool = () => {
    const pool = new pg.Pool({ connectionString: via === "pgbouncer" ? PGBOUNCER_URL : POSTGRES_URL, ...poolConfig });
    pool.on("error", () => {});
    pools.push(pool);
    return pool;
  };
  let shared: pg.Pool | undefined;
  let peerPool: pg.Pool | undefined;
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  const saver: SaverHarness<PostgresSaver> = {
    name: `postgres (${title})`,
    async create(options) {
      const s = new PostgresSaver((shared ??= newPool()), { ...options, schema });
      await s.setup();
      return s;
    },
    async createPeer(options) {
      const s = new PostgresSaver((peerPool ??= newPool()), { ...options, schema });
      await s.setup();
      return s;
    },
    async countThreadArtifacts(_saver, threadId) {
      const admin = adminPool();
      try {
        const q = (table: string) => `(SELECT count(*) FROM "${schema}".${table} WHERE thread_id = $1)`;
        const { rows } = await admin.query<{ n: string }>(
          `SELECT ${["lgp_checkpoints", "lgp_checkpoint_blobs", "lgp_checkpoint_writes", "lgp_threads"].map(q).join(" + ")} AS n`,
          [threadId],
        );
        return Number(rows[0].n);
      } finally {
        await admin.end();
      }
    },
    capabilities: { ttl: true, extendedOps: true, listThreads: true, multiProcess: true },
  };

  const store: StoreHarness<PostgresStore> = {
    name: `postgres (${title})`,
    async create(options) {
      const s = new PostgresStore((shared ??= newPool()), { ...options, schema });
      await s.setup();
      return s;
    },
    capabilities: { ttl: true, vectorSearch: true, multiProcess: true },
  };

  const register = () => {
    runCheckpointerConformance(saver);
    runStoreConformance(store);
    runGraphConformance({ name: `postgres (${title})`, saver, store });
  };
  // With a server the suites register at the top level (the conformance matrix reads the outermost
  // describe as the suite name); without one they register skipped, with the reason in the title.
  const gate = via === "pgbouncer" ? describePgBouncer : describePg;
  if (POSTGRES_URL && (via === "direct" || PGBOUNCER_URL)) register();
  else gate(`postgres (${title}) conformance`, register);
}
