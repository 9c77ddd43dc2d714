import { describe, expect, it } from "vitest";
import { emptyCheckpoint } from "@langchain/langgraph-checkpoint";
import { APPEND_BLOB_PREFIX, LinearBlobCodec, PersistSerializer, SerializationError, type BlobRecord, type CheckpointRecord } from "../src/index.js";

/** Drives the codec like a saver would: one checkpoint per step, blobs kept in a map. */
function harness(options?: ConstructorParameters<typeof LinearBlobCodec>[1]) {
  const serde = new PersistSerializer();
  const codec = new LinearBlobCodec(serde, options);
  const blobs = new Map<string, BlobRecord>();
  let parent: string | null = null;
  let step = 0;
  const records: CheckpointRecord[] = [];
  return {
    codec,
    blobs,
    records,
    async put(values: Record<string, unknown>, changed: string[]) {
      step++;
      const id = `cp-${String(step).padStart(4, "0")}`;
      const checkpoint = emptyCheckpoint();
      const prevVersions = records.length ? JSON.parse(JSON.stringify(records[records.length - 1].blobRefs)) : [];
      const versions: Record<string, string> = Object.fromEntries((prevVersions as Array<[string, string]>).map(([c, v]) => [c, v.replace(/\+$/, "")]));
      const newVersions: Record<string, string> = {};
      for (const c of changed) newVersions[c] = versions[c] = `v${step}`;
      checkpoint.channel_versions = versions;
      const enc = await codec.encode({ threadId: "t", checkpointNs: "", checkpointId: id, parentCheckpointId: parent, checkpoint, values, newVersions });
      for (const r of enc.records) blobs.set(`${r.channel}@${r.version}`, r);
      enc.commit?.();
      const record = { threadId: "t", checkpointNs: "", checkpointId: id, parentCheckpointId: parent, blobRefs: enc.refs } as CheckpointRecord;
      records.push(record);
      parent = id;
      return record;
    },
    async read(record: CheckpointRecord, reader = codec) {
      const fetched = record.blobRefs.map(([c, v]) => blobs.get(`${c}@${v}`)).filter((b): b is BlobRecord => !!b);
      return reader.decode(record, fetched);
    },
  };
}

const msg = (i: number) => ({ role: i % 2 ? "ai" : "human", content: `message ${i} `.padEnd(200, "x"), when: new Date(1_700_000_000_000 + i) });

describe("LinearBlobCodec", () => {
  it("stores only appended elements and rebuilds the full array from the chain", async () => {
    const h = harness();
    const messages: unknown[] = [];
    let last!: CheckpointRecord;
    for (let i = 0; i < 20; i++) {
      messages.push(msg(i));
      last = await h.put({ messages: [...messages], counter: i }, ["messages", "counter"]);
    }
    const deltas = [...h.blobs.values()].filter((b) => b.type.startsWith(APPEND_BLOB_PREFIX));
    expect(deltas.length).toBe(19);
    const out = await h.read(last, new LinearBlobCodec(new PersistSerializer()));
    expect(out.messages).toEqual(messages);
    expect((out.messages as Array<{ when: Date }>)[3].when).toBeInstanceOf(Date);
    expect(out.counter).toBe(19);
  });

  it("stores a 200-step chat, blobs and references together, in under 7× the messages appended once (a full copy per step is ~100×)", async () => {
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
    const blobBytes = [...h.blobs.values()].reduce((s, b) => s + b.data.length, 0);
    const refBytes = h.records.reduce((s, r) => s + JSON.stringify(r.blobRefs).length, 0);
    expect(blobBytes + refBytes).toBeLessThan(7 * once);
  });

  it("writes a full snapshot every snapshotEvery versions, bounding the chain", async () => {
    const h = harness({ snapshotEvery: 4 });
    const messages: unknown[] = [];
    let maxChain = 0;
    for (let i = 0; i < 15; i++) {
      messages.push(msg(i));
      const r = await h.put({ messages: [...messages] }, ["messages"]);
      maxChain = Math.max(maxChain, r.blobRefs.length);
      expect((await h.read(r)).messages).toEqual(messages);
    }
    expect(maxChain).toBe(4);
  });

  it("writes a full value when the array shrinks, is rewritten, or an element changed in place", async () => {
    const h = harness();
    const a = [msg(1), msg(2)];
    await h.put({ messages: a }, ["messages"]);
    const shrunk = await h.put({ messages: [a[0]] }, ["messages"]);
    expect(h.blobs.get(`messages@${shrunk.blobRefs[0][1]}`)!.type).toBe("json");
    const grown = await h.put({ messages: [a[0], msg(3)] }, ["messages"]);
    expect(grown.blobRefs.length).toBe(2);
    (a[0] as { content: string }).content = "edited in place";
    const edited = await h.put({ messages: [a[0], msg(3), msg(4)] }, ["messages"]);
    expect(edited.blobRefs.length).toBe(1);
    expect(((await h.read(edited)).messages as Array<{ content: string }>)[0].content).toBe("edited in place");
  });

  it("unchanged channels keep referencing their whole chain", async () => {
    const h = harness();
    await h.put({ messages: [msg(1)] }, ["messages"]);
    await h.put({ messages: [msg(1), msg(2)] }, ["messages"]);
    const r = await h.put({ other: 1 }, ["other"]);
    expect(r.blobRefs.filter(([c]) => c === "messages").length).toBe(2);
    expect((await h.read(r)).messages).toEqual([msg(1), msg(2)]);
  });

  it("a torn chain is reported, never read as a shorter array", async () => {
    const h = harness();
    const first = await h.put({ messages: [msg(1)] }, ["messages"]);
    const second = await h.put({ messages: [msg(1), msg(2)] }, ["messages"]);
    h.blobs.delete(`messages@${first.blobRefs[0][1]}`);
    await expect(h.read(second, new LinearBlobCodec(new PersistSerializer()))).rejects.toBeInstanceOf(SerializationError);
  });

  it("can be disabled", async () => {
    const h = harness({ enabled: false });
    await h.put({ messages: [msg(1)] }, ["messages"]);
    const r = await h.put({ messages: [msg(1), msg(2)] }, ["messages"]);
    expect(r.blobRefs.length).toBe(1);
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
    const version = second.blobRefs[second.blobRefs.length - 1][1].replace(/\+$/, "");
    checkpoint.channel_versions = { messages: version };
    const enc = await fresh.encode({ threadId: "t", checkpointNs: "", checkpointId: second.checkpointId, parentCheckpointId: null, checkpoint, values: { messages: [msg(1), msg(2)] }, newVersions: { messages: version } });
    for (const r of enc.records) if (!h.blobs.has(`${r.channel}@${r.version}`)) h.blobs.set(`${r.channel}@${r.version}`, r); // insert-if-absent
    const rewritten = { ...second, blobRefs: enc.refs };
    expect((await h.read(rewritten, new LinearBlobCodec(new PersistSerializer()))).messages).toEqual([msg(1), msg(2)]);
    expect((await h.read(second, new LinearBlobCodec(new PersistSerializer()))).messages).toEqual([msg(1), msg(2)]);
  });
});
