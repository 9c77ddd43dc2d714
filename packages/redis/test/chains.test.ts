import { describe, expect, it } from "vitest";
import { chainKey, type BlobRecord } from "@langgraph-persist/core";
import { ChainCache, chainBlobs } from "../src/chains.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const snapshot = (channel: string, version: string): BlobRecord => ({ channel, version, type: "json", data: bytes("[1]") });
const delta = (channel: string, base: string, seq: number, link: string, previous: string): BlobRecord => ({
  channel,
  version: chainKey(base, seq, link),
  type: `+${previous}`,
  data: bytes(`[${seq + 1}]`),
});
const keys = (cache: ChainCache, thread: string, ns = "") => cache.tips(thread, ns).map(([channel, key, node]) => {
  const blobs: BlobRecord[] = [];
  chainBlobs(node, blobs);
  return [channel, key, blobs.map((b) => b.version)];
});

describe("chain cache", () => {
  it("a put's delta extends the tip it follows; a snapshot of an array starts a chain; other blobs are ignored", () => {
    const cache = new ChainCache(10, 1 << 20);
    cache.extend("t", "", [snapshot("messages", "v1"), { channel: "other", version: "v1", type: "json", data: bytes('"x"') }]);
    cache.extend("t", "", [delta("messages", "v1", 1, "L2", "")]);
    cache.extend("t", "", [delta("messages", "v1", 2, "L3", "L2")]);
    // Not following a remembered tip: nothing to extend.
    cache.extend("t", "", [delta("messages", "v9", 5, "L6", "L5")]);
    expect(keys(cache, "t")).toEqual([
      ["messages", chainKey("v1", 2, "L3"), [chainKey("v1", 2, "L3"), chainKey("v1", 1, "L2"), "v1"]],
      ["messages", chainKey("v1", 1, "L2"), [chainKey("v1", 1, "L2"), "v1"]],
    ]);
    expect(keys(cache, "t", "child")).toEqual([]);
  });

  it("keeps two tips per channel and the most recently used threads", () => {
    const cache = new ChainCache(2, 1 << 20);
    for (const t of ["a", "b", "c"]) cache.extend(t, "", [snapshot("messages", `${t}1`), snapshot("messages", `${t}2`), snapshot("messages", `${t}3`)]);
    expect(keys(cache, "a")).toEqual([]);
    expect(keys(cache, "c").map(([, key]) => key)).toEqual(["c3", "c2"]);
    cache.extend("b", "", [snapshot("messages", "b4")]);
    cache.extend("d", "", [snapshot("messages", "d1")]);
    expect(keys(cache, "c")).toEqual([]);
    expect(keys(cache, "b").map(([, key]) => key)).toEqual(["b4", "b3"]);
    cache.forgetThread("b");
    expect(keys(cache, "b")).toEqual([]);
  });

  it("drops the least recently used threads beyond its byte bound", () => {
    const cache = new ChainCache(100, 10);
    cache.extend("a", "", [snapshot("messages", "a1")]);
    cache.extend("b", "", [snapshot("messages", "b1")]);
    cache.extend("c", "", [snapshot("messages", "c1")]);
    expect(keys(cache, "a").length + keys(cache, "b").length + keys(cache, "c").length).toBe(3);
    cache.extend("d", "", [snapshot("messages", "d1"), snapshot("messages", "d2")]);
    // 3 bytes per snapshot: a and b are dropped to get back under 10.
    expect(keys(cache, "a")).toEqual([]);
    expect(keys(cache, "b")).toEqual([]);
    expect(keys(cache, "c")).toHaveLength(1);
    expect(keys(cache, "d")).toHaveLength(2);
  });
});
