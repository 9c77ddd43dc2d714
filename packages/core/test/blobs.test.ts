import { describe, expect, it } from "vitest";
import { emptyCheckpoint } from "@langchain/langgraph-checkpoint";
import {
  DELTA_BLOB_PREFIX,
  LinearBlobCodec,
  PersistSerializer,
  SerializationError,
  chainKey,
  chainLowerBound,
  parseChainKey,
  previousChainKey,
  walkChain,
  type BlobRecord,
  type CheckpointRecord,
  type KnownBlobs,
} from "../src/index.js";

type Fetch = "range" | "walk";

/**
 * Drives the codec like a saver would: one checkpoint per step, blobs kept in a map. `range` fetches
 * what an ordered backend returns (every key of the channel in `[chainLowerBound(ref), ref]`, siblings
 * included); `walk` follows the chain key by key, as Redis and memory do.
 */
function harness(options?: ConstructorParameters<typeof LinearBlobCodec>[1], versionOf = (step: number) => `${String(step).padStart(6, "0")}.r${step}`) {
  const serde = new PersistSerializer();
  const codec = new LinearBlobCodec(serde, options);
  const blobs = new Map<string, BlobRecord>();
  const versions = new Map<string, Record<string, string>>();
  let parent: string | null = null;
  let step = 0;
  const records: CheckpointRecord[] = [];
  const fetch = (record: CheckpointRecord, how: Fetch): BlobRecord[] =>
    record.blobRefs.flatMap(([c, key]) => {
      if (how === "walk") return walkChain(key, (k) => blobs.get(`${c}@${k}`));
      const low = chainLowerBound(key);
      return [...blobs.values()].filter((b) => b.channel === c && b.version >= low && b.version <= key);
    });
  return {
    codec,
    blobs,
    records,
    /** Puts a child of `from` (default: the last checkpoint). */
    async put(values: Record<string, unknown>, changed: string[], from: string | null = parent) {
      step++;
      const id = `cp-${String(step).padStart(4, "0")}`;
      const checkpoint = emptyCheckpoint();
      const own: Record<string, string> = { ...(from !== null ? versions.get(from) : {}) };
      const newVersions: Record<string, string> = {};
      for (const c of changed) newVersions[c] = own[c] = versionOf(step);
      checkpoint.channel_versions = own;
      versions.set(id, own);
      const enc = await codec.encode({ threadId: "t", checkpointNs: "", checkpointId: id, parentCheckpointId: from, checkpoint, values, newVersions });
      for (const r of enc.records) if (!blobs.has(`${r.channel}@${r.version}`)) blobs.set(`${r.channel}@${r.version}`, r);
      enc.commit?.();
      const record = { threadId: "t", checkpointNs: "", checkpointId: id, parentCheckpointId: from, blobRefs: enc.refs } as CheckpointRecord;
      records.push(record);
      parent = id;
      return record;
    },
    async read(record: CheckpointRecord, reader = codec, how: Fetch = "range") {
      return reader.decode(record, fetch(record, how), versions.get(record.checkpointId)!);
    },
    /** Reads as a backend honouring `known` does: the chains of the known references are not fetched. */
    async readKnown(record: CheckpointRecord, known: KnownBlobs | undefined) {
      const skip = new Set((known?.refs ?? []).map(([c, k]) => `${c}@${k}`));
      const fetched = fetch({ ...record, blobRefs: record.blobRefs.filter(([c, k]) => !skip.has(`${c}@${k}`)) }, "range");
      return { fetched, values: await codec.decode(record, fetched, versions.get(record.checkpointId)!, { known, tips: true }) };
    },
  };
}

const msg = (i: number) => ({ role: i % 2 ? "ai" : "human", content: `message ${i} `.padEnd(200, "x"), when: new Date(1_700_000_000_000 + i) });

describe("chain keys", () => {
  it("round-trip, sort between their base and later links, and name their predecessor", () => {
    const k1 = chainKey("000000000007.abc", 1, "L1");
    const k2 = chainKey("000000000007.abc", 2, "L2");
    expect(parseChainKey(k2)).toEqual({ base: "000000000007.abc", seq: 2, link: "L2" });
    expect(parseChainKey("000000000007.abc")).toBeUndefined();
    expect(chainLowerBound(k2)).toBe("000000000007.abc");
    expect(chainLowerBound("plain")).toBe("plain");
    expect(["000000000007.abc", k1, k2, "000000000007.abd"].sort()).toEqual(["000000000007.abc", k1, k2, "000000000007.abd"]);
    expect(previousChainKey(k2, `${DELTA_BLOB_PREFIX}L1`)).toBe(k1);
    expect(previousChainKey(k1, DELTA_BLOB_PREFIX)).toBe("000000000007.abc");
    expect(previousChainKey(k1, "json"), "a snapshot ends the walk").toBeUndefined();
  });
});

describe("LinearBlobCodec", () => {
  for (const how of ["range", "walk"] as const) {
    it(`stores only appended elements and rebuilds the full array from the chain (${how} fetch)`, async () => {
      const h = harness();
      const messages: unknown[] = [];
      let last!: CheckpointRecord;
      for (let i = 0; i < 20; i++) {
        messages.push(msg(i));
        last = await h.put({ messages: [...messages], counter: i }, ["messages", "counter"]);
      }
      const deltas = [...h.blobs.values()].filter((b) => b.type.startsWith(DELTA_BLOB_PREFIX));
      expect(deltas.length).toBe(19);
      expect(last.blobRefs, "one reference per channel, however long the chain").toHaveLength(2);
      const out = await h.read(last, new LinearBlobCodec(new PersistSerializer()), how);
      expect(out.messages).toEqual(messages);
      expect((out.messages as Array<{ when: Date }>)[3].when).toBeInstanceOf(Date);
      expect(out.counter).toBe(19);
    });
  }

  it("stores a 200-step chat, blobs and references together, in under 1.2× the messages appended once", async () => {
    const h = harness();
    const messages: unknown[] = [];
    let once = 0;
    const serde = new PersistSerializer();
    for (let i = 0; i < 200; i++) {
      const m = msg(i);
      messages.push(m);
      once += (await serde.dumpsTyped([m]))[1].length;
      await h.put({ messages: [...messages] }, ["messages"]);
    }
    const blobBytes = [...h.blobs.values()].reduce((s, b) => s + b.data.length + b.version.length + b.type.length, 0);
    const refBytes = h.records.reduce((s, r) => s + JSON.stringify(r.blobRefs).length, 0);
    expect(blobBytes + refBytes).toBeLessThan(1.2 * once + 200 * 80);
    expect((await h.read(h.records[199], new LinearBlobCodec(new PersistSerializer()))).messages).toEqual(messages);
  });

  it("writes a full snapshot every snapshotEvery versions, bounding the chain", async () => {
    const h = harness({ snapshotEvery: 4 });
    const messages: unknown[] = [];
    let maxSeq = 0;
    for (let i = 0; i < 15; i++) {
      messages.push(msg(i));
      const r = await h.put({ messages: [...messages] }, ["messages"]);
      maxSeq = Math.max(maxSeq, parseChainKey(r.blobRefs[0][1])?.seq ?? 0);
      expect((await h.read(r, new LinearBlobCodec(new PersistSerializer()))).messages).toEqual(messages);
      expect((await h.read(r, new LinearBlobCodec(new PersistSerializer()), "walk")).messages).toEqual(messages);
    }
    expect(maxSeq).toBe(4);
    expect([...h.blobs.values()].filter((b) => b.type === "json")).toHaveLength(3);
  });

  it("writes a full value when the array shrinks, is rewritten, or an element changed in place", async () => {
    const h = harness();
    const a = [msg(1), msg(2)];
    await h.put({ messages: a }, ["messages"]);
    const shrunk = await h.put({ messages: [a[0]] }, ["messages"]);
    expect(h.blobs.get(`messages@${shrunk.blobRefs[0][1]}`)!.type).toBe("json");
    const grown = await h.put({ messages: [a[0], msg(3)] }, ["messages"]);
    expect(parseChainKey(grown.blobRefs[0][1])?.seq).toBe(1);
    (a[0] as { content: string }).content = "edited in place";
    const edited = await h.put({ messages: [a[0], msg(3), msg(4)] }, ["messages"]);
    expect(parseChainKey(edited.blobRefs[0][1])).toBeUndefined();
    expect(((await h.read(edited)).messages as Array<{ content: string }>)[0].content).toBe("edited in place");
  });

  it("extends a chain from an empty array", async () => {
    const h = harness();
    await h.put({ messages: [] }, ["messages"]);
    const one = await h.put({ messages: [msg(1)] }, ["messages"]);
    const two = await h.put({ messages: [msg(1), msg(2)] }, ["messages"]);
    expect(parseChainKey(two.blobRefs[0][1])?.seq).toBe(2);
    expect((await h.read(one, new LinearBlobCodec(new PersistSerializer()))).messages).toEqual([msg(1)]);
    expect((await h.read(two, new LinearBlobCodec(new PersistSerializer()))).messages).toEqual([msg(1), msg(2)]);
  });

  it("branches forked from the middle of a chain read back their own path, with sibling links fetched", async () => {
    const h = harness();
    const a = await h.put({ messages: [msg(1)] }, ["messages"]);
    const b = await h.put({ messages: [msg(1), msg(2)] }, ["messages"]);
    const c = await h.put({ messages: [msg(1), msg(2), msg(3)] }, ["messages"]);
    const fork1 = await h.put({ messages: [msg(1), msg(2), "fork"] }, ["messages"], b.checkpointId);
    const fork2 = await h.put({ messages: [msg(1), msg(2), "fork", "fork-2"] }, ["messages"]);
    const other = await h.put({ messages: [msg(1), "other"] }, ["messages"], a.checkpointId);
    for (const how of ["range", "walk"] as const) {
      const reader = new LinearBlobCodec(new PersistSerializer());
      expect((await h.read(c, reader, how)).messages).toEqual([msg(1), msg(2), msg(3)]);
      expect((await h.read(fork1, reader, how)).messages).toEqual([msg(1), msg(2), "fork"]);
      expect((await h.read(fork2, reader, how)).messages).toEqual([msg(1), msg(2), "fork", "fork-2"]);
      expect((await h.read(other, reader, how)).messages).toEqual([msg(1), "other"]);
    }
  });

  it("unchanged channels keep referencing the tip of their chain", async () => {
    const h = harness();
    await h.put({ messages: [msg(1)] }, ["messages"]);
    const tip = await h.put({ messages: [msg(1), msg(2)] }, ["messages"]);
    const r = await h.put({ messages: [msg(1), msg(2)], other: 1 }, ["other"]);
    expect(r.blobRefs.find(([c]) => c === "messages")).toEqual(tip.blobRefs[0]);
    expect((await h.read(r, new LinearBlobCodec(new PersistSerializer()))).messages).toEqual([msg(1), msg(2)]);
  });

  it("a reader learns the chain and extends it without having written it", async () => {
    const h = harness();
    await h.put({ messages: [msg(1)] }, ["messages"]);
    const tip = await h.put({ messages: [msg(1), msg(2)] }, ["messages"]);
    const reader = new LinearBlobCodec(new PersistSerializer());
    // A read a list passes remembers the chain position but not the value: the codec asks for the parent again.
    await h.read(tip, reader);
    expect(reader.needsParent("t", "", tip.checkpointId)).toBe(true);
    // A read of the latest checkpoint (tips) holds the value: extending needs no further read.
    await reader.decode(tip, [...h.blobs.values()], { messages: tip.blobRefs[0][1].split("~")[0] }, { tips: true });
    expect(reader.needsParent("t", "", tip.checkpointId)).toBe(false);
    const checkpoint = emptyCheckpoint();
    checkpoint.channel_versions = { messages: "000099.next" };
    const enc = await reader.encode({ threadId: "t", checkpointNs: "", checkpointId: "cp-9999", parentCheckpointId: tip.checkpointId, checkpoint, values: { messages: [msg(1), msg(2), msg(3)] }, newVersions: { messages: "000099.next" } });
    expect(enc.records[0].type.startsWith(DELTA_BLOB_PREFIX)).toBe(true);
    expect(parseChainKey(enc.refs[0][1])?.seq).toBe(2);
  });

  it("a torn chain is reported, never read as a shorter array", async () => {
    const h = harness();
    await h.put({ messages: [msg(1)] }, ["messages"]);
    const second = await h.put({ messages: [msg(1), msg(2)] }, ["messages"]);
    const third = await h.put({ messages: [msg(1), msg(2), msg(3)] }, ["messages"]);
    h.blobs.delete(`messages@${second.blobRefs[0][1]}`);
    await expect(h.read(third, new LinearBlobCodec(new PersistSerializer()))).rejects.toBeInstanceOf(SerializationError);
    await expect(h.read(third, new LinearBlobCodec(new PersistSerializer()), "walk")).rejects.toBeInstanceOf(SerializationError);
  });

  it("a link missing from a chain is reported even when a fork's sibling link fills its position in the range", async () => {
    const h = harness();
    await h.put({ messages: [msg(1)] }, ["messages"]);
    const b = await h.put({ messages: [msg(1), msg(2)] }, ["messages"]);
    const c = await h.put({ messages: [msg(1), msg(2), msg(3)] }, ["messages"]);
    await h.put({ messages: [msg(1), msg(2), "fork"] }, ["messages"], b.checkpointId);
    const d = await h.put({ messages: [msg(1), msg(2), msg(3), msg(4)] }, ["messages"], c.checkpointId);
    expect(parseChainKey(d.blobRefs[0][1])?.seq).toBe(3);
    h.blobs.delete(`messages@${c.blobRefs[0][1]}`);
    // As an ordered backend returns the range: by key, the fork's link where the missing one was.
    const key = d.blobRefs[0][1];
    const range = [...h.blobs.values()].filter((x) => x.version >= chainLowerBound(key) && x.version <= key).sort((x, y) => (x.version < y.version ? -1 : 1));
    expect(range).toHaveLength(4);
    await expect(new LinearBlobCodec(new PersistSerializer()).decode(d, range, { messages: "000005.r5" })).rejects.toBeInstanceOf(SerializationError);
  });

  it("reads a chain returned in key order, newest first or in any other order alike", async () => {
    const h = harness();
    const messages: unknown[] = [];
    let last!: CheckpointRecord;
    for (let i = 0; i < 40; i++) {
      messages.push(msg(i));
      last = await h.put({ messages: [...messages] }, ["messages"]);
    }
    const key = last.blobRefs[0][1];
    const sorted = [...h.blobs.values()].sort((x, y) => (x.version < y.version ? -1 : 1));
    const shuffled = sorted.map((b, i) => [(i * 17) % sorted.length, b] as const).sort((x, y) => x[0] - y[0]).map(([, b]) => b);
    for (const blobs of [sorted, [...sorted].reverse(), shuffled]) {
      const out = await new LinearBlobCodec(new PersistSerializer()).decode(last, blobs, { messages: chainLowerBound(key) });
      expect(out.messages).toEqual(messages);
    }
  });

  it("can be disabled", async () => {
    const h = harness({ enabled: false });
    await h.put({ messages: [msg(1)] }, ["messages"]);
    const r = await h.put({ messages: [msg(1), msg(2)] }, ["messages"]);
    expect(parseChainKey(r.blobRefs[0][1])).toBeUndefined();
    expect([...h.blobs.values()].every((b) => b.type === "json")).toBe(true);
  });
});

describe("LinearBlobCodec knownBlobs", () => {
  const own = (step: number) => `${String(step).padStart(12, "0")}.${`r${step}`.padEnd(8, "0")}`;

  it("offers the thread's latest values so a read need not fetch their chains, and fills them in", async () => {
    const h = harness(undefined, own);
    const messages: unknown[] = [];
    let last!: CheckpointRecord;
    for (let i = 0; i < 7; i++) {
      messages.push(msg(i));
      last = await h.put({ messages: [...messages], counter: i }, ["messages", "counter"]);
    }
    const known = h.codec.knownBlobs("t", "");
    expect(known?.refs).toContainEqual(["messages", last.blobRefs.find(([c]) => c === "messages")![1]]);
    expect(known?.refs.some(([c]) => c === "counter"), "only array values held in full are offered").toBe(false);
    expect(h.codec.knownBlobs("t", "other-ns")).toBeUndefined();
    // A snapshot: what the codec forgets afterwards does not affect a read already under way.
    h.codec.reset();
    const { fetched, values } = await h.readKnown(last, known);
    expect(fetched.every((b) => b.channel === "counter")).toBe(true);
    expect(values).toEqual({ messages, counter: 6 });
    expect((values.messages as Array<{ when: Date }>)[6].when).toBeInstanceOf(Date);
    // The read made them the thread's tips again, and a later put extends the chain from them.
    expect(h.codec.knownBlobs("t", "")?.refs).toEqual(known?.refs.slice(0, 1));
    messages.push(msg(7));
    const next = await h.put({ messages: [...messages], counter: 7 }, ["messages", "counter"]);
    expect(parseChainKey(next.blobRefs.find(([c]) => c === "messages")![1])?.seq).toBeGreaterThan(0);
  });

  it("offers nothing for versions not made by this library, after forgetThread, or when disabled", async () => {
    const foreign = harness();
    await foreign.put({ messages: [msg(1)] }, ["messages"]);
    expect(foreign.codec.knownBlobs("t", "")).toBeUndefined();
    const h = harness(undefined, own);
    await h.put({ messages: [msg(1)] }, ["messages"]);
    expect(h.codec.knownBlobs("t", "")?.refs).toHaveLength(1);
    h.codec.forgetThread("t");
    expect(h.codec.knownBlobs("t", "")).toBeUndefined();
    const off = harness({ enabled: false }, own);
    await off.put({ messages: [msg(1)] }, ["messages"]);
    expect(off.codec.knownBlobs("t", "")).toBeUndefined();
  });

  it("holds only the latest values of a thread, within cacheBytes", async () => {
    const h = harness({ cacheBytes: 50_000 }, own);
    for (let i = 1; i <= 60; i++) await h.put({ messages: Array.from({ length: i }, (_, k) => msg(k)) }, ["messages"]);
    const held = (h.codec as unknown as { heldBytes: number }).heldBytes;
    const known = h.codec.knownBlobs("t", "")!;
    expect(known.refs).toHaveLength(2);
    expect(held).toBe([...known.values.values()].reduce((n, v) => n + v.cost, 0));
    const newest = known.values.get(`messages\u0000${known.refs[0][1]}`)!.cost;
    expect(held, "two values of the thread, not one per checkpoint").toBeLessThan(2 * newest);
    // Another thread pushes this one out once the bound is reached, but never the thread just written.
    const other = harness({ cacheBytes: 10 }, own);
    await other.put({ messages: [msg(1)] }, ["messages"]);
    expect(other.codec.knownBlobs("t", "")?.refs).toHaveLength(1);
  });

  it("keeps two tips per channel, newest first, and a read of an older checkpoint without tips changes nothing", async () => {
    const h = harness(undefined, own);
    const refs: string[] = [];
    for (let i = 1; i <= 4; i++) refs.push((await h.put({ messages: Array.from({ length: i }, (_, k) => msg(k)) }, ["messages"])).blobRefs[0][1]);
    expect(h.codec.knownBlobs("t", "")?.refs.map(([, k]) => k)).toEqual([refs[3], refs[2]]);
    await h.read(h.records[0]);
    expect(h.codec.knownBlobs("t", "")?.refs.map(([, k]) => k)).toEqual([refs[3], refs[2]]);
  });
});

describe("LinearBlobCodec re-puts", () => {
  it("re-putting a checkpoint from a codec that never saw its parent keeps the stored chain readable", async () => {
    const h = harness();
    await h.put({ messages: [msg(1)] }, ["messages"]);
    const second = await h.put({ messages: [msg(1), msg(2)] }, ["messages"]);
    // A fresh codec (another process, a copy tool) writes the same checkpoint again: a full snapshot.
    const fresh = new LinearBlobCodec(new PersistSerializer());
    const checkpoint = emptyCheckpoint();
    const version = "000002.r2";
    checkpoint.channel_versions = { messages: version };
    const enc = await fresh.encode({ threadId: "t", checkpointNs: "", checkpointId: second.checkpointId, parentCheckpointId: null, checkpoint, values: { messages: [msg(1), msg(2)] }, newVersions: { messages: version } });
    for (const r of enc.records) if (!h.blobs.has(`${r.channel}@${r.version}`)) h.blobs.set(`${r.channel}@${r.version}`, r); // insert-if-absent
    const rewritten = { ...second, blobRefs: enc.refs };
    expect((await h.read(rewritten, new LinearBlobCodec(new PersistSerializer()))).messages).toEqual([msg(1), msg(2)]);
    expect((await h.read(second, new LinearBlobCodec(new PersistSerializer()))).messages).toEqual([msg(1), msg(2)]);
  });
});

describe("linearStorage options", () => {
  it("rejects bad settings with InvalidArgumentError instead of clamping them", async () => {
    const { InvalidArgumentError, validateLinearStorageOptions } = await import("../src/index.js");
    for (const bad of [{ snapshotEvery: 0 }, { snapshotEvery: 1296 }, { snapshotEvery: 2.5 }, { snapshotEvery: "32" }, { enabled: "yes" }, { cacheSize: 0 }, { cacheBytes: -1 }, [], "x"]) {
      expect(() => validateLinearStorageOptions(bad, "test"), JSON.stringify(bad)).toThrow(InvalidArgumentError);
    }
    expect(validateLinearStorageOptions({ snapshotEvery: 1295, cacheBytes: 0, enabled: false }, "test")).toEqual({ snapshotEvery: 1295, cacheBytes: 0, enabled: false });
    expect(validateLinearStorageOptions(undefined, "test")).toEqual({});
  });
});
