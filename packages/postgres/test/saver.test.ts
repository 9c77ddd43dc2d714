import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunnableConfig } from "@langchain/core/runnables";
import { emptyCheckpoint, uuid6, type Checkpoint, type CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import { BackendError, ClientClosedError, InvalidArgumentError, NotSetUpError, PersistenceError } from "@langgraph-persist/core";
import { PostgresSaver } from "../src/index.js";
import { LATEST_VERSIONS } from "../src/migrations.js";
import { unpackJson } from "../src/pack.js";
import * as sql from "../src/sql.js";
import { POSTGRES_URL, adminPool, countingPool, describePg, dropSchemasAfterAll, uniqueSchema } from "./helpers.js";

const schema = uniqueSchema("saver");
const extraSchemas: string[] = [];
dropSchemasAfterAll(schema, () => extraSchemas);

let seq = 0;
const threadId = () => `thread-${Date.now().toString(36)}-${++seq}-${Math.random().toString(36).slice(2, 6)}`;

function checkpoint(values: Record<string, unknown>, versions: Record<string, string | number>): Checkpoint {
  const cp = emptyCheckpoint();
  cp.id = uuid6(-1);
  cp.channel_values = values;
  cp.channel_versions = versions;
  return cp;
}

const meta = (step: number, extra: Record<string, unknown> = {}) => ({ source: "loop", step, parents: {}, ...extra }) as CheckpointMetadata;
const config = (thread: string, ns = "", id?: string): RunnableConfig => ({ configurable: { thread_id: thread, checkpoint_ns: ns, ...(id ? { checkpoint_id: id } : {}) } });

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Puts a chain of `n` checkpoints; checkpoint i sets channel "step" = i and keeps "fixed" unchanged. */
async function chain(saver: PostgresSaver, thread: string, n: number, ns = ""): Promise<string[]> {
  const ids: string[] = [];
  let parent: RunnableConfig = config(thread, ns);
  for (let i = 0; i < n; i++) {
    const versions = { step: `v${i}`, fixed: "v-fixed" };
    const stored = await saver.put(parent, checkpoint({ step: i, fixed: "same" }, versions), meta(i), i === 0 ? versions : { step: `v${i}` });
    ids.push(stored.configurable!.checkpoint_id as string);
    parent = stored;
  }
  return ids;
}

/** Puts `n` checkpoints whose "messages" channel grows by one item per step; returns their ids. */
async function messagesChain(saver: PostgresSaver, thread: string, n: number, runOf: (i: number) => string | undefined = () => undefined): Promise<string[]> {
  const ids: string[] = [];
  let parent: RunnableConfig = config(thread);
  for (let i = 0; i < n; i++) {
    const versions = { messages: `v${String(i).padStart(3, "0")}` };
    const values = { messages: Array.from({ length: i + 1 }, (_, k) => ({ k, text: `message ${k}` })) };
    const run = runOf(i);
    const stored = await saver.put(parent, checkpoint(values, versions), meta(i, run ? { run_id: run } : {}), versions);
    ids.push(stored.configurable!.checkpoint_id as string);
    parent = stored;
  }
  return ids;
}

/**
 * `messagesChain` with versions from the saver's own `getNextVersion`: the codec offers only keys of
 * this format as held (`known`) to later reads.
 */
async function ownMessagesChain(saver: PostgresSaver, thread: string, n: number): Promise<{ ids: string[]; versions: string[] }> {
  const ids: string[] = [];
  const versions: string[] = [];
  let parent: RunnableConfig = config(thread);
  let version: string | undefined;
  for (let i = 0; i < n; i++) {
    version = String(saver.getNextVersion(version as never));
    versions.push(version);
    const values = { messages: Array.from({ length: i + 1 }, (_, k) => ({ k, text: `message ${k}` })) };
    const stored = await saver.put(parent, checkpoint(values, { messages: version }), meta(i), { messages: version });
    ids.push(stored.configurable!.checkpoint_id as string);
    parent = stored;
  }
  return { ids, versions };
}

async function blobKeys(thread: string): Promise<string[]> {
  const admin = adminPool();
  try {
    const { rows } = await admin.query<{ version: string }>(`SELECT version FROM "${schema}".lgp_checkpoint_blobs WHERE thread_id = $1 ORDER BY version`, [thread]);
    return rows.map((r) => r.version);
  } finally {
    await admin.end();
  }
}

describePg("PostgresSaver", () => {
  const { pool, log } = countingPool({ max: 4 });
  let saver: PostgresSaver;

  beforeAll(async () => {
    saver = new PostgresSaver(pool, { schema, listPageSize: 10 });
    await saver.setup();
  });
  afterAll(async () => {
    await saver.close();
    await pool.end();
  });

  it("round trips - put is one statement whatever the number of changed channels", async () => {
    for (const channels of [1, 10, 60]) {
      const thread = threadId();
      const values: Record<string, unknown> = {};
      const versions: Record<string, string> = {};
      for (let c = 0; c < channels; c++) {
        values[`ch${c}`] = { c, text: "x".repeat(100) };
        versions[`ch${c}`] = `1.${c}`;
      }
      log.reset();
      const first = await saver.put(config(thread), checkpoint(values, versions), meta(0), versions);
      expect(log.count, `${channels} channels, no parent`).toBe(1);
      const next: Record<string, string> = {};
      for (const c of Object.keys(versions)) next[c] = `2.${c}`;
      log.reset();
      await saver.put(first, checkpoint(values, next), meta(1), next);
      expect(log.count, `${channels} channels, parent written by this saver`).toBe(1);
    }
  });

  it("round trips - put is two statements when this saver has never seen the parent (it reads it first)", async () => {
    const thread = threadId();
    const [first] = await chain(saver, thread, 1);
    const other = new PostgresSaver(pool, { schema });
    log.reset();
    await other.put(config(thread, "", first), checkpoint({ step: 1 }, { step: "v1" }), meta(1), { step: "v1" });
    expect(log.count).toBe(2);
    await other.close();
  });

  it("round trips - putWrites is one statement, getTuple one, deleteThread one", async () => {
    const thread = threadId();
    const ids = await chain(saver, thread, 3);
    log.reset();
    await saver.putWrites(config(thread, "", ids[2]), Array.from({ length: 25 }, (_, i) => [`ch${i}`, { i }] as [string, unknown]), "task-1");
    expect(log.count, "putWrites").toBe(1);
    log.reset();
    const latest = await saver.getTuple(config(thread));
    expect(log.count, "getTuple (latest)").toBe(1);
    expect(latest?.checkpoint.channel_values).toEqual({ step: 2, fixed: "same" });
    expect(latest?.pendingWrites).toHaveLength(25);
    log.reset();
    const byId = await saver.getTuple(config(thread, "", ids[0]));
    expect(log.count, "getTuple (by id)").toBe(1);
    expect(byId?.checkpoint.channel_values).toEqual({ step: 0, fixed: "same" });
    log.reset();
    await saver.deleteThread(thread);
    expect(log.count, "deleteThread").toBe(1);
    expect(await saver.getTuple(config(thread))).toBeUndefined();
  });

  it("round trips - list sends one statement per page and fetches pages lazily", async () => {
    const thread = threadId();
    const ids = await chain(saver, thread, 25);
    log.reset();
    const all = await collect(saver.list(config(thread)));
    expect(all.map((t) => t.checkpoint.id)).toEqual([...ids].reverse());
    expect(all[24].checkpoint.channel_values).toEqual({ step: 0, fixed: "same" });
    expect(log.count, "25 checkpoints, pages of 10").toBe(3);
    log.reset();
    expect(await collect(saver.list(config(thread), { limit: 4 }))).toHaveLength(4);
    expect(log.count, "limit 4").toBe(1);
    log.reset();
    const iterator = saver.list(config(thread))[Symbol.asyncIterator]();
    await iterator.next();
    expect(log.count, "one item read, one page fetched").toBe(1);
    await iterator.return?.(undefined);
    const pages = log.statements.filter((s) => s.includes("LIMIT"));
    expect(pages).toHaveLength(1);
  });

  it("round trips - getDeltaChannelHistory reads ancestors in pages, whatever the number of channels", async () => {
    const thread = threadId();
    const ids = await chain(saver, thread, 30);
    log.reset();
    const history = await saver.getDeltaChannelHistory({ config: config(thread, "", ids[29]), channels: ["missing-a", "missing-b", "missing-c"] });
    expect(Object.keys(history)).toEqual(["missing-a", "missing-b", "missing-c"]);
    // The target, then ceil(29 ancestors / page of 10) pages.
    expect(log.count).toBe(1 + 3);
  });

  it("round trips - extended operations are one statement each (copyThread: one short transaction)", async () => {
    const thread = threadId();
    await chain(saver, thread, 3);
    await chain(saver, thread, 2, "child:1");
    log.reset();
    await saver.listThreads({ limit: 5 });
    expect(log.count, "listThreads").toBe(1);
    log.reset();
    await saver.deleteForRuns(["no-such-run"]);
    expect(log.count, "deleteForRuns").toBe(1);
    log.reset();
    await saver.prune([thread]);
    expect(log.count, "prune").toBe(1);
    log.reset();
    await saver.copyThread(thread, threadId());
    expect(log.statements.map((s) => s.trim().split(/\s+/)[0])).toEqual(["BEGIN", "WITH", "WITH", "COMMIT"]);
  });

  it("blobs - a channel version shared by many checkpoints is stored once", async () => {
    const thread = threadId();
    await chain(saver, thread, 5);
    const admin = adminPool();
    try {
      const { rows } = await admin.query<{ channel: string; n: string }>(
        `SELECT channel, count(*) AS n FROM "${schema}".lgp_checkpoint_blobs WHERE thread_id = $1 GROUP BY channel ORDER BY channel`,
        [thread],
      );
      expect(rows.map((r) => [r.channel, Number(r.n)])).toEqual([
        ["fixed", 1],
        ["step", 5],
      ]);
    } finally {
      await admin.end();
    }
    const tuples = await collect(saver.list(config(thread)));
    expect(tuples.map((t) => t.checkpoint.channel_values.fixed)).toEqual(Array(5).fill("same"));
  });

  it("linear storage - a page's checkpoints share one range scan per chain: one row, each blob once", async () => {
    const thread = threadId();
    const ids = await messagesChain(saver, thread, 12);
    const keys = await blobKeys(thread);
    expect(keys).toHaveLength(12);
    expect(keys.filter((k) => k.includes("~")), "11 deltas chained to the first snapshot").toHaveLength(11);
    const admin = adminPool();
    try {
      const q = sql.readCheckpoints(sql.names(schema), { threadId: thread, checkpointNs: "", limit: 10, now: new Date() });
      const { rows } = await admin.query<sql.ReadRow>({ text: q.text, values: q.values, rowMode: "array" });
      expect(rows.filter((r) => r[0] === 0)).toHaveLength(10);
      const ranges = rows.filter((r) => r[0] === 1);
      expect(ranges, "the 10 checkpoints reference one chain").toHaveLength(1);
      // Per blob: key, type and byte lengths in column 7; keys and types concatenated in column 8.
      const lengths = ranges[0][7]!.split(",").map(Number);
      expect(lengths).toHaveLength(3 * 12);
      const text = ranges[0][8]!;
      const links: Array<[string, string, number]> = [];
      for (let i = 0, t = 0; i < lengths.length; i += 3) links.push([text.slice(t, (t += lengths[i])), text.slice(t, (t += lengths[i + 1])), lengths[i + 2]]);
      expect(links.map((l) => l[0]).sort()).toEqual(keys);
      expect(links.every(([key, type]) => (key.includes("~") ? type.startsWith("+") : type === "json"))).toBe(true);
      expect(links.reduce((n, l) => n + l[2], 0)).toBe(ranges[0][10]!.length);
    } finally {
      await admin.end();
    }
    const listed = await collect(saver.list(config(thread), { limit: 10 }));
    expect(listed.map((t) => (t.checkpoint.channel_values.messages as unknown[]).length)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect((await saver.getTuple(config(thread, "", ids[0])))?.checkpoint.channel_values.messages).toEqual([{ k: 0, text: "message 0" }]);
  });

  it("blob keys and types with characters outside the BMP read back (their lengths count code points)", async () => {
    const thread = threadId();
    const versions = { a: "v\u{1F600}1", b: "2\u{10FFFF}\u00e9" };
    await saver.put(config(thread), checkpoint({ a: ["x", "\u{1F600}"], b: { n: 1 } }, versions), meta(0), versions);
    // Another instance: nothing of the thread is held, every blob is fetched.
    const reader = new PostgresSaver(POSTGRES_URL, { schema });
    await reader.setup();
    const read = await reader.getTuple(config(thread)).finally(() => reader.close());
    expect(read?.checkpoint.channel_values).toEqual({ a: ["x", "\u{1F600}"], b: { n: 1 } });
    expect(read?.checkpoint.channel_versions).toEqual(versions);
  });

  it("linear storage - a read leaves out the chains the saver already holds (known refs): fewer rows, same values", async () => {
    const thread = threadId();
    const { versions } = await ownMessagesChain(saver, thread, 12);
    log.reset();
    const latest = await saver.getTuple(config(thread));
    expect(log.count).toBe(1);
    // The saver wrote the thread, so it passes the chain tip it holds with the read.
    const [channels, keys] = log.values[0].filter(Array.isArray) as [string[], string[]];
    expect(channels).toContain("messages");
    expect(latest!.checkpoint.channel_versions.messages).toBe(versions[11]);
    const admin = adminPool();
    try {
      const n = sql.names(schema);
      const read = async (known?: { channels: string[]; keys: string[] }) => {
        const q = sql.readCheckpoints(n, { threadId: thread, checkpointNs: "", limit: 1, now: new Date(), known });
        return (await admin.query<sql.ReadRow>({ text: q.text, values: q.values, rowMode: "array" })).rows;
      };
      const withKnown = await read({ channels, keys });
      const without = await read();
      expect(withKnown.filter((r) => r[0] === 0)).toHaveLength(1);
      expect(withKnown.filter((r) => r[0] === 1), "the held chain is not fetched").toHaveLength(0);
      expect(without.filter((r) => r[0] === 1), "without known refs the chain is one row").toHaveLength(1);
      // A reference that is not held exactly (another key of the same channel) is still fetched.
      const other = await read({ channels: ["messages"], keys: [`${keys[0]}x`] });
      expect(other.filter((r) => r[0] === 1)).toHaveLength(1);
    } finally {
      await admin.end();
    }
    const fresh = new PostgresSaver(pool, { schema });
    const expected = Array.from({ length: 12 }, (_, k) => ({ k, text: `message ${k}` }));
    expect(latest?.checkpoint.channel_values.messages).toEqual(expected);
    expect((await fresh.getTuple(config(thread)))?.checkpoint.channel_values.messages).toEqual(expected);
    // Read again through the saver: still the same values from the held tip.
    expect((await saver.getTuple(config(thread)))?.checkpoint.channel_values.messages).toEqual(expected);
    await fresh.close();
  });

  it("linear storage - a saver holding a thread's values reads what another instance wrote since (append, rewrite)", async () => {
    const thread = threadId();
    const { ids, versions } = await ownMessagesChain(saver, thread, 5);
    await saver.getTuple(config(thread));
    const other = new PostgresSaver(pool, { schema });
    // Another instance appends to the thread (it reads the parent first: it never saw it).
    const latest = await other.getTuple(config(thread));
    const grown = [...(latest!.checkpoint.channel_values.messages as unknown[]), { k: 5, text: "from the other instance" }];
    const v5 = String(other.getNextVersion(versions[4] as never));
    const next = await other.put(config(thread, "", ids[4]), checkpoint({ messages: grown }, { messages: v5 }), meta(5), { messages: v5 });
    expect((await saver.getTuple(config(thread)))?.checkpoint.channel_values.messages).toEqual(grown);
    expect((await saver.getTuple(next))?.checkpoint.id).toBe(next.configurable!.checkpoint_id);
    // It deletes the thread and writes it again with other values: the holder reads the new values.
    await other.deleteThread(thread);
    const rewritten = [{ k: 0, text: "rewritten" }];
    const w0 = String(other.getNextVersion(undefined as never));
    await other.put(config(thread), checkpoint({ messages: rewritten }, { messages: w0 }), meta(0), { messages: w0 });
    expect((await saver.getTuple(config(thread)))?.checkpoint.channel_values.messages).toEqual(rewritten);
    // And the old checkpoint the holder had read is gone.
    expect(await saver.getTuple(config(thread, "", ids[4]))).toBeUndefined();
    await other.close();
  });

  it("linear storage - prune keeps exactly the links and base the latest checkpoint needs", async () => {
    const short = new PostgresSaver(pool, { schema, linearStorage: { snapshotEvery: 3 } });
    const thread = threadId();
    await messagesChain(short, thread, 8);
    // Steps 0-3: a snapshot and 3 deltas; steps 4-7: a new snapshot and 3 deltas.
    expect(await blobKeys(thread)).toHaveLength(8);
    await short.prune([thread]);
    const kept = await blobKeys(thread);
    expect(kept).toHaveLength(4);
    expect(kept[0]).toBe("v004");
    expect(kept.slice(1).every((k) => k.startsWith("v004~"))).toBe(true);
    const latest = await new PostgresSaver(pool, { schema }).getTuple(config(thread));
    expect((latest?.checkpoint.channel_values.messages as unknown[]).length).toBe(8);
    await short.close();
  });

  it("linear storage - deleteForRuns keeps the base of a chain later checkpoints still need", async () => {
    const short = new PostgresSaver(pool, { schema, linearStorage: { snapshotEvery: 3 } });
    const thread = threadId();
    const early = `run-${threadId()}`;
    const ids = await messagesChain(short, thread, 8, (i) => (i < 5 ? early : `late-${thread}`));
    await short.deleteForRuns([early]);
    // Checkpoints 5-7 reference v004~01..03: the snapshot v004 (written by checkpoint 4, deleted) stays.
    const kept = await blobKeys(thread);
    expect(kept).toHaveLength(4);
    expect(kept[0]).toBe("v004");
    expect(kept.slice(1).every((k) => k.startsWith("v004~"))).toBe(true);
    const reader = new PostgresSaver(pool, { schema });
    expect((await collect(reader.list(config(thread)))).map((t) => t.checkpoint.id)).toEqual(ids.slice(5).reverse());
    expect(((await reader.getTuple(config(thread, "", ids[5])))?.checkpoint.channel_values.messages as unknown[]).length).toBe(6);
    await short.close();
  });

  it("storage - JSON metadata is stored once as its exact text, the checkpoint packed, without id or values", async () => {
    const thread = threadId();
    // Key order and spacing that jsonb would change: the json column keeps the text.
    const metadata = { source: "loop", step: 3, parents: {}, zeta: 1, alpha: [1, { b: 2, a: 1 }] } as CheckpointMetadata;
    const cp = checkpoint({ step: 3 }, { step: "v3" });
    await saver.put(config(thread), cp, metadata, { step: "v3" });
    const admin = adminPool();
    try {
      const { rows } = await admin.query(
        `SELECT metadata, metadata_type, metadata_json::text AS json, checkpoint_type, checkpoint FROM "${schema}".lgp_checkpoints WHERE thread_id = $1`,
        [thread],
      );
      expect(rows[0].metadata, "no metadata bytes").toBeNull();
      expect(rows[0].metadata_type).toBeNull();
      expect(rows[0].json).toBe(JSON.stringify(metadata));
      expect(rows[0].checkpoint_type, "packed").toBeNull();
      expect(rows[0].checkpoint.length).toBeLessThan(unpackJson(rows[0].checkpoint).length * 0.6);
      const stored = JSON.parse(unpackJson(rows[0].checkpoint).toString("utf8")) as Record<string, unknown>;
      expect(stored.id).toBeUndefined();
      expect(stored.channel_values).toBeUndefined();
      expect(stored.channel_versions).toEqual({ step: "v3" });
    } finally {
      await admin.end();
    }
    const tuple = await new PostgresSaver(pool, { schema }).getTuple(config(thread));
    expect(tuple?.metadata).toEqual(metadata);
    expect(tuple?.checkpoint.id).toBe(cp.id);
    expect((await saver.listThreads({ filter: { zeta: 1, alpha: [1, { a: 1, b: 2 }] }, limit: 1000 })).map((t) => t.threadId)).toContain(thread);
  });

  it("storage - metadata with NUL characters reads back exactly and filters match it; unpaired surrogates are rejected", async () => {
    const thread = threadId();
    const metadata = meta(0, { nul: "a\u0000b", "k\u0000": ["\u0001", "\u0000"] });
    await saver.put(config(thread), checkpoint({ x: 1 }, { x: "1" }), metadata, { x: "1" });
    expect((await new PostgresSaver(pool, { schema }).getTuple(config(thread)))?.metadata).toEqual(metadata);
    expect(await collect(saver.list(config(thread), { filter: { nul: "a\u0000b" } }))).toHaveLength(1);
    expect(await collect(saver.list(config(thread), { filter: { "k\u0000": ["\u0001", "\u0000"] } }))).toHaveLength(1);
    expect(await collect(saver.list(config(thread), { filter: { nul: "a\u0001b" } }))).toHaveLength(0);
    await expect(saver.put(config(threadId()), checkpoint({}, {}), meta(0, { bad: "\ud800" }), {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(saver.put(config(threadId()), checkpoint({ ["bad\udc00"]: 1 }, { ["bad\udc00"]: "1" }), meta(0), { ["bad\udc00"]: "1" })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it("prepared statements - hot statements are named; preparedStatements: false sends them unnamed", async () => {
    const thread = threadId();
    log.reset();
    const [id] = await chain(saver, thread, 1);
    await saver.putWrites(config(thread, "", id), [["a", 1]], "task");
    await saver.getTuple(config(thread));
    await collect(saver.list(config(thread)));
    expect(log.names).toHaveLength(4);
    expect(log.names.every((n) => typeof n === "string" && n.startsWith("lgp_"))).toBe(true);
    expect(new Set(log.names).size, "one name per statement text").toBe(3);
    const unnamed = new PostgresSaver(pool, { schema, preparedStatements: false });
    log.reset();
    await chain(unnamed, threadId(), 2);
    await unnamed.getTuple(config(thread));
    expect(log.names).toEqual([undefined, undefined, undefined]);
    await unnamed.close();
  });

  it("listThreads - reads the thread index (root namespace first), newest first, with before and filter", async () => {
    const marker = `m-${threadId()}`;
    const a = threadId();
    const b = threadId();
    const c = threadId();
    await chain(saver, a, 2);
    await saver.put(config(b, "child:1"), checkpoint({ x: 1 }, { x: "1" }), meta(0, { marker }), { x: "1" });
    const [bRoot] = await chain(saver, b, 1);
    await saver.put(config(c, "child:1"), checkpoint({ x: 1 }, { x: "1" }), meta(0, { marker }), { x: "1" });
    // b's newer child checkpoint does not replace its root checkpoint in the index.
    await saver.put(config(b, "child:1"), checkpoint({ x: 2 }, { x: "2" }), meta(1, { marker }), { x: "2" });
    log.reset();
    const threads = await saver.listThreads({ limit: 1000 });
    expect(log.statements[0]).toContain("lgp_threads");
    const mine = threads.filter((t) => [a, b, c].includes(t.threadId));
    expect(mine.map((t) => t.threadId)).toEqual([c, b, a]);
    expect(mine[1]).toMatchObject({ threadId: b, checkpointNs: "", checkpointId: bRoot });
    expect(mine[0]).toMatchObject({ threadId: c, checkpointNs: "child:1", metadata: { marker } });
    const filtered = await saver.listThreads({ filter: { marker }, limit: 10 });
    expect(filtered.map((t) => t.threadId)).toEqual([c]);
    const older = await saver.listThreads({ before: mine[0].checkpointId, limit: 1000 });
    expect(older.map((t) => t.threadId).filter((t) => [a, b, c].includes(t))).toEqual([b, a]);
  });

  it("ttl - sweep() removes every row of expired threads and hides them before that", async () => {
    const ttlSaver = new PostgresSaver(pool, { schema, ttl: { defaultTtl: 0.002 } });
    await ttlSaver.setup();
    const thread = threadId();
    const ids = await chain(ttlSaver, thread, 2);
    await ttlSaver.putWrites(config(thread, "", ids[1]), [["a", 1]], "t");
    await new Promise((r) => setTimeout(r, 250));
    expect(await saver.getTuple(config(thread)), "another saver without TTL sees it expired too").toBeUndefined();
    expect(await ttlSaver.sweep()).toBeGreaterThanOrEqual(1);
    const admin = adminPool();
    try {
      for (const table of ["lgp_checkpoints", "lgp_checkpoint_blobs", "lgp_checkpoint_writes", "lgp_threads"]) {
        const { rows } = await admin.query(`SELECT 1 FROM "${schema}".${table} WHERE thread_id = $1`, [thread]);
        expect(rows, table).toHaveLength(0);
      }
    } finally {
      await admin.end();
      await ttlSaver.close();
    }
  });

  it("ttl - a write to an expired (not yet swept) thread starts it over", async () => {
    const ttlSaver = new PostgresSaver(pool, { schema, ttl: { defaultTtl: 0.002 } });
    await ttlSaver.setup();
    const thread = threadId();
    await chain(ttlSaver, thread, 3);
    await new Promise((r) => setTimeout(r, 250));
    const [fresh] = await chain(ttlSaver, thread, 1);
    const listed = await collect(ttlSaver.list(config(thread)));
    expect(listed.map((t) => t.checkpoint.id)).toEqual([fresh]);
    await ttlSaver.close();
  });

  it("ttl - a put that does not move the thread index still checks expiry: live threads keep it, expired ones start over", async () => {
    // Live thread: a child-namespace checkpoint is stored, the index keeps the root checkpoint.
    const live = threadId();
    const [root] = await chain(saver, live, 1);
    const child = await saver.put(config(live, "child:1"), checkpoint({ x: 1 }, { x: "1" }), meta(0), { x: "1" });
    expect((await saver.getTuple(child))?.checkpoint.channel_values).toEqual({ x: 1 });
    const index = (await saver.listThreads({ limit: 1000 })).find((t) => t.threadId === live);
    expect(index).toMatchObject({ checkpointNs: "", checkpointId: root });
    // Expired thread (TTL set by another saver): a saver without TTL writing a child checkpoint, which
    // would not move the index, still finds the expiry and starts the thread over.
    const ttlSaver = new PostgresSaver(pool, { schema, ttl: { defaultTtl: 0.002 } });
    await ttlSaver.setup();
    const expired = threadId();
    await chain(ttlSaver, expired, 2);
    await new Promise((r) => setTimeout(r, 250));
    log.reset();
    await saver.put(config(expired, "child:1"), checkpoint({ x: 2 }, { x: "2" }), meta(0), { x: "2" });
    expect(log.count, "the fast statement, then the purge").toBe(2);
    expect(await collect(saver.list(config(expired, "")))).toEqual([]);
    expect((await collect(saver.list(config(expired, "child:1")))).map((t) => t.checkpoint.channel_values)).toEqual([{ x: 2 }]);
    await ttlSaver.close();
  });

  it("migrations - ten savers calling setup() at once on a new schema end with one correct schema", async () => {
    const fresh = uniqueSchema("race");
    extraSchemas.push(fresh);
    const savers = Array.from({ length: 10 }, () => new PostgresSaver(POSTGRES_URL, { schema: fresh }));
    try {
      await Promise.all(savers.map((s) => s.setup()));
      const admin = adminPool();
      try {
        const { rows } = await admin.query<{ component: string; version: number }>(`SELECT component, version FROM "${fresh}".lgp_migrations ORDER BY 1, 2`);
        expect(rows).toEqual(Array.from({ length: LATEST_VERSIONS.saver }, (_, i) => ({ component: "saver", version: i + 1 })));
        const tables = await admin.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [fresh]);
        expect(tables.rows.map((r) => r.table_name)).toEqual(["lgp_checkpoint_blobs", "lgp_checkpoint_writes", "lgp_checkpoints", "lgp_migrations", "lgp_threads"]);
      } finally {
        await admin.end();
      }
      const thread = threadId();
      await chain(savers[3], thread, 2);
      expect((await savers[7].getTuple(config(thread)))?.checkpoint.channel_values).toEqual({ step: 1, fixed: "same" });
    } finally {
      await Promise.all(savers.map((s) => s.close()));
    }
  });

  it("schema - any schema name is quoted (quotes, spaces, semicolons, upper case)", async () => {
    const odd = `Lgp "odd"; name ${Date.now().toString(36)}`;
    extraSchemas.push(odd);
    const s = new PostgresSaver(pool, { schema: odd });
    await s.setup();
    const thread = threadId();
    await chain(s, thread, 2);
    expect((await s.getTuple(config(thread)))?.checkpoint.channel_values).toEqual({ step: 1, fixed: "same" });
    expect(await saver.getTuple(config(thread)), "other schemas do not see it").toBeUndefined();
    await s.close();
  });

  it("connection - a connection killed by the server mid-operation is a BackendError and the next call succeeds", async () => {
    const app = `lgp-kill-${threadId()}`;
    const victimPool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1, application_name: app });
    const victim = new PostgresSaver(victimPool, { schema });
    const admin = await new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    admin.on("error", () => {});
    const locker = await admin.connect();
    try {
      const thread = threadId();
      await chain(victim, thread, 1);
      // Hold a lock the next put needs, so it is in flight on the server when its backend is killed.
      await locker.query("BEGIN");
      await locker.query(`LOCK TABLE "${schema}".lgp_checkpoints IN ACCESS EXCLUSIVE MODE`);
      const pending = victim.put(config(thread), checkpoint({ step: 9 }, { step: "v9" }), meta(9), { step: "v9" }).then(
        () => undefined,
        (err: unknown) => err,
      );
      let pid: number | undefined;
      for (let i = 0; i < 200 && pid === undefined; i++) {
        const { rows } = await admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [app],
        );
        pid = rows[0]?.pid;
        if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
      }
      expect(pid, "the put is waiting on the server").toBeDefined();
      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      const err = await pending;
      expect(err).toBeInstanceOf(BackendError);
      expect((err as Error).message).toMatch(/\[@langgraph-persist\/postgres\] put failed/);
      expect((err as Error).cause).toBeDefined();
      await locker.query("ROLLBACK");
      const next = await victim.put(config(thread), checkpoint({ step: 10 }, { step: "v10" }), meta(10), { step: "v10" });
      expect((await victim.getTuple(next))?.checkpoint.channel_values.step).toBe(10);
    } finally {
      locker.release();
      await admin.end();
      await victim.close();
      await victimPool.end();
    }
  });

  it("connection - a user-set statement_timeout surfaces as a BackendError and the next call succeeds", async () => {
    const timeoutPool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1, statement_timeout: 200 });
    const s = new PostgresSaver(timeoutPool, { schema });
    const admin = adminPool();
    const locker = await admin.connect();
    try {
      const thread = threadId();
      await chain(s, thread, 1);
      await locker.query("BEGIN");
      await locker.query(`LOCK TABLE "${schema}".lgp_checkpoints IN ACCESS EXCLUSIVE MODE`);
      const err = await s.getTuple(config(thread)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BackendError);
      expect((err as Error).message).toMatch(/statement_timeout/);
      await locker.query("ROLLBACK");
      expect((await s.getTuple(config(thread)))?.checkpoint.channel_values.step).toBe(0);
    } finally {
      locker.release();
      await admin.end();
      await s.close();
      await timeoutPool.end();
    }
  });

  it("lifecycle - close() leaves a caller's pool open and ends the pool it created", async () => {
    const callerPool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    const s = new PostgresSaver(callerPool, { schema });
    await s.setup();
    await s.close();
    expect((await callerPool.query("SELECT 1 AS one")).rows[0].one).toBe(1);
    await callerPool.end();
    const owned = PostgresSaver.fromConnString(POSTGRES_URL, { schema });
    await owned.setup();
    await owned.close();
    expect((owned.pool as pg.Pool & { ended: boolean }).ended).toBe(true);
  });

  it("errors - a pool the caller ended gives ClientClosedError", async () => {
    const callerPool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    const s = new PostgresSaver(callerPool, { schema });
    await s.setup();
    await callerPool.end();
    await expect(s.getTuple(config(threadId()))).rejects.toBeInstanceOf(ClientClosedError);
    await expect(s.put(config(threadId()), checkpoint({}, {}), meta(0), {})).rejects.toBeInstanceOf(ClientClosedError);
  });

  it("errors - an unreachable server gives BackendError from setup() and from operations", async () => {
    const s = PostgresSaver.fromConnString("postgres://postgres@127.0.0.1:1/test", { schema });
    const setupErr = await s.setup().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(setupErr).toBeInstanceOf(BackendError);
    expect((setupErr as Error).message).toMatch(/setup\(\) failed: the connection to PostgreSQL was lost or refused/);
    await expect(s.getTuple(config(threadId()))).rejects.toBeInstanceOf(BackendError);
    await s.close();
  });

  it("errors - operations before setup() on an empty schema give NotSetUpError", async () => {
    const empty = uniqueSchema("empty");
    const s = new PostgresSaver(pool, { schema: empty });
    const err = await s.getTuple(config(threadId())).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotSetUpError);
    expect((err as Error).message).toContain("[@langgraph-persist/postgres] setup() has not run: call await saver.setup() first");
    await expect(s.put(config(threadId()), checkpoint({}, {}), meta(0), {})).rejects.toBeInstanceOf(NotSetUpError);
    await expect(collect(s.list(config(threadId())))).rejects.toBeInstanceOf(NotSetUpError);
    await s.close();
  });

  it("errors - ids PostgreSQL text cannot hold (NUL) are InvalidArgumentError", async () => {
    await expect(saver.put(config("bad\u0000thread"), checkpoint({}, {}), meta(0), {})).rejects.toBeInstanceOf(InvalidArgumentError);
    const thread = threadId();
    const [id] = await chain(saver, thread, 1);
    await expect(saver.putWrites(config(thread, "", id), [["ch\u0000", 1]], "task")).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await saver.getTuple(config(thread)))?.pendingWrites).toEqual([]);
  });

  it("errors - bad options are InvalidArgumentError, before any pool is created", () => {
    const bad: Array<[string, () => unknown]> = [
      ["empty schema", () => new PostgresSaver(POSTGRES_URL, { schema: "" })],
      ["schema over 63 bytes", () => new PostgresSaver(POSTGRES_URL, { schema: "x".repeat(64) })],
      ["schema with NUL", () => new PostgresSaver(POSTGRES_URL, { schema: "a\u0000b" })],
      ["schema not a string", () => new PostgresSaver(POSTGRES_URL, { schema: 42 as unknown as string })],
      ["listPageSize 0", () => new PostgresSaver(POSTGRES_URL, { listPageSize: 0 })],
      ["listPageSize 1.5", () => new PostgresSaver(POSTGRES_URL, { listPageSize: 1.5 })],
      ["preparedStatements not a boolean", () => new PostgresSaver(POSTGRES_URL, { preparedStatements: "no" as never })],
      ["linearStorage.snapshotEvery 0", () => new PostgresSaver(POSTGRES_URL, { linearStorage: { snapshotEvery: 0 } })],
      ["ttl without defaultTtl", () => new PostgresSaver(POSTGRES_URL, { ttl: {} as never })],
      ["empty connection string", () => new PostgresSaver("")],
      ["fromConnString without url", () => PostgresSaver.fromConnString(undefined as unknown as string)],
      ["null connection", () => new PostgresSaver(null as never)],
      ["a number", () => new PostgresSaver(5432 as never)],
      ["a pg.Client", () => new PostgresSaver(new pg.Client({ connectionString: POSTGRES_URL }) as never)],
    ];
    for (const [what, make] of bad) {
      let caught: unknown;
      try {
        make();
      } catch (err) {
        caught = err;
      }
      expect(caught, what).toBeInstanceOf(InvalidArgumentError);
      expect((caught as PersistenceError).message, what).toMatch(/^\[@langgraph-persist\/postgres\] /);
    }
  });
});

describePg("PostgresSaver setup() by a role that owns its schema", () => {
  it("needs no CREATE privilege on the database when the schema exists (CREATE SCHEMA IF NOT EXISTS would)", async () => {
    const tag = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    const role = `lgp_test_owner_${tag}`;
    const ownSchema = uniqueSchema("owned");
    const admin = adminPool();
    await admin.query(`CREATE ROLE "${role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    await admin.query(`CREATE SCHEMA "${ownSchema}" AUTHORIZATION "${role}"`);
    const url = new URL(POSTGRES_URL);
    url.username = role;
    url.password = "";
    const asRole = new pg.Pool({ connectionString: url.toString(), max: 1 });
    try {
      const { rows } = await asRole.query<{ may: boolean }>("SELECT has_database_privilege(current_database(), 'CREATE') AS may");
      expect(rows[0].may, "the role may not create schemas in this database").toBe(false);
      const s = new PostgresSaver(asRole, { schema: ownSchema });
      await s.setup();
      const written = await s.put({ configurable: { thread_id: "t" } }, { ...emptyCheckpoint(), id: uuid6(-1) }, { source: "input", step: -1, parents: {} }, {});
      expect((await s.getTuple(written))?.config).toEqual(written);
      await s.close();
    } finally {
      await asRole.end();
      await admin.query(`DROP SCHEMA IF EXISTS "${ownSchema}" CASCADE`);
      await admin.query(`DROP ROLE IF EXISTS "${role}"`);
      await admin.end();
    }
  });
});
