import Database from "better-sqlite3";
import { SqliteSaver, SqliteStore } from "@langgraph-persist/sqlite";

export async function existingDatabase(filename = "app.db"): Promise<boolean> {
  // #region existing
  const db = new Database(filename, { timeout: 5000 });
  db.pragma("journal_mode = WAL"); // your handle, your settings

  const checkpointer = new SqliteSaver(db);
  const store = new SqliteStore(db, { tablePrefix: "agent_" });
  await checkpointer.setup();
  await store.setup();

  // ... compile graphs with { checkpointer, store } ...

  await checkpointer.close(); // leaves `db` open: you own it
  await store.close();
  const stillOpen = db.open; // true
  db.close();
  // #endregion existing
  return stillOpen;
}
