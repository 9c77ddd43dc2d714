import { describe, expect, it } from "vitest";
import { HashEmbeddings } from "@langgraph-persist/conformance";
import { quickstart } from "../examples/quickstart.js";
import { semanticStore } from "../examples/semantic-store.js";

describe("README examples run as written", () => {
  it("quick start: the thread remembers the first turn", async () => {
    expect(await quickstart()).toBe(4);
  });

  it("semantic store: the filtered query finds the profile memory with a cosine score", async () => {
    const hits = await semanticStore(new HashEmbeddings(64));
    expect(hits.map((h) => h.key)).toEqual(["m1"]);
    expect(hits[0].score).toBeGreaterThan(0);
  });
});
