import { describe, expect, it } from "vitest";
import { DELTA_BLOB_PREFIX, chainKey, chainLowerBound, walkChain, type BlobRecord } from "@langgraph-persist/core";
import { BlobRangeSet, LiveSet, compareBytewise, inRanges, mergeRanges, refRange } from "../src/chains.js";
import type { BlobKey } from "../src/keys.js";

const bytewise = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
const id = (thread_id: string, checkpoint_ns: string, channel: string, version: string): BlobKey => ({ thread_id, checkpoint_ns, channel, version });

/** A deterministic pseudo-random generator. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

describe("compareBytewise: MongoDB's string order (UTF-8 bytes), not JS UTF-16 order", () => {
  it("agrees with Buffer.compare of the UTF-8 bytes on strings mixing ASCII, BMP and astral characters", () => {
    const alphabet = ["0", "5", "a", "z", "~", ".", "\u00e9", "\ud7ff", "\ue000", "\uffff", "\u{10000}", "\u{1f600}"];
    const next = rng(7);
    const word = () => Array.from({ length: 1 + Math.floor(next() * 4) }, () => alphabet[Math.floor(next() * alphabet.length)]).join("");
    for (let i = 0; i < 3000; i++) {
      const a = word();
      const b = next() < 0.2 ? a + word() : word();
      expect(Math.sign(compareBytewise(a, b))).toBe(bytewise(a, b));
      expect(Math.sign(compareBytewise(b, a))).toBe(bytewise(b, a));
    }
  });

  it("an astral character sorts after U+FFFF (JS < says the opposite)", () => {
    expect("\u{1f600}" < "\uffff").toBe(true);
    expect(compareBytewise("\u{1f600}", "\uffff")).toBeGreaterThan(0);
  });
});

describe("ranges a ref needs", () => {
  const base = "000000000005.abcdefgh";

  it("a plain version needs itself; a chain key needs [its base, itself]", () => {
    expect(refRange(base)).toEqual({ lower: base, upper: base });
    const key = chainKey(base, 3, "LLLLLLLLL3");
    expect(refRange(key)).toEqual({ lower: base, upper: key });
    expect(refRange(key).lower).toBe(chainLowerBound(key));
  });

  it("every link of a chain sorts between its base and the chain key, sequence order included", () => {
    const links = Array.from({ length: 300 }, (_, i) => chainKey(base, i + 1, `L${i}`));
    const last = links[links.length - 1];
    for (const l of links) {
      expect(compareBytewise(base, l)).toBeLessThan(0);
      expect(compareBytewise(l, last)).toBeLessThanOrEqual(0);
    }
    for (let i = 1; i < links.length; i++) expect(compareBytewise(links[i - 1], links[i])).toBeLessThan(0);
  });

  it("mergeRanges unions overlapping ranges (one chain's refs collapse to [base, newest]) and keeps disjoint ones apart", () => {
    const a = chainKey("5", 1, "x");
    const b = chainKey("5", 2, "y");
    expect(mergeRanges([refRange(b), refRange("5"), refRange(a), refRange("7"), refRange("6"), refRange("6")])).toEqual([
      { lower: "5", upper: b },
      { lower: "6", upper: "6" },
      { lower: "7", upper: "7" },
    ]);
    // A point inside a range disappears into it; a range reaching past another's start swallows it.
    expect(mergeRanges([{ lower: "a", upper: "m" }, { lower: "c", upper: "c" }, { lower: "k", upper: "z" }])).toEqual([{ lower: "a", upper: "z" }]);
    expect(mergeRanges([])).toEqual([]);
  });

  it("inRanges is membership in the union, bounds included", () => {
    const ranges = mergeRanges([{ lower: "b", upper: "d" }, { lower: "f", upper: "f" }, { lower: "h", upper: "k" }]);
    const inside = ["b", "c", "cz", "d", "f", "h", "i", "k"];
    const outside = ["a", "da", "e", "fa", "g", "ka", "z", ""];
    for (const k of inside) expect(inRanges(ranges, k)).toBe(true);
    for (const k of outside) expect(inRanges(ranges, k)).toBe(false);
    expect(inRanges([], "a")).toBe(false);
  });

  it("BlobRangeSet keeps channels of different threads and namespaces apart and merges within one", () => {
    const set = new BlobRangeSet();
    set.addRefs("t", "", [["messages", chainKey("5", 2, "y")], ["n", "3"]]);
    set.addRefs("t", "", [["messages", chainKey("5", 1, "x")], ["n", "2"]]);
    set.addRefs("t", "sub", [["messages", "5"]]);
    set.addRefs("u", "", [["messages", "5"]]);
    expect(set.groups()).toEqual([
      { threadId: "t", checkpointNs: "", channel: "messages", ranges: [{ lower: "5", upper: chainKey("5", 2, "y") }] },
      { threadId: "t", checkpointNs: "", channel: "n", ranges: [{ lower: "2", upper: "2" }, { lower: "3", upper: "3" }] },
      { threadId: "t", checkpointNs: "sub", channel: "messages", ranges: [{ lower: "5", upper: "5" }] },
      { threadId: "u", checkpointNs: "", channel: "messages", ranges: [{ lower: "5", upper: "5" }] },
    ]);
    expect(set.has(id("t", "", "messages", chainKey("5", 1, "x")))).toBe(true);
    expect(set.has(id("t", "sub", "messages", chainKey("5", 1, "x")))).toBe(false);
    expect(set.has(id("u", "", "messages", "5"))).toBe(true);
    expect(set.has(id("t", "", "messages2", "5"))).toBe(false);
  });
});

/**
 * A thread with a forked delta chain, as the codec writes it: base snapshot `S`, links 1..4 on the
 * main branch, a sibling branch from link 2, and a later snapshot `T` starting a second chain.
 */
function forkedThread() {
  const S = "000000000002.aaaaaaaa";
  const T = "000000000009.bbbbbbbb";
  const blobs: BlobRecord[] = [];
  const add = (version: string, type: string) => {
    blobs.push({ channel: "messages", version, type, data: new Uint8Array(0) });
    return version;
  };
  add(S, "json");
  const main = [chainKey(S, 1, "m1"), chainKey(S, 2, "m2"), chainKey(S, 3, "m3"), chainKey(S, 4, "m4")];
  add(main[0], DELTA_BLOB_PREFIX);
  add(main[1], `${DELTA_BLOB_PREFIX}m1`);
  add(main[2], `${DELTA_BLOB_PREFIX}m2`);
  add(main[3], `${DELTA_BLOB_PREFIX}m3`);
  const fork = chainKey(S, 3, "z3");
  add(fork, `${DELTA_BLOB_PREFIX}m2`);
  add(T, "json");
  const second = [chainKey(T, 1, "n1"), chainKey(T, 2, "n2")];
  add(second[0], DELTA_BLOB_PREFIX);
  add(second[1], `${DELTA_BLOB_PREFIX}n1`);
  // A plain channel and an older plain snapshot that no remaining checkpoint uses.
  blobs.push({ channel: "step", version: "1", type: "json", data: new Uint8Array(0) });
  blobs.push({ channel: "step", version: "2", type: "json", data: new Uint8Array(0) });
  add("000000000001.zzzzzzzz", "json");
  return { S, T, main, fork, second, blobs };
}

describe("reachability (LiveSet): a blob stays while a remaining ref's range holds it", () => {
  it("keeps every link and the base of each referenced chain; drops what no remaining ref reaches", () => {
    const { S, T, main, fork, second, blobs } = forkedThread();
    const live = new LiveSet();
    // Remaining after a prune: the tip of the fork and the second chain's tip (the main tip was deleted).
    live.addCheckpoint({ _id: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "c7" }, blob_refs: [["messages", fork], ["step", "2"]] });
    live.addCheckpoint({ _id: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "c9" }, blob_refs: [["messages", second[1]]] });
    const kept = blobs.filter((b) => live.hasBlob(id("t", "", b.channel, b.version))).map((b) => b.version);
    // [S, fork] holds the fork's chain and, by the range rule, main links 1-3 (main link 3 sorts
    // before the fork's key); main link 4 lies past the fork's key and is garbage.
    expect(kept).toEqual([S, main[0], main[1], main[2], fork, T, second[0], second[1], "2"]);
    expect(kept).not.toContain(main[3]);
    expect(kept).not.toContain("000000000001.zzzzzzzz");
    expect(kept).not.toContain("1");
  });

  it("every blob the chain walk from a remaining ref visits is kept (never a link or base still reachable)", () => {
    const { main, fork, second, blobs } = forkedThread();
    const byVersion = new Map(blobs.filter((b) => b.channel === "messages").map((b) => [b.version, b]));
    for (const ref of [main[3], main[1], fork, second[1], second[0]]) {
      const live = new LiveSet();
      live.addCheckpoint({ _id: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "c" }, blob_refs: [["messages", ref]] });
      const walked = walkChain(ref, (k) => byVersion.get(k));
      expect(walked.length).toBeGreaterThan(1);
      for (const b of walked) expect(live.hasBlob(id("t", "", "messages", b.version))).toBe(true);
    }
  });

  it("agrees with the definition (same thread, ns and channel, key in [chainLowerBound(ref), ref] bytewise) on a random corpus", () => {
    const next = rng(11);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)];
    const bases = ["5", "50", "5a", "6", "\uffff", "\u{1f600}", "000000000003.x"];
    const key = () => (next() < 0.4 ? pick(bases) : chainKey(pick(bases), 1 + Math.floor(next() * 40), pick(["a", "b", "\u{1f600}", "~"])));
    const ids = Array.from({ length: 400 }, () => id(pick(["t", "u"]), pick(["", "sub"]), pick(["messages", "messages2", "m"]), key()));
    for (let round = 0; round < 30; round++) {
      const refs = Array.from({ length: 1 + Math.floor(next() * 6) }, () => ({ t: pick(["t", "u"]), ns: pick(["", "sub"]), ch: pick(["messages", "messages2", "m"]), key: key() }));
      const live = new LiveSet();
      refs.forEach((r, i) => live.addCheckpoint({ _id: { thread_id: r.t, checkpoint_ns: r.ns, checkpoint_id: `c${i}` }, blob_refs: [[r.ch, r.key]] }));
      for (const b of ids) {
        const expected = refs.some(
          (r) => r.t === b.thread_id && r.ns === b.checkpoint_ns && r.ch === b.channel && bytewise(chainLowerBound(r.key), b.version) <= 0 && bytewise(b.version, r.key) <= 0,
        );
        expect(live.hasBlob(b)).toBe(expected);
      }
    }
  });

  it("knows which checkpoints remain (for pending writes) and tolerates documents without refs", () => {
    const live = new LiveSet();
    live.addCheckpoint({ _id: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "c1" } });
    expect(live.hasCheckpoint("t", "", "c1")).toBe(true);
    expect(live.hasCheckpoint("t", "sub", "c1")).toBe(false);
    expect(live.hasBlob(id("t", "", "a", "1"))).toBe(false);
  });
});
