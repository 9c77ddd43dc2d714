import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { emptyCheckpoint, type Checkpoint } from "@langchain/langgraph-checkpoint";
import type { PersistSaver } from "@langgraph-persist/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveBackend } from "../src/backends.js";
import { pruneCommand } from "../src/commands/prune.js";
import type { Io } from "../src/format.js";
import { interruptingGraph } from "./graphs.js";
import { CLI, cli, tempDir, uniqueTag } from "./helpers.js";

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

    const r = await cli(["prune", "--url", file, "--keep-latest", "--threads", "a", "--yes"]);
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
    const r = await cli(["prune", "--url", file, "--older-than", "30d", "--json", "--yes"]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ strategy: "delete", threads: 1, checkpointsRemoved: 3, threadIds: ["stale"], olderThan: "30d" });
    expect(await countCheckpoints(file, "stale")).toBe(0);
    expect(await countCheckpoints(file, "fresh")).toBe(3);

    const again = await cli(["prune", "--url", file, "--older-than", "30d", "-y"]);
    expect(again.stdout).toMatch(/^No thread has its latest checkpoint before .*: nothing to remove$/m);
  });

  it("--older-than with --threads only looks at those threads", async () => {
    const file = join(tmp.dir, `prune-some-${uniqueTag()}.db`);
    await withBackend(file, async (saver) => {
      await writeThread(saver, "old1", old);
      await writeThread(saver, "old2", old);
    });
    const r = await cli(["prune", "--url", file, "--older-than", "1w", "--threads", "old2,missing", "--yes"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Removed 1 thread (3 checkpoints) whose latest checkpoint is older than 1w");
    expect(await countCheckpoints(file, "old1")).toBe(3);
    expect(await countCheckpoints(file, "old2")).toBe(0);
  });

  it("without a terminal, prune deletes nothing unless --yes is given, and says so", async () => {
    const file = join(tmp.dir, `prune-yes-${uniqueTag()}.db`);
    await withBackend(file, async (saver) => {
      await writeThread(saver, "stale", old);
    });
    for (const args of [["--older-than", "30d"], ["--keep-latest"]]) {
      const r = await cli(["prune", "--url", file, ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim()).toBe("langgraph-persist: prune: deletes checkpoints and stdin is not a terminal to confirm on: add --yes to prune without asking, or --dry-run to list what would be removed");
      expect(r.stdout).toBe("");
    }
    expect(await countCheckpoints(file, "stale")).toBe(3);
  });

  it("--older-than: a bare m is refused as ambiguous (minutes or months); min, mo and the other units are accepted", async () => {
    const file = join(tmp.dir, `prune-units-${uniqueTag()}.db`);
    const hourAgo = new Date(Date.now() - 3_600_000);
    await withBackend(file, async (saver) => {
      await writeThread(saver, "last-hour", hourAgo);
      await writeThread(saver, "ancient", old);
    });
    // Meant as one month: read as one minute, it would delete the thread of the last hour.
    const ambiguous = await cli(["prune", "--url", file, "--older-than", "1m", "--yes"]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr.trim()).toBe('langgraph-persist: invalid duration "1m": "m" is ambiguous: write 1min for minutes or 1mo for months');
    expect(await countCheckpoints(file, "last-hour")).toBe(3);
    expect(await countCheckpoints(file, "ancient")).toBe(3);

    const minutes = await cli(["prune", "--url", file, "--older-than", "15min", "--dry-run"]);
    expect(minutes.code).toBe(0);
    expect(minutes.stdout).toMatch(/^last-hour\s+3\s/m);
    expect(minutes.stdout).toContain("Would remove 2 threads (6 checkpoints) whose latest checkpoint is older than 15min");
    expect(await countCheckpoints(file, "last-hour")).toBe(3);

    const months = await cli(["prune", "--url", file, "--older-than", "3mo", "--yes"]);
    expect(months.code).toBe(0);
    expect(months.stdout).toContain("Removed 1 thread (3 checkpoints) whose latest checkpoint is older than 3mo");
    expect(await countCheckpoints(file, "ancient")).toBe(0);
    expect(await countCheckpoints(file, "last-hour")).toBe(3);
  });

  it("--dry-run lists the threads it would delete and deletes nothing", async () => {
    const file = join(tmp.dir, `prune-dry-${uniqueTag()}.db`);
    await withBackend(file, async (saver) => {
      await writeThread(saver, "stale-1", old);
      await writeThread(saver, "stale-2", old);
      await writeThread(saver, "fresh", new Date());
    });
    const r = await cli(["prune", "--url", file, "--older-than", "1y", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^thread\s+checkpoints\s+latest$/m);
    expect(r.stdout).toMatch(/^stale-1\s+3\s+2020-01-01T00:00:00\.000Z$/m);
    expect(r.stdout).toMatch(/^stale-2\s+3\s+2020-01-01T00:00:00\.000Z$/m);
    expect(r.stdout).not.toMatch(/^fresh\s/m);
    expect(r.stdout).toContain("Would remove 2 threads (6 checkpoints)");
    for (const t of ["stale-1", "stale-2", "fresh"]) expect(await countCheckpoints(file, t)).toBe(3);
  });

  describe("on a terminal, prune shows what it would delete and asks first", () => {
    /** An Io whose stdin is a terminal, answering `answer` to the question. */
    function terminal(answer: boolean): Io & { stdout: () => string; stderr: () => string; questions: string[] } {
      let out = "";
      let err = "";
      const questions: string[] = [];
      return {
        out: (t) => void (out += t),
        err: (t) => void (err += t),
        errIsTty: false,
        inIsTty: true,
        confirm: async (q) => {
          questions.push(q);
          return answer;
        },
        stdout: () => out,
        stderr: () => err,
        questions,
      };
    }

    it("declined: nothing is deleted and the command fails", async () => {
      const file = join(tmp.dir, `prune-no-${uniqueTag()}.db`);
      await withBackend(file, async (saver) => writeThread(saver, "stale", old));
      const io = terminal(false);
      await expect(pruneCommand(["--url", file, "--older-than", "30d"], io)).rejects.toThrow("prune: not confirmed; nothing was changed");
      expect(io.stderr()).toMatch(/^stale\s+3\s+2020-01-01/m);
      expect(io.stderr()).toContain("Would remove 1 thread (3 checkpoints) whose latest checkpoint is older than 30d");
      expect(io.questions).toEqual([`Delete 1 thread (3 checkpoints) at ${file}?`]);
      expect(await countCheckpoints(file, "stale")).toBe(3);
    });

    it("confirmed: the threads are deleted; --yes does not ask", async () => {
      const file = join(tmp.dir, `prune-ok-${uniqueTag()}.db`);
      await withBackend(file, async (saver) => {
        await writeThread(saver, "stale", old);
        await writeThread(saver, "stale-too", old);
      });
      const io = terminal(true);
      expect(await pruneCommand(["--url", file, "--older-than", "30d", "--threads", "stale"], io)).toBe(0);
      expect(io.questions).toHaveLength(1);
      expect(io.stdout()).toContain("Removed 1 thread (3 checkpoints)");
      expect(await countCheckpoints(file, "stale")).toBe(0);
      const yes = terminal(false);
      expect(await pruneCommand(["--url", file, "--older-than", "30d", "--yes"], yes)).toBe(0);
      expect(yes.questions).toEqual([]);
      expect(await countCheckpoints(file, "stale-too")).toBe(0);
    });

    // A real pseudo-terminal through util-linux script(1): the answer is typed on the terminal.
    const hasScript = process.platform === "linux" && (() => {
      try {
        return /util-linux/.test(execFileSync("script", ["--version"], { encoding: "utf8" }));
      } catch {
        return false;
      }
    })();
    it.skipIf(!hasScript)(`the built CLI asks on a real terminal: "n" keeps the threads, "y" deletes them${hasScript ? "" : " [skipped: needs util-linux script(1)]"}`, async () => {
      const file = join(tmp.dir, `prune-pty-${uniqueTag()}.db`);
      await withBackend(file, async (saver) => writeThread(saver, "stale", old));
      const command = [process.execPath, CLI, "prune", "--url", file, "--older-than", "30d"].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
      const onTerminal = (answer: string) => {
        try {
          return { code: 0, output: execFileSync("script", ["-qec", command, "/dev/null"], { input: answer, encoding: "utf8", env: { ...process.env, LANGGRAPH_PERSIST_URL: "" } }) };
        } catch (err) {
          const e = err as { status?: number; stdout?: string };
          return { code: e.status ?? 1, output: String(e.stdout ?? "") };
        }
      };
      const no = onTerminal("n\n");
      expect(no.output).toContain(`Delete 1 thread (3 checkpoints) at ${file}? [y/N]`);
      expect(no.output).toContain("prune: not confirmed; nothing was changed");
      expect(no.code).toBe(1);
      expect(await countCheckpoints(file, "stale")).toBe(3);
      const yes = onTerminal("y\n");
      expect(yes.output).toContain("Removed 1 thread (3 checkpoints)");
      expect(yes.code).toBe(0);
      expect(await countCheckpoints(file, "stale")).toBe(0);
    });
  });
});
