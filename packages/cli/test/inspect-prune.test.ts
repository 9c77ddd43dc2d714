import { join } from "node:path";
import { emptyCheckpoint, type Checkpoint } from "@langchain/langgraph-checkpoint";
import type { PersistSaver } from "@langgraph-persist/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveBackend } from "../src/backends.js";
import { interruptingGraph } from "./graphs.js";
import { cli, tempDir, uniqueTag } from "./helpers.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

async function withBackend<T>(file: string, fn: (saver: PersistSaver, store: Awaited<ReturnType<Awaited<ReturnType<typeof resolveBackend>>["openStore"]>>) => Promise<T>): Promise<T> {
  const backend = await resolveBackend(`sqlite:${file}`);
  try {
    const saver = await backend.openSaver();
    const store = await backend.openStore();
    await Promise.all([saver.setup(), store.setup()]);
    return await fn(saver, store);
  } finally {
    await backend.close();
  }
}

/** Three root checkpoints written directly with the given `ts`, so ages are known without waiting. */
async function writeThread(saver: PersistSaver, threadId: string, ts: Date): Promise<void> {
  let parent: string | undefined;
  for (let step = 0; step < 3; step++) {
    const base = emptyCheckpoint();
    const id = `${ts.getTime().toString(16).padStart(12, "0")}-${threadId}-${step}`;
    const checkpoint: Checkpoint = { ...base, id, ts: ts.toISOString(), channel_values: { n: step }, channel_versions: { n: `${step + 1}` } };
    await saver.put({ configurable: { thread_id: threadId, checkpoint_ns: "", ...(parent ? { checkpoint_id: parent } : {}) } }, checkpoint, { source: "loop", step, parents: {} }, { n: `${step + 1}` });
    parent = id;
  }
}

async function countCheckpoints(file: string, threadId: string): Promise<number> {
  return withBackend(file, async (saver) => {
    let n = 0;
    for await (const _ of saver.list({ configurable: { thread_id: threadId } })) n++;
    return n;
  });
}

describe("inspect", () => {
  const file = join(tmp.dir, `inspect-${uniqueTag()}.db`);
  let interruptedCheckpoints = 0;

  beforeAll(async () => {
    await withBackend(file, async (saver, store) => {
      const { graph } = interruptingGraph(saver);
      await graph.invoke({ log: [] }, { configurable: { thread_id: "waiting" } });
      await graph.invoke({ log: [] }, { configurable: { thread_id: "second" } });
      for await (const _ of saver.list({ configurable: { thread_id: "waiting" } })) interruptedCheckpoints++;
      await store.batch([
        { namespace: ["notes", "ada"], key: "k1", value: { text: "likes tea", kind: "pref" } },
        { namespace: ["notes", "ada"], key: "k2", value: { text: "works on engines", kind: "fact" } },
        { namespace: ["notes", "bob"], key: "k3", value: { text: "likes coffee", kind: "pref" } },
        { namespace: ["notesx"], key: "k4", value: { text: "not under notes" } },
      ]);
    });
  });

  it("threads: a table for people, --json for scripts", async () => {
    const table = await cli(["inspect", "threads", "--url", file]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^thread\s+latest checkpoint\s+step\s+source\s+updated$/m);
    expect(table.stdout).toMatch(/^waiting\s/m);
    expect(table.stdout).toContain("2 threads");
    const json = await cli(["inspect", "threads", "--url", file, "--json", "--limit", "1"]);
    const rows = JSON.parse(json.stdout) as Array<{ threadId: string; checkpointId: string }>;
    expect(rows.map((r) => r.threadId)).toEqual(["second"]);
  });

  it("thread: checkpoint history with steps, sources, namespaces and the pending interrupt", async () => {
    const r = await cli(["inspect", "thread", "waiting", "--url", file, "--json"]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ checkpointNs: string; step: number; source: string; pendingWrites: Array<{ channel: string; value: unknown }> }>;
    expect(rows).toHaveLength(interruptedCheckpoints);
    expect(rows.some((row) => row.checkpointNs.startsWith("b:"))).toBe(true);
    const root = rows.filter((row) => row.checkpointNs === "");
    expect(root.map((row) => [row.step, row.source])).toEqual([
      [0, "loop"],
      [-1, "input"],
    ]);
    const interrupt = root[0].pendingWrites.find((w) => w.channel === "__interrupt__");
    // LangGraph 1.7 stores a task's interrupts as one write holding the list; 1.4 stored one write per interrupt.
    const first = Array.isArray(interrupt?.value) ? (interrupt.value as unknown[])[0] : interrupt?.value;
    expect(first).toEqual(expect.objectContaining({ value: { question: "approve?" } }));
    expect(root[0].pendingWrites.some((w) => w.channel === "log")).toBe(true);

    const table = await cli(["inspect", "thread", "waiting", "--url", file]);
    expect(table.stdout).toMatch(/\(root\)\s+0\s+loop\s+\S+\s+.*interrupt \{"question":"approve\?"\}/);
  });

  it("thread: an unknown id is an error", async () => {
    const r = await cli(["inspect", "thread", "nope", "--url", file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`langgraph-persist: inspect thread: no thread "nope" at ${file}`);
  });

  it("store: items under a namespace prefix (whole labels only), with --filter and a text --query", async () => {
    const all = await cli(["inspect", "store", "notes", "--url", file, "--json"]);
    expect((JSON.parse(all.stdout) as Array<{ key: string }>).map((i) => i.key).sort()).toEqual(["k1", "k2", "k3"]);
    const filtered = await cli(["inspect", "store", "notes", "--url", file, "--json", "--filter", '{"kind":"pref"}']);
    expect((JSON.parse(filtered.stdout) as Array<{ key: string }>).map((i) => i.key).sort()).toEqual(["k1", "k3"]);
    const text = await cli(["inspect", "store", "notes/ada", "--url", file, "--query", "TEA"]);
    expect(text.stdout).toMatch(/^notes\/ada\s+k1\s+\{"text":"likes tea","kind":"pref"\}/m);
    expect(text.stdout).toContain('1 item whose value contains "TEA" (text match; --embeddings for semantic search) under notes/ada');
    const namespaces = await cli(["inspect", "namespaces", "--url", file, "--json"]);
    expect(JSON.parse(namespaces.stdout)).toEqual([["notes", "ada"], ["notes", "bob"], ["notesx"]]);
  });
});

describe("prune", () => {
  const old = new Date("2020-01-01T00:00:00Z");

  it("--keep-latest keeps the newest checkpoint of every namespace; --dry-run changes nothing", async () => {
    const file = join(tmp.dir, `prune-keep-${uniqueTag()}.db`);
    await withBackend(file, async (saver) => {
      const { graph } = interruptingGraph(saver);
      await graph.invoke({ log: [] }, { configurable: { thread_id: "a" } });
      await writeThread(saver, "b", new Date());
    });
    const total = await countCheckpoints(file, "a");
    const dry = await cli(["prune", "--url", file, "--keep-latest", "--threads", "a", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`Would remove ${total - 2} checkpoints (with their pending writes) from 1 thread; kept 2 checkpoints`);
    expect(await countCheckpoints(file, "a")).toBe(total);

    const r = await cli(["prune", "--url", file, "--keep-latest", "--threads", "a"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Removed ${total - 2} checkpoints (with their pending writes) from 1 thread; kept 2 checkpoints, the latest of each namespace`);
    expect(await countCheckpoints(file, "a")).toBe(2); // root + the interrupted subgraph's namespace
    expect(await countCheckpoints(file, "b")).toBe(3); // not listed
    // The interrupted thread still resumes after pruning.
    await withBackend(file, async (saver) => {
      const { graph } = interruptingGraph(saver);
      const state = await graph.getState({ configurable: { thread_id: "a" } });
      expect(state.tasks.flatMap((t) => t.interrupts.map((i) => i.value))).toEqual([{ question: "approve?" }]);
    });
  });

  it("--older-than deletes whole threads whose latest checkpoint is older, and reports them", async () => {
    const file = join(tmp.dir, `prune-age-${uniqueTag()}.db`);
    await withBackend(file, async (saver) => {
      await writeThread(saver, "stale", old);
      await writeThread(saver, "fresh", new Date());
    });
    const r = await cli(["prune", "--url", file, "--older-than", "30d", "--json"]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ strategy: "delete", threads: 1, checkpointsRemoved: 3, threadIds: ["stale"], olderThan: "30d" });
    expect(await countCheckpoints(file, "stale")).toBe(0);
    expect(await countCheckpoints(file, "fresh")).toBe(3);

    const again = await cli(["prune", "--url", file, "--older-than", "30d"]);
    expect(again.stdout).toMatch(/^No thread has its latest checkpoint before .*: nothing to remove$/m);
  });

  it("--older-than with --threads only looks at those threads", async () => {
    const file = join(tmp.dir, `prune-some-${uniqueTag()}.db`);
    await withBackend(file, async (saver) => {
      await writeThread(saver, "old1", old);
      await writeThread(saver, "old2", old);
    });
    const r = await cli(["prune", "--url", file, "--older-than", "1w", "--threads", "old2,missing"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Removed 1 thread (3 checkpoints) whose latest checkpoint is older than 1w");
    expect(await countCheckpoints(file, "old1")).toBe(3);
    expect(await countCheckpoints(file, "old2")).toBe(0);
  });
});
