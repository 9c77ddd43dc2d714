import { existsSync } from "node:fs";
import { join } from "node:path";
import { HumanMessage } from "@langchain/core/messages";
import { Command } from "@langchain/langgraph";
import { INTERRUPT, emptyCheckpoint, uuid6, type CheckpointMetadata, type CheckpointTuple } from "@langchain/langgraph-checkpoint";
import type { PersistSaver } from "@langgraph-persist/core";
import { afterAll, describe, expect, it } from "vitest";
import { resolveBackend } from "../src/backends.js";
import { copyCommand } from "../src/commands/copy.js";
import { HashEmbeddings } from "../src/embeddings.js";
import { buildAgent } from "../src/demo/agent.js";
import { DemoChatModel } from "../src/demo/model.js";
import { interruptingGraph } from "./graphs.js";
import { cli, errorLines, tempDir, testBackends, uniqueTag } from "./helpers.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const { available, skipped } = testBackends(tmp.dir);

/** Every checkpoint of a thread (all namespaces), oldest first, as the public API returns it. */
async function history(saver: PersistSaver, threadId: string): Promise<CheckpointTuple[]> {
  const out: CheckpointTuple[] = [];
  for await (const t of saver.list({ configurable: { thread_id: threadId } })) out.push(t);
  return out.reverse();
}

async function withSaver<T>(url: string, fn: (saver: PersistSaver) => Promise<T>): Promise<T> {
  const backend = await resolveBackend(url);
  try {
    const saver = await backend.openSaver();
    await saver.setup();
    return await fn(saver);
  } finally {
    await backend.close();
  }
}

const unavailable = skipped.length ? ` — not available here: ${skipped.join("; ")}` : "";

describe(`copy round-trips a thread with interrupts and pending writes between every pair of available backends (${available.map((b) => b.name).join(", ")})${unavailable}`, () => {
  for (const from of available) {
    for (const to of available) {
      it(`${from.name} → ${to.name}: same history, same pending interrupt, resumes on the target without re-running finished tasks; store items too`, async () => {
        const srcTag = uniqueTag();
        const dstTag = uniqueTag();
        const src = from.url(srcTag);
        const dst = to.url(dstTag);
        const threadId = `thread-${srcTag}`;
        const config = { configurable: { thread_id: threadId } };
        try {
          const before = await withSaver(src, async (saver) => {
            const { graph } = interruptingGraph(saver);
            const interrupts = (r: unknown) => (r as { __interrupt__?: Array<{ value: unknown }> }).__interrupt__ ?? [];
            const first = await graph.invoke({ log: [] }, config);
            expect(interrupts(first)).toHaveLength(1);
            await graph.invoke(new Command({ resume: "first" }), config);
            const second = await graph.invoke({ log: ["again"] }, config);
            expect(interrupts(second).map((i) => i.value)).toEqual([{ question: "approve?" }]);
            // A second thread that --threads leaves behind.
            await graph.invoke({ log: [] }, { configurable: { thread_id: `${threadId}-other` } });
            const state = await graph.getState(config, { subgraphs: true });
            return { state, history: await history(saver, threadId) };
          });
          // The fan-out checkpoint holds a's finished writes and b's interrupt; the subgraph has its own namespace.
          const root = before.history.filter((t) => t.config.configurable?.checkpoint_ns === "");
          const pending = root[root.length - 1].pendingWrites ?? [];
          expect(pending.some(([, channel]) => channel === "__interrupt__")).toBe(true);
          expect(pending.some(([, channel]) => channel === "log")).toBe(true);
          expect(new Set(before.history.map((t) => t.config.configurable?.checkpoint_ns)).size).toBeGreaterThan(1);

          const r = await cli(["copy", "--from", src, "--to", dst, "--threads", threadId]);
          expect(errorLines(r.stderr)).toEqual([]);
          expect(r.code).toBe(0);
          expect(r.stdout).toContain(`Copied 1 thread: ${before.history.length} checkpoints`);
          expect(r.stdout).toContain("Verified");

          await withSaver(dst, async (saver) => {
            const after = await history(saver, threadId);
            expect(after).toEqual(before.history);
            expect(await history(saver, `${threadId}-other`)).toEqual([]);
            const { graph, calls } = interruptingGraph(saver);
            const state = await graph.getState(config, { subgraphs: true });
            expect(state.values).toEqual(before.state.values);
            expect(state.next).toEqual(before.state.next);
            expect(state.tasks.map((t) => [t.name, t.interrupts.map((i) => i.value)])).toEqual(before.state.tasks.map((t) => [t.name, t.interrupts.map((i) => i.value)]));
            const done = await graph.invoke(new Command({ resume: "second" }), config);
            expect(calls.a).toBe(0); // its pending write was copied, so the resume did not run it again
            expect(calls.ask).toBe(1);
            expect(done.log.slice(-2)).toEqual(["ask:second", "c"]);
            // The same resume on the source gives the same state.
            const onSource = await withSaver(src, async (sourceSaver) => {
              const source = interruptingGraph(sourceSaver);
              const result = await source.graph.invoke(new Command({ resume: "second" }), config);
              expect(source.calls).toEqual({ a: 0, ask: 1 });
              return result;
            });
            expect(done).toEqual(onSource);
          });

          // Store items too, in pages of 2 so paging is exercised on every source backend.
          const items = [
            { namespace: ["users", "ada"], key: "profile", value: { name: "Ada", langs: ["en", "fr"], n: 1.5 } },
            { namespace: ["users", "ada", "notes"], key: "n1", value: { text: "likes tea" } },
            { namespace: ["users", "bob"], key: "profile", value: { name: "Bob", nested: { deep: { ok: true } } } },
            { namespace: ["other"], key: "x", value: { text: "not copied" } },
          ];
          const srcBackend = await resolveBackend(src);
          try {
            const store = await srcBackend.openStore();
            await store.setup();
            await store.batch(items);
          } finally {
            await srcBackend.close();
          }
          const storeCopy = await cli(["copy", "--from", src, "--to", dst, "--namespace", "users", "--page-size", "2"]);
          expect(errorLines(storeCopy.stderr)).toEqual([]);
          expect(storeCopy.stdout).toContain("Copied 3 store items in 3 namespaces");
          const dstBackend = await resolveBackend(dst);
          try {
            const store = await dstBackend.openStore();
            await store.setup();
            const copied = await store.search([], { limit: 10 });
            const byKey = (a: { namespace: string[]; key: string }, b: { namespace: string[]; key: string }) => (`${a.namespace.join("/")}/${a.key}` < `${b.namespace.join("/")}/${b.key}` ? -1 : 1);
            expect(copied.map(({ namespace, key, value }) => ({ namespace, key, value })).sort(byKey)).toEqual(items.slice(0, 3).sort(byKey));
          } finally {
            await dstBackend.close();
          }
        } finally {
          await Promise.all([from.cleanup(srcTag), to.cleanup(dstTag)]);
        }
      });
    }
  }
  for (const reason of skipped) it.skip(`pairs with another backend [skipped: ${reason}]`, () => {});
});

describe(`copy keeps what put and putWrites received: values without a version, pending_sends, task paths (sqlite → ${available.map((b) => b.name).join(", ")})`, () => {
  const from = available[0];
  for (const to of available) {
    it(`sqlite → ${to.name}: every checkpoint and its pending writes, in (task_path, task_id, idx) order, read back the same`, async () => {
      const srcTag = uniqueTag();
      const dstTag = uniqueTag();
      const src = from.url(srcTag);
      const dst = to.url(dstTag);
      const threadId = `paths-${srcTag}`;
      try {
        const before = await withSaver(src, async (saver) => {
          const meta = (step: number) => ({ source: "loop", step, parents: {} }) as CheckpointMetadata;
          const va = saver.getNextVersion(undefined);
          const root = {
            ...emptyCheckpoint(),
            v: 1,
            id: uuid6(-1),
            channel_values: { a: "A", __pregel_tasks: [], loose: { when: new Date(Date.UTC(2025, 0, 2)) } },
            channel_versions: { a: va },
            pending_sends: [{ node: "n", args: { x: 1 } }],
          };
          const c0 = await saver.put({ configurable: { thread_id: threadId, checkpoint_ns: "" } }, root, meta(0), { a: va });
          const child = { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { a: "A", only: "child" }, channel_versions: { a: va } };
          const c1 = await saver.put(c0, child, meta(1), {});
          // Task ids sort the other way round from their task paths.
          await saver.putWrites(c1, [["ch", "second"], ["other", "second-b"]], "a-task", "~__pregel_push, 0000000002");
          await saver.putWrites(c1, [["ch", "first"], [INTERRUPT, "stop"]], "b-task", "~__pregel_push, 0000000001");
          await saver.putWrites(c1, [["ch", "input"]], "z-input");
          const tuples = await history(saver, threadId);
          expect(tuples.map((t) => t.checkpoint)).toEqual([root, child]);
          expect(tuples[1].pendingWrites).toEqual([
            ["z-input", "ch", "input"],
            ["b-task", INTERRUPT, "stop"],
            ["b-task", "ch", "first"],
            ["a-task", "ch", "second"],
            ["a-task", "other", "second-b"],
          ]);
          return tuples;
        });
        for (let run = 0; run < 2; run++) {
          const r = await cli(["copy", "--from", src, "--to", dst, "--threads", threadId]);
          expect(errorLines(r.stderr)).toEqual([]);
          expect(r.code).toBe(0);
          // A re-run adds nothing: the writes come back at the same task, path and index.
          const after = await withSaver(dst, (saver) => history(saver, threadId));
          expect(after, `run ${run}`).toEqual(before);
        }
      } finally {
        await Promise.all([from.cleanup(srcTag), to.cleanup(dstTag)]);
      }
    });
  }
});

describe("copy (SQLite files)", () => {
  async function seed(file: string, turns = 6): Promise<void> {
    const backend = await resolveBackend(`sqlite:${file}`);
    try {
      const saver = await backend.openSaver();
      const store = await backend.openStore({ index: { dims: 64, embeddings: new HashEmbeddings(64), fields: ["data"] } });
      await Promise.all([saver.setup(), store.setup()]);
      const agent = buildAgent({ model: new DemoChatModel(), checkpointer: saver, store });
      for (let i = 0; i < turns; i++) {
        await agent.invoke({ messages: [new HumanMessage(i === 0 ? "Remember: my name is Ada" : `message ${i}, what is my name?`)] }, { configurable: { thread_id: "long", user_id: "u1" } });
      }
      await agent.invoke({ messages: [new HumanMessage("hello")] }, { configurable: { thread_id: "short", user_id: "u2" } });
      await store.batch([
        { namespace: ["docs", "a"], key: "1", value: { data: "the cat sat on the mat", n: 1, nested: { list: [1, "two", null] } } },
        { namespace: ["docs", "a"], key: "2", value: { data: "dogs bark at night" } },
        { namespace: ["docs", "b", "deep"], key: "3", value: { data: "a fish swims" } },
        { namespace: ["other"], key: "x", value: { data: "unrelated" } },
      ]);
    } finally {
      await backend.close();
    }
  }

  it("copies every thread and store item; a re-run adds nothing; every checkpoint reads back the same", async () => {
    const src = join(tmp.dir, `all-src-${uniqueTag()}.db`);
    const dst = join(tmp.dir, `all-dst-${uniqueTag()}.db`);
    await seed(src);
    const first = await cli(["copy", "--from", src, "--to", dst, "--json"]);
    expect(errorLines(first.stderr)).toEqual([]);
    expect(first.code).toBe(0);
    const s1 = JSON.parse(first.stdout);
    expect(s1.threads).toMatchObject({ threads: 2, alreadyPresent: 0, verified: true, problems: [] });
    expect(s1.store).toEqual({ items: 5, namespaces: 4, overwrites: [], verified: true, problems: [] });

    const second = await cli(["copy", "--from", src, "--to", dst, "--json"]);
    expect(second.code).toBe(0);
    const s2 = JSON.parse(second.stdout);
    expect(s2.threads.alreadyPresent).toBe(s1.threads.checkpoints);

    const [a, b] = await Promise.all(
      [src, dst].map((f) =>
        withSaver(f, async (saver) => ({ long: await history(saver, "long"), short: await history(saver, "short"), threads: (await saver.listThreads()).map((t) => t.threadId) })),
      ),
    );
    expect(b.long).toHaveLength(a.long.length);
    expect(b.long).toEqual(a.long);
    expect(b.short).toEqual(a.short);
    expect(b.threads).toEqual(a.threads);

    const target = await resolveBackend(dst);
    try {
      const store = await target.openStore();
      const items = await store.search([], { limit: 100 });
      expect(items.map((i) => `${i.namespace.join("/")}:${i.key}`).sort()).toEqual(["docs/a:1", "docs/a:2", "docs/b/deep:3", "memories/u1:name", "other:x"]);
      expect(items.find((i) => i.key === "1")?.value).toEqual({ data: "the cat sat on the mat", n: 1, nested: { list: [1, "two", null] } });
    } finally {
      await target.close();
    }
  });

  it("--dry-run counts and writes nothing (the target is not even opened)", async () => {
    const src = join(tmp.dir, `dry-src-${uniqueTag()}.db`);
    const dst = join(tmp.dir, `dry-dst-${uniqueTag()}.db`);
    await seed(src, 2);
    const r = await cli(["copy", "--from", src, "--to", dst, "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Would copy 2 threads: \d+ checkpoints/);
    expect(r.stdout).toContain("Would copy 5 store items in 4 namespaces");
    expect(existsSync(dst)).toBe(false);
  });

  it("--namespace copies only the items under that prefix (segment-wise), and no threads", async () => {
    const src = join(tmp.dir, `ns-src-${uniqueTag()}.db`);
    const dst = join(tmp.dir, `ns-dst-${uniqueTag()}.db`);
    await seed(src, 1);
    const r = await cli(["copy", "--from", src, "--to", dst, "--namespace", "docs"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Copied 3 store items in 2 namespaces");
    const target = await resolveBackend(dst);
    try {
      const store = await target.openStore();
      expect((await store.search([], { limit: 100 })).map((i) => i.key).sort()).toEqual(["1", "2", "3"]);
      const saver = await target.openSaver();
      await saver.setup();
      expect(await saver.listThreads()).toEqual([]);
    } finally {
      await target.close();
    }
  });

  it("--embeddings indexes the copied items on the target for semantic search", async () => {
    const src = join(tmp.dir, `emb-src-${uniqueTag()}.db`);
    const dst = join(tmp.dir, `emb-dst-${uniqueTag()}.db`);
    await seed(src, 1);
    const r = await cli(["copy", "--from", src, "--to", dst, "--store", "--embeddings", "hash:64", "--index-fields", "data"]);
    expect(r.code).toBe(0);
    const target = await resolveBackend(dst);
    try {
      const store = await target.openStore({ index: { dims: 64, embeddings: new HashEmbeddings(64), fields: ["data"] } });
      const hits = await store.search(["docs"], { query: "a cat on a mat", limit: 3 });
      expect(hits[0].key).toBe("1");
      expect(hits[0].score).toBeGreaterThan(0.3);
    } finally {
      await target.close();
    }
  });

  it("a re-run completes a partial copy (target lost its history) and verification passes", async () => {
    const src = join(tmp.dir, `partial-src-${uniqueTag()}.db`);
    const dst = join(tmp.dir, `partial-dst-${uniqueTag()}.db`);
    await seed(src, 4);
    expect((await cli(["copy", "--from", src, "--to", dst, "--threads", "long"])).code).toBe(0);
    const pruned = await cli(["prune", "--url", dst, "--keep-latest", "--yes"]);
    expect(pruned.code).toBe(0);
    expect(await withSaver(dst, async (s) => (await history(s, "long")).length)).toBe(1);
    const again = await cli(["copy", "--from", src, "--to", dst, "--threads", "long", "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).threads).toMatchObject({ alreadyPresent: 1, verified: true });
    const [a, b] = await Promise.all([src, dst].map((f) => withSaver(f, (s) => history(s, "long"))));
    expect(b).toEqual(a);
  });

  it("copying a backend onto itself is refused, whatever the spelling", async () => {
    const file = join(tmp.dir, `self-${uniqueTag()}.db`);
    await seed(file, 1);
    const r = await cli(["copy", "--from", file, "--to", `sqlite://${file}`]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual(["langgraph-persist: copy: --from and --to are the same backend"]);
  });

  it("a thread id the source does not have fails the copy with a non-zero exit", async () => {
    const src = join(tmp.dir, `missing-src-${uniqueTag()}.db`);
    const dst = join(tmp.dir, `missing-dst-${uniqueTag()}.db`);
    await seed(src, 1);
    const r = await cli(["copy", "--from", src, "--to", dst, "--threads", "short,nope"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("thread nope not found in the source");
    expect(errorLines(r.stderr)).toEqual(["langgraph-persist: copy: 1 problem found while verifying the target (listed above)"]);
  });

  describe("a target that holds store items with other values under the same keys", () => {
    /** A target with a thread-less store: docs/a:1 differs from the source's, docs/a:2 is the same, mine:k is only there. */
    async function targetWithItems(file: string): Promise<void> {
      const backend = await resolveBackend(`sqlite:${file}`);
      try {
        const store = await backend.openStore();
        await store.setup();
        await store.batch([
          { namespace: ["docs", "a"], key: "1", value: { data: "edited on the target" } },
          { namespace: ["docs", "a"], key: "2", value: { data: "dogs bark at night" } },
          { namespace: ["mine"], key: "k", value: { data: "only on the target" } },
        ]);
      } finally {
        await backend.close();
      }
    }

    async function targetState(file: string): Promise<{ doc1: unknown; threads: string[] }> {
      const backend = await resolveBackend(`sqlite:${file}`);
      try {
        const store = await backend.openStore();
        const saver = await backend.openSaver();
        await Promise.all([store.setup(), saver.setup()]);
        return { doc1: (await store.get(["docs", "a"], "1"))?.value, threads: (await saver.listThreads()).map((t) => t.threadId).sort() };
      } finally {
        await backend.close();
      }
    }

    it("without a terminal the copy writes nothing unless --yes is given; --dry-run lists what would be overwritten", async () => {
      const src = join(tmp.dir, `over-src-${uniqueTag()}.db`);
      const dst = join(tmp.dir, `over-dst-${uniqueTag()}.db`);
      await seed(src, 1);
      await targetWithItems(dst);

      const refused = await cli(["copy", "--from", src, "--to", dst]);
      expect(refused.code).toBe(2);
      expect(errorLines(refused.stderr)).toEqual([
        "langgraph-persist: copy: the target already holds 1 store item with another value under the same namespace and key (docs/a/1), which the copy would overwrite, and stdin is not a terminal to confirm on: add --yes to overwrite them, or --dry-run to list them",
      ]);
      expect(await targetState(dst)).toEqual({ doc1: { data: "edited on the target" }, threads: [] });

      const dry = await cli(["copy", "--from", src, "--to", dst, "--dry-run"]);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain("Would copy 5 store items in 4 namespaces, overwriting 1 item the target held with another value\n  overwrites docs/a/1\n");
      expect(await targetState(dst)).toEqual({ doc1: { data: "edited on the target" }, threads: [] });

      const yes = await cli(["copy", "--from", src, "--to", dst, "--yes", "--json"]);
      expect(yes.code).toBe(0);
      expect(JSON.parse(yes.stdout).store).toMatchObject({ items: 5, overwrites: ["docs/a/1"], verified: true });
      expect(await targetState(dst)).toEqual({ doc1: { data: "the cat sat on the mat", n: 1, nested: { list: [1, "two", null] } }, threads: ["long", "short"] });

      // Now the same values: nothing to overwrite, nothing to confirm.
      const again = await cli(["copy", "--from", src, "--to", dst]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain("Copied 5 store items in 4 namespaces\n");
    });

    it("on a terminal the copy lists the items and asks; declined, nothing is written", async () => {
      const src = join(tmp.dir, `ask-src-${uniqueTag()}.db`);
      const dst = join(tmp.dir, `ask-dst-${uniqueTag()}.db`);
      await seed(src, 1);
      await targetWithItems(dst);
      let err = "";
      const questions: string[] = [];
      const io = {
        out: () => {},
        err: (t: string) => void (err += t),
        errIsTty: false,
        inIsTty: true,
        confirm: async (q: string) => {
          questions.push(q);
          return false;
        },
      };
      await expect(copyCommand(["--from", src, "--to", dst], io)).rejects.toThrow("copy: not confirmed; nothing was changed");
      expect(err).toContain("The target already holds 1 store item with another value under the same namespace and key; the copy replaces it with the source's:\n  docs/a/1\n");
      expect(questions).toEqual([`Overwrite 1 store item at ${dst}?`]);
      expect(await targetState(dst)).toEqual({ doc1: { data: "edited on the target" }, threads: [] });
    });
  });

  it("progress goes to stderr as plain lines when stderr is not a terminal, with counts and rate", async () => {
    const src = join(tmp.dir, `progress-src-${uniqueTag()}.db`);
    const dst = join(tmp.dir, `progress-dst-${uniqueTag()}.db`);
    await seed(src, 2);
    const r = await cli(["copy", "--from", src, "--to", dst]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("\r");
    expect(r.stderr).toMatch(/^copying threads: \d+ checkpoints \([\d.]+\/s\) · thread 2\/2$/m);
    expect(r.stderr).toMatch(/^copying store: 5 items \([\d.]+\/s\)/m);
  });
});
