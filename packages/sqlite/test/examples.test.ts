import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HashEmbeddings } from "@langgraph-persist/conformance";
import { existingDatabase } from "../examples/existing-database.js";
import { quickstart } from "../examples/quickstart.js";
import { semanticStore } from "../examples/store.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lgp-sqlite-examples-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("README examples run as written", () => {
  it("quick start: a graph continues its thread from the file", async () => {
    expect(await quickstart(join(dir, "agent.db"))).toBe(4);
  });

  it("existing Database: close() leaves the caller's handle open", async () => {
    expect(await existingDatabase(join(dir, "app.db"))).toBe(true);
  });

  it("semantic store: search ranks and filters in one query", async () => {
    const hits = await semanticStore(new HashEmbeddings(1536), join(dir, "memories.db"));
    expect(hits.map((h) => h.key)).toEqual(["m1"]);
  });
});
