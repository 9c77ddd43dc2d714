import { describe, it } from "vitest";
import type { MongoClient } from "mongodb";

/** Why the server-backed files skip themselves when no MongoDB is configured. */
export const SKIP_REASON = "TEST_MONGODB_URL is not set — start one with docker compose up -d --wait mongodb";

/** Database the server-backed tests use; every run works under its own collection prefix inside it. */
export const TEST_DB = "langgraph_persist_test";

/** `REQUIRE_MONGODB=1` (set by CI jobs that provide the server): a missing server fails instead of skipping. */
export function mongoRequired(): boolean {
  return process.env.REQUIRE_MONGODB === "1" || process.env.REQUIRE_MONGODB === "true";
}

/**
 * Registers a server-backed suite when `TEST_MONGODB_URL` is missing: skipped with the reason in the
 * title, or, with `REQUIRE_MONGODB=1`, one failing test with the reason, so a job that provides
 * MongoDB cannot pass without running the suite.
 */
export function missingServer(title: string, test: string): void {
  if (mongoRequired()) {
    describe(title, () => {
      it(test, () => {
        throw new Error(`REQUIRE_MONGODB=1 but ${SKIP_REASON}`);
      });
    });
  } else {
    describe.skip(`${title} [skipped: ${SKIP_REASON}]`, () => {
      it(test, () => {});
    });
  }
}

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
