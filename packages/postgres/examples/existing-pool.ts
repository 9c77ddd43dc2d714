import pg from "pg";
import { PostgresSaver, PostgresStore } from "@langgraph-persist/postgres";

// Your pool: the adapters borrow a connection per statement and never end it.
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on("error", (err) => console.error("idle client error", err)); // your pool, your listener

const checkpointer = new PostgresSaver(pool, { schema: "agents" });
const store = new PostgresStore(pool, { schema: "agents", ttl: { defaultTtl: 60 * 24 * 30 } });
await checkpointer.setup();
await store.setup();

// ... compile graphs with { checkpointer, store } ...

await checkpointer.close(); // stops timers; the pool stays open
await store.close();
await pool.end(); // you created it, you end it
