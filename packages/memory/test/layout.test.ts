import { describe, expect, it } from "vitest";
import { uuid6, type Checkpoint, type CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { InvalidArgumentError, InvalidNamespaceError } from "@langgraph-persist/core";
import { InMemoryStore, MemorySaver } from "../src/index.js";

/** Checkpoint ids in increasing order. */
const ids = (n: number) => Array.from({ length: n }, (_, i) => uuid6(i));

function checkpoint(id: string, values: Record<string, unknown>, versions: Record<string, string>): Checkpoint {
  return { v: 4, id, ts: new Date(Date.UTC(2025, 0, 1)).toISOString(), channel_values: values, channel_versions: versions, versions_seen: {} };
}

const config = (thread: string, id?: string, ns = "") => ({ configurable: { thread_id: thread, checkpoint_ns: ns, ...(id ? { checkpoint_id: id } : {}) } });

async function collect(it: AsyncIterable<CheckpointTuple>): Promise<CheckpointTuple[]> {
  const out: CheckpointTuple[] = [];
  for await (const t of it) out.push(t);
  return out;
}

/** `checkpoint id → parent id` of every checkpoint of the thread's root namespace. */
async function parents(saver: MemorySaver, thread: string): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const t of await collect(saver.list(config(thread)))) out[t.checkpoint.id] = t.parentConfig?.configurable?.checkpoint_id as string | undefined;
  return out;
}

/** Puts a linear thread: `messages` grows by one element per checkpoint; returns the ids. */
async function grow(saver: MemorySaver, thread: string, steps: number, metadata: (i: number) => Record<string, unknown> = () => ({})): Promise<string[]> {
  const out = ids(steps);
  let version: string | undefined;
  let parent: string | undefined;
  for (let i = 0; i < steps; i++) {
    version = String(saver.getNextVersion(version as never));
    const messages = Array.from({ length: i + 1 }, (_, k) => ({ role: "user", content: `message ${k}` }));
    await saver.put(config(thread, parent), checkpoint(out[i], { messages }, { messages: version }), { source: "loop", step: i, parents: {}, ...metadata(i) } as never, { messages: version });
    parent = out[i];
  }
  return out;
}

describe("MemorySaver layout", () => {
  it("a checkpoint put with an older id than the latest keeps every parent id", async () => {
    const saver = new MemorySaver();
    const [a, b, c, d] = ids(4);
    const v = String(saver.getNextVersion(undefined));
    await saver.put(config("t"), checkpoint(a, { x: 1 }, { x: v }), { source: "input", step: -1, parents: {} }, { x: v });
    await saver.put(config("t", a), checkpoint(b, {}, { x: v }), { source: "loop", step: 0, parents: {} }, {});
    await saver.put(config("t", b), checkpoint(d, {}, { x: v }), { source: "loop", step: 1, parents: {} }, {});
    // c sorts between b and d: d's parent is still b.
    await saver.put(config("t", a), checkpoint(c, {}, { x: v }), { source: "fork", step: 0, parents: {} }, {});
    expect(await parents(saver, "t")).toEqual({ [a]: undefined, [b]: a, [c]: a, [d]: b });
    expect((await saver.getTuple(config("t", c)))?.checkpoint.channel_values).toEqual({ x: 1 });
    expect((await saver.getTuple(config("t")))?.checkpoint.id).toBe(d);
  });

  it("prune and deleteForRuns keep the parent ids of the checkpoints they keep", async () => {
    const saver = new MemorySaver();
    const thread = await grow(saver, "t", 5, (i) => ({ run_id: i === 2 ? "gone" : "kept" }));
    await saver.deleteForRuns(["gone"]);
    expect(await parents(saver, "t")).toEqual({ [thread[0]]: undefined, [thread[1]]: thread[0], [thread[3]]: thread[2], [thread[4]]: thread[3] });
    expect((await saver.getTuple(config("t", thread[3])))?.checkpoint.channel_values.messages).toHaveLength(4);
    await saver.prune(["t"]);
    expect(await parents(saver, "t")).toEqual({ [thread[4]]: thread[3] });
    expect((await saver.getTuple(config("t")))?.checkpoint.channel_values.messages).toHaveLength(5);
  });

  it("copyThread into a thread with checkpoints merges both in id order", async () => {
    const saver = new MemorySaver();
    const [a, b, c, d] = ids(4);
    const v1 = String(saver.getNextVersion(undefined));
    const v2 = String(saver.getNextVersion(v1 as never));
    await saver.put(config("src"), checkpoint(a, { x: "a" }, { x: v1 }), { source: "input", step: -1, parents: {} }, { x: v1 });
    await saver.put(config("src", a), checkpoint(c, { x: "c" }, { x: v2 }), { source: "loop", step: 0, parents: {} }, { x: v2 });
    await saver.put(config("dst"), checkpoint(b, { y: "b" }, { y: v1 }), { source: "input", step: -1, parents: {} }, { y: v1 });
    await saver.put(config("dst", b), checkpoint(d, { y: "d" }, { y: v2 }), { source: "loop", step: 0, parents: {} }, { y: v2 });
    await saver.copyThread("src", "dst");
    expect(await parents(saver, "dst")).toEqual({ [a]: undefined, [b]: undefined, [c]: a, [d]: b });
    expect((await saver.getTuple(config("dst", c)))?.checkpoint.channel_values).toEqual({ x: "c" });
    expect((await saver.getTuple(config("dst", d)))?.checkpoint.channel_values).toEqual({ y: "d" });
    await saver.deleteThread("src");
    expect((await saver.getTuple(config("dst", a)))?.checkpoint.channel_values).toEqual({ x: "a" });
  });

  it("a version stored after the checkpoint that references it reads back", async () => {
    const saver = new MemorySaver();
    const [a, b] = ids(2);
    const v = String(saver.getNextVersion(undefined));
    await saver.put(config("t"), checkpoint(a, { x: "late" }, { x: v }), { source: "input", step: -1, parents: {} }, {});
    expect((await saver.getTuple(config("t", a)))?.checkpoint.channel_values).toEqual({});
    await saver.put(config("t"), checkpoint(b, { x: "late" }, { x: v }), { source: "input", step: -1, parents: {} }, { x: v });
    expect((await saver.getTuple(config("t", a)))?.checkpoint.channel_values).toEqual({ x: "late" });
  });

  it("metadata JSON that cannot be packed (control characters) and a serde that does not write JSON round-trip", async () => {
    const saver = new MemorySaver();
    const [a] = ids(1);
    const metadata = { source: "input", step: -1, parents: {}, note: "tab\tand\u0001code" } as never;
    await saver.put(config("t"), checkpoint(a, { x: 1 }, { x: "1" }), metadata, { x: "1" });
    expect((await saver.getTuple(config("t")))?.metadata).toEqual(metadata);
    expect(await collect(saver.list(config("t"), { filter: { note: "tab\tand\u0001code" } }))).toHaveLength(1);

    // A serde whose output is not tagged "json": rows keep its bytes as they are.
    const serde = {
      dumpsTyped: async (value: unknown): Promise<[string, Uint8Array]> => ["x-json", new TextEncoder().encode(JSON.stringify(value))],
      loadsTyped: async (type: string, data: Uint8Array | string) => {
        expect(type).toBe("x-json");
        return JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
      },
    };
    const custom = new MemorySaver({ serde });
    const [b, c] = ids(2);
    await custom.put(config("t"), checkpoint(b, { x: [1] }, { x: "1" }), { source: "input", step: -1, parents: {}, run_id: "r" } as never, { x: "1" });
    await custom.put(config("t", b), checkpoint(c, { x: [1, 2] }, { x: "2" }), { source: "loop", step: 0, parents: {} } as never, { x: "2" });
    const tuple = await custom.getTuple(config("t", b));
    expect(tuple?.checkpoint.channel_values).toEqual({ x: [1] });
    expect(tuple?.metadata).toEqual({ source: "input", step: -1, parents: {}, run_id: "r" });
    expect((await collect(custom.list(config("t")))).map((t) => t.checkpoint.id)).toEqual([c, b]);
    await custom.deleteForRuns(["r"]);
    expect((await collect(custom.list(config("t")))).map((t) => t.parentConfig?.configurable?.checkpoint_id)).toEqual([b]);
  });

  it("a checkpoint with many tasks keeps the first write of each (task, index) and the last special write", async () => {
    const saver = new MemorySaver();
    const [a] = ids(1);
    const cfg = await saver.put(config("t"), checkpoint(a, {}, {}), { source: "input", step: -1, parents: {} }, {});
    for (let round = 0; round < 2; round++) {
      for (let task = 0; task < 40; task++) {
        await saver.putWrites(cfg, [["out", `${task}-${round}`], ["__error__", `error ${task}-${round}`]], `task-${String(task).padStart(2, "0")}`);
      }
    }
    const writes = (await saver.getTuple(cfg))!.pendingWrites!;
    expect(writes).toHaveLength(80);
    const byTask = (task: number) => writes.filter(([t]) => t === `task-${String(task).padStart(2, "0")}`).map(([, c, v]) => [c, v]);
    for (const task of [0, 20, 39]) expect(byTask(task)).toEqual([["__error__", `error ${task}-1`], ["out", `${task}-0`]]);
  });

  it("stores each appended message once: blobs hold the messages, not a copy per checkpoint", async () => {
    const saver = new MemorySaver();
    await grow(saver, "t", 60);
    type Blob = { data: Uint8Array; prev?: Blob };
    const space = (saver.data as unknown as { threads: Map<string, { namespaces: Map<string, { rows: Array<{ refs: Array<string | Blob> }> }> }> }).threads
      .get("t")!
      .namespaces.get("")!;
    const blobs = new Set<Blob>();
    for (const row of space.rows) for (const ref of row.refs) for (let b = typeof ref === "string" ? undefined : ref; b && !blobs.has(b); b = b.prev) blobs.add(b);
    const stored = [...blobs].reduce((n, b) => n + b.data.length, 0);
    const once = JSON.stringify(Array.from({ length: 60 }, (_, k) => ({ role: "user", content: `message ${k}` }))).length;
    expect(blobs.size).toBe(60);
    expect(stored).toBeLessThan(once * 1.1);
  });
});

describe("InMemoryStore get", () => {
  it("validates like batch: a dotted label never reads the namespace it spells", async () => {
    const store = new InMemoryStore();
    await store.put(["a", "b"], "k", { v: 1 });
    await expect(store.get(["a.b"], "k")).rejects.toBeInstanceOf(InvalidNamespaceError);
    await expect(store.get(["a:b"], "k")).rejects.toBeInstanceOf(InvalidNamespaceError);
    await expect(store.get(["a\u0000b"], "k")).rejects.toBeInstanceOf(InvalidNamespaceError);
    expect(await store.get([], "k")).toBeNull();
    await expect(store.get("a" as never, "k")).rejects.toBeInstanceOf(InvalidNamespaceError);
    await expect(store.get(["a", 1] as never, "k")).rejects.toBeInstanceOf(InvalidNamespaceError);
    await expect(store.get(["a", "b"], "")).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.get(["a", "b"], 3 as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await store.get(["a", "x"], "k")).toBeNull();
    expect(await store.get(["langgraph"], "k")).toBeNull();
  });

  it("returns copies: flat and nested values, namespace and dates", async () => {
    const store = new InMemoryStore();
    await store.put(["a"], "flat", { n: 1, s: "x", none: null });
    await store.put(["a"], "nested", { list: [1], o: { p: 1 } });
    const flat = (await store.get(["a"], "flat"))!;
    flat.value.n = 2;
    flat.createdAt.setTime(0);
    flat.namespace.push("b");
    const nested = (await store.get(["a"], "nested"))!;
    nested.value.list.push(2);
    nested.value.o.p = 2;
    expect((await store.get(["a"], "flat"))?.value).toEqual({ n: 1, s: "x", none: null });
    expect((await store.get(["a"], "flat"))?.createdAt.getTime()).toBeGreaterThan(0);
    expect((await store.get(["a"], "flat"))?.namespace).toEqual(["a"]);
    expect((await store.get(["a"], "nested"))?.value).toEqual({ list: [1], o: { p: 1 } });
  });

  it("refreshes the expiry of an item read with refreshOnRead, and hides expired items", async () => {
    const store = new InMemoryStore({ ttl: { defaultTtl: 1, refreshOnRead: true } });
    await store.put(["a"], "k", { v: 1 });
    const items = (store.items as unknown as { namespaces: Map<string, Map<string, { expiresAt: number }>> }).namespaces;
    const stored = items.get("a")!.get("k")!;
    stored.expiresAt = Date.now() + 5_000;
    expect(await store.get(["a"], "k")).not.toBeNull();
    expect(stored.expiresAt).toBeGreaterThan(Date.now() + 30_000);
    stored.expiresAt = Date.now() - 1;
    expect(await store.get(["a"], "k")).toBeNull();
    await store.close();
  });
});
