import { join } from "node:path";
import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import { Annotation, Command, END, START, Send, StateGraph, interrupt, messagesStateReducer } from "@langchain/langgraph";
import { InMemoryStore as UpstreamStore, MemorySaver as UpstreamSaver, type BaseCheckpointSaver, type CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { PostgresSaver as OfficialPostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { PostgresStore as OfficialPostgresStore } from "@langchain/langgraph-checkpoint-postgres/store";
import { SqliteSaver as OfficialSqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { compareTuples, importCheckpoints, importStore, type PersistSaver } from "@langgraph-persist/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveBackend, type Backend } from "../src/backends.js";
import { parseOfficialUrl } from "../src/commands/import.js";
import { OfficialPostgresSource } from "../src/official/postgres.js";
import { OfficialSqliteSource } from "../src/official/sqlite.js";
import { cli, tempDir, testBackends, uniqueTag } from "./helpers.js";

const PG = process.env.TEST_POSTGRES_URL;

const State = Annotation.Root({
  messages: Annotation<BaseMessage[]>({ reducer: messagesStateReducer, default: () => [] }),
  results: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/**
 * A chat turn, then a Send fan-out to `work` (one task per word of the message), then `review`: a
 * subgraph whose node interrupts and waits for a resume.
 */
function buildGraph(checkpointer: BaseCheckpointSaver) {
  const review = new StateGraph(State)
    .addNode("approve", () => {
      const answer = interrupt({ question: "approve the results?" }) as string;
      return { messages: [new AIMessage(`review: ${answer}`)] };
    })
    .addEdge(START, "approve")
    .addEdge("approve", END)
    .compile();
  return new StateGraph(State)
    .addNode("chat", (s: typeof State.State) => ({ messages: [new AIMessage(`echo: ${String(s.messages.at(-1)?.content)}`)] }))
    .addNode("work", (s: { item: string }) => ({ results: [s.item.toUpperCase()] }))
    .addNode("review", review)
    .addEdge(START, "chat")
    .addConditionalEdges("chat", (s: typeof State.State) => String(s.messages.at(-2)?.content ?? "").split(" ").map((item) => new Send("work", { item })), ["work"])
    .addEdge("work", "review")
    .addEdge("review", END)
    .compile({ checkpointer });
}

/** Two threads: t-done ran to the end (interrupt resumed) and took a second turn; t-wait is left waiting on its interrupt. */
async function runThreads(checkpointer: BaseCheckpointSaver, prefix: string): Promise<string[]> {
  const graph = buildGraph(checkpointer);
  const done = { configurable: { thread_id: `${prefix}-done` } };
  await graph.invoke({ messages: [new HumanMessage("alpha beta")] }, done);
  await graph.invoke(new Command({ resume: "yes" }), done);
  await graph.invoke({ messages: [new HumanMessage("gamma")] }, done);
  const wait = { configurable: { thread_id: `${prefix}-wait` } };
  await graph.invoke({ messages: [new HumanMessage("one two three")] }, wait);
  return [done.configurable.thread_id, wait.configurable.thread_id];
}

async function allTuples(saver: BaseCheckpointSaver, threadId: string): Promise<CheckpointTuple[]> {
  const out: CheckpointTuple[] = [];
  // list() without a namespace covers every namespace on our savers and on the official ones.
  for await (const t of saver.list({ configurable: { thread_id: threadId } })) out.push(t);
  return out;
}

const contents = (messages: BaseMessage[]) => messages.map((m) => [m.getType(), m.content]);

/** Every checkpoint of the official saver equals ours; getState equals; resuming the waiting thread works on ours. */
async function expectSameThreads(official: BaseCheckpointSaver, ours: PersistSaver, threads: string[], ordered = true): Promise<void> {
  for (const threadId of threads) {
    const tuples = await allTuples(official, threadId);
    expect(tuples.length).toBeGreaterThan(3);
    expect(new Set(tuples.map((t) => t.config.configurable?.checkpoint_ns)).size).toBeGreaterThan(1); // the subgraph's namespace
    for (const t of tuples) {
      const config = { configurable: { thread_id: threadId, checkpoint_ns: t.config.configurable?.checkpoint_ns ?? "", checkpoint_id: t.config.configurable?.checkpoint_id } };
      const expected = await official.getTuple(config);
      const actual = await ours.getTuple(config);
      expect(actual, `checkpoint ${config.configurable.checkpoint_id}`).toBeDefined();
      expect(compareTuples(expected!, actual!)).toEqual([]);
      // The official savers return writes by (task id, index), as ours do without task paths; upstream
      // MemorySaver keeps them in arrival order, which it does not expose.
      if (ordered) expect(actual!.pendingWrites?.map((w) => [w[0], w[1]])).toEqual(expected!.pendingWrites?.map((w) => [w[0], w[1]]));
    }
    const [a, b] = [await buildGraph(official).getState({ configurable: { thread_id: threadId } }), await buildGraph(ours).getState({ configurable: { thread_id: threadId } })];
    expect(contents(b.values.messages)).toEqual(contents(a.values.messages));
    expect(b.values.results).toEqual(a.values.results);
    expect(b.next).toEqual(a.next);
    expect(b.config.configurable?.checkpoint_id).toEqual(a.config.configurable?.checkpoint_id);
    expect(b.tasks.map((t) => t.interrupts.map((i) => i.value))).toEqual(a.tasks.map((t) => t.interrupts.map((i) => i.value)));
  }
}

async function resumeOnOurs(ours: PersistSaver, threadId: string): Promise<void> {
  const graph = buildGraph(ours);
  const before = await graph.getState({ configurable: { thread_id: threadId } });
  expect(before.next).toEqual(["review"]);
  expect(before.tasks.flatMap((t) => t.interrupts.map((i) => i.value))).toEqual([{ question: "approve the results?" }]);
  const out = await graph.invoke(new Command({ resume: "ok" }), { configurable: { thread_id: threadId } });
  expect(contents(out.messages)).toEqual([
    ["human", "one two three"],
    ["ai", "echo: one two three"],
    ["ai", "review: ok"],
  ]);
  // The subgraph returns the whole state, so the parent's reducer appends the results once more (as upstream does).
  expect([...out.results].sort()).toEqual(["ONE", "ONE", "THREE", "THREE", "TWO", "TWO"]);
  expect((await graph.getState({ configurable: { thread_id: threadId } })).next).toEqual([]);
}

interface Target {
  name: string;
  url: string;
}

/** memory, SQLite, and Postgres / Redis when their TEST_*_URL is set; everything they create is removed after the suite. */
function targets(dir: string, tag: string): Target[] {
  const { available } = testBackends(dir);
  const list: Target[] = [{ name: "memory", url: "memory:" }];
  for (const b of available.filter((b) => b.name === "sqlite" || b.name === "postgres" || b.name === "redis")) {
    list.push({ name: b.name, url: b.url(tag) });
    afterAll(() => b.cleanup(tag));
  }
  return list;
}

describe("official source URLs", () => {
  it("parses official-sqlite:, official-postgres:// with a schema, and --from-format official", () => {
    expect(parseOfficialUrl("official-sqlite:./a.db", undefined)).toMatchObject({ kind: "sqlite", target: "./a.db" });
    expect(parseOfficialUrl("official-postgres://u:pw@h:5432/db?schema=app&sslmode=disable", undefined)).toMatchObject({
      kind: "postgres",
      target: "postgresql://u:pw@h:5432/db?sslmode=disable",
      schema: "app",
      display: "official-postgres://u:***@h:5432/db?schema=app&sslmode=disable",
    });
    expect(parseOfficialUrl("postgres://h/db", "official")).toMatchObject({ kind: "postgres", target: "postgresql://h/db" });
    expect(parseOfficialUrl("sqlite:x.db", "official")).toMatchObject({ kind: "sqlite", target: "x.db" });
    expect(() => parseOfficialUrl("official-redis://h:6379", undefined)).toThrow(/not supported yet/);
    expect(() => parseOfficialUrl("official-mongodb://h", undefined)).toThrow(/not supported yet/);
    expect(() => parseOfficialUrl("sqlite:x.db", undefined)).toThrow(/use copy/);
  });

  it("refuses a file that is not an official SqliteSaver database", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const r = await cli(["import", "--from", "official-redis://127.0.0.1:6379", "--to", "memory:"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/not supported yet/);
      const backend = await resolveBackend(`sqlite:${join(dir, "ours.db")}`);
      await (await backend.openSaver()).setup();
      await backend.close();
      const bad = await cli(["import", "--from", `official-sqlite:${join(dir, "ours.db")}`, "--to", "memory:"]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/not an official SqliteSaver database/);
    } finally {
      cleanup();
    }
  });
});

describe("import from the official SqliteSaver", () => {
  const { dir, cleanup } = tempDir();
  const file = join(dir, "official.db");
  let official: OfficialSqliteSaver;
  let threads: string[];

  beforeAll(async () => {
    official = OfficialSqliteSaver.fromConnString(file);
    threads = await runThreads(official, "sq");
  });
  afterAll(() => {
    (official as unknown as { db: { close(): void } }).db.close();
    cleanup();
  });

  for (const target of targets(dir, `sq${uniqueTag()}`)) {
    it(`into ${target.name}: every checkpoint equal, getState equal, re-run imports nothing, the waiting thread resumes`, async () => {
      const backend: Backend = await resolveBackend(target.url);
      const source = OfficialSqliteSource.open(file);
      try {
        const ours = await backend.openSaver();
        const dry = await importCheckpoints(source, ours, { dryRun: true });
        const report = await importCheckpoints(source, ours, { verify: "all" });
        expect(report.problems).toEqual([]);
        expect(report.threads).toBe(2);
        expect(report.checkpoints).toBe(dry.checkpoints);
        expect(report.writes).toBe(dry.writes);
        expect(report.verified).toBe(report.checkpoints);
        expect(report.alreadyPresent).toBe(0);
        await expectSameThreads(official, ours, threads);
        const again = await importCheckpoints(source, ours, { verify: "none" });
        expect(again.alreadyPresent).toBe(again.checkpoints);
        expect((await allTuples(ours, threads[0])).length).toBe((await allTuples(official, threads[0])).length);
        await resumeOnOurs(ours, threads[1]);
      } finally {
        await source.close();
        await backend.close();
      }
    });
  }

  it("the CLI: --dry-run counts, the import verifies all, a re-run adds nothing", async () => {
    const target = `sqlite:${join(dir, "cli-target.db")}`;
    const dry = await cli(["import", "--from", `official-sqlite:${file}`, "--to", target, "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    const counts = JSON.parse(dry.stdout);
    expect(counts.threads).toMatchObject({ dryRun: true, threads: 2 });
    expect(counts.threads.checkpoints).toBeGreaterThan(8);
    expect(counts.threads.bytes).toBeGreaterThan(0);
    const run = await cli(["import", "--from", `official-sqlite:${file}`, "--to", target, "--verify", "all"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Imported 2 threads: ${counts.threads.checkpoints} checkpoints`);
    expect(run.stdout).toMatch(/Verified: \d+ checkpoints/);
    expect(run.stderr).toMatch(/importing: \d+ checkpoints/);
    const again = await cli(["import", "--from", `official-sqlite:${file}`, "--to", target, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).threads.alreadyPresent).toBe(counts.threads.checkpoints);
    const one = await cli(["import", "--from", `sqlite:${file}`, "--from-format", "official", "--to", `sqlite:${join(dir, "one.db")}`, "--threads", threads[1], "--json"]);
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout).threads.threads).toBe(1);
  });
});

describe.skipIf(!PG)("import from the official PostgresSaver and PostgresStore", () => {
  const { dir, cleanup } = tempDir();
  const schema = `lgp_official_${uniqueTag()}`;
  const sourceUrl = `official-postgres${PG!.replace(/^postgres(ql)?/, "")}?schema=${schema}`;
  let official: OfficialPostgresSaver;
  let officialStore: OfficialPostgresStore;
  let threads: string[];

  beforeAll(async () => {
    official = OfficialPostgresSaver.fromConnString(PG!, { schema });
    await official.setup();
    threads = await runThreads(official, "pg");
    officialStore = OfficialPostgresStore.fromConnString(PG!, { schema });
    await officialStore.setup();
    await officialStore.put(["users", "u1", "memories"], "m1", { text: "likes tea", n: 1 });
    await officialStore.put(["users", "u1", "memories"], "m2", { text: "lives in Lyon", nested: { a: [1, 2] } });
    await officialStore.put(["users", "u2"], "profile", { name: "Bo" });
    await officialStore.put(["docs"], "readme", { body: "hello" });
  });
  afterAll(async () => {
    // The official saver keeps its pg pool in a private field.
    const { pool } = official as unknown as { pool: { query(text: string): Promise<unknown> } };
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await official.end();
    await officialStore.stop?.();
    await (officialStore as unknown as { end?: () => Promise<void> }).end?.().catch(() => {});
    cleanup();
  });

  for (const target of targets(dir, `pg${uniqueTag()}`)) {
    it(`into ${target.name}: checkpoints, getState and store items (timestamps too) equal; re-run imports nothing; the waiting thread resumes`, async () => {
      const backend = await resolveBackend(target.url);
      const source = await OfficialPostgresSource.open(PG!, { schema });
      try {
        const ours = await backend.openSaver();
        const report = await importCheckpoints(source, ours, { verify: "all" });
        expect(report.problems).toEqual([]);
        expect(report.threads).toBe(2);
        await expectSameThreads(official, ours, threads);
        const again = await importCheckpoints(source, ours, { verify: "none" });
        expect(again.alreadyPresent).toBe(report.checkpoints);

        const store = await backend.openStore();
        const items = await importStore(source, store, { verify: "all" });
        expect(items.problems).toEqual([]);
        expect(items).toMatchObject({ items: 4, namespaces: 3, timestampsKept: store.capabilities.importTimestamps === true });
        for (const [ns, key] of [[["users", "u1", "memories"], "m1"], [["users", "u1", "memories"], "m2"], [["users", "u2"], "profile"], [["docs"], "readme"]] as const) {
          const expected = await officialStore.get([...ns], key);
          const got = await store.get([...ns], key);
          expect(got?.value).toEqual(expected?.value);
          if (store.capabilities.importTimestamps) {
            expect(got?.createdAt.getTime()).toBe(new Date(expected!.createdAt).getTime());
            expect(got?.updatedAt.getTime()).toBe(new Date(expected!.updatedAt).getTime());
          }
        }
        const filtered = await importStore(source, store, { namespace: ["users"], dryRun: true });
        expect(filtered.items).toBe(3);
        await resumeOnOurs(ours, threads[1]);
      } finally {
        await source.close();
        await backend.close();
      }
    });
  }

  it("the CLI: dry-run counts threads, checkpoints, writes and items; a re-run imports nothing new; --namespace filters", async () => {
    const target = `sqlite:${join(dir, "cli-pg-target.db")}`;
    const dry = await cli(["import", "--from", sourceUrl, "--to", target, "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    const counts = JSON.parse(dry.stdout);
    expect(counts.threads.threads).toBe(2);
    expect(counts.store.items).toBe(4);
    const run = await cli(["import", "--from", sourceUrl, "--to", target, "--json", "--verify", "all"]);
    expect(run.code, run.stderr).toBe(0);
    const done = JSON.parse(run.stdout);
    expect(done.threads).toMatchObject({ checkpoints: counts.threads.checkpoints, writes: counts.threads.writes, problems: [] });
    expect(done.store).toMatchObject({ items: 4, timestampsKept: true, problems: [] });
    const again = await cli(["import", "--from", sourceUrl, "--to", target, "--json"]);
    expect(JSON.parse(again.stdout).threads.alreadyPresent).toBe(counts.threads.checkpoints);
    const ns = await cli(["import", "--from", sourceUrl, "--to", target, "--namespace", "users/u1", "--dry-run", "--json"]);
    expect(JSON.parse(ns.stdout).store.items).toBe(2);
  });

  it("reads in a READ ONLY transaction: the source cannot be written through it", async () => {
    const source = await OfficialPostgresSource.open(PG!, { schema });
    try {
      const client = (source as unknown as { client: { query(q: string): Promise<unknown> } }).client;
      await expect(client.query(`DELETE FROM "${schema}".checkpoints`)).rejects.toThrow(/read-only transaction/);
    } finally {
      await source.close();
    }
  });
});

describe("library API from upstream MemorySaver and InMemoryStore", () => {
  const { dir, cleanup } = tempDir();
  let saver: UpstreamSaver;
  let store: UpstreamStore;
  let threads: string[];

  beforeAll(async () => {
    saver = new UpstreamSaver();
    threads = await runThreads(saver, "mem");
    store = new UpstreamStore();
    await store.put(["a", "b"], "k1", { v: 1 });
    await store.put(["a"], "k2", { v: [1, { x: "y" }] });
    await store.put(["c"], "k3", { v: null });
  });
  afterAll(cleanup);

  for (const target of targets(dir, `mem${uniqueTag()}`)) {
    it(`into ${target.name}`, async () => {
      const backend = await resolveBackend(target.url);
      try {
        const ours = await backend.openSaver();
        const dry = await importCheckpoints(saver, ours, { dryRun: true });
        expect(dry.threads).toBe(2);
        const report = await importCheckpoints(saver, ours, { verify: "all" });
        expect(report.problems).toEqual([]);
        expect(report.checkpoints).toBe(dry.checkpoints);
        await expectSameThreads(saver, ours, threads, false);
        expect((await importCheckpoints(saver, ours, { threads: [threads[0]] })).alreadyPresent).toBeGreaterThan(0);
        const ourStore = await backend.openStore();
        const items = await importStore(store, ourStore, { verify: "all" });
        expect(items.problems).toEqual([]);
        expect(items.items).toBe(3);
        expect((await ourStore.get(["a"], "k2"))?.value).toEqual({ v: [1, { x: "y" }] });
        if (ourStore.capabilities.importTimestamps) {
          expect((await ourStore.get(["a", "b"], "k1"))?.createdAt.getTime()).toBe((await store.get(["a", "b"], "k1"))!.createdAt.getTime());
        }
        await resumeOnOurs(ours, threads[1]);
      } finally {
        await backend.close();
      }
    });
  }
});
