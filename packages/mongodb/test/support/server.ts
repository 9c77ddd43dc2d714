import type { MongoClient } from "mongodb";

/** Why the server-backed files skip themselves when no MongoDB is configured. */
export const SKIP_REASON = "TEST_MONGODB_URL is not set — start one with docker compose up -d --wait mongodb";

/** Database the server-backed tests use; every run works under its own collection prefix inside it. */
export const TEST_DB = "langgraph_persist_test";

export function mongoUrl(): string | undefined {
  const url = process.env.TEST_MONGODB_URL;
  return url === undefined || url === "" ? undefined : url;
}

/** A collection prefix no other run (or test file) uses. */
export function runPrefix(tag: string): string {
  return `t_${tag}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}_`;
}

/** Drops every collection of one run. */
export async function dropPrefix(client: MongoClient, prefix: string): Promise<void> {
  const db = client.db(TEST_DB);
  const names = await db.listCollections({ name: { $regex: `^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}` } }, { nameOnly: true }).toArray();
  for (const { name } of names) await db.collection(name).drop();
}
