import { HumanMessage } from "@langchain/core/messages";
import type { PersistSaver, PersistStore } from "@langgraph-persist/core";
import { parse } from "../args.js";
import { resolveBackend } from "../backends.js";
import { HashEmbeddings } from "../embeddings.js";
import { UsageError } from "../errors.js";
import { plural, preview, table, type Io } from "../format.js";
import { checkpointRefs } from "../threads.js";
import { buildAgent, type MemoryEvent } from "./agent.js";
import { DemoChatModel } from "./model.js";

export const DEFAULT_DEMO_BACKEND = "sqlite:.data/demo.db";

export const DEMO_HELP = `Usage: langgraph-persist demo [--backend <url>] [--reset]

A chatbot with short-term memory (a checkpointer: each thread's conversation) and long-term memory
(a store: what it learnt about a user, found again by semantic search from any thread). Offline and
deterministic: no API key, no model download, no server.

Options:
  --backend <url>   where to persist (default: ${DEFAULT_DEMO_BACKEND}, relative to the current directory):
                    memory:, sqlite:<path>, postgres://…, redis://…, mongodb://…
  --reset           forget the demo's threads and memories first
  --verbose         stack traces on errors

Run it twice: the second run starts a new process and finds the first run's threads and memories.`;

/** The script: thread, user, message. */
const TURNS = [
  { threadId: "demo-1", userId: "1", text: "Hi! Remember: my name is Bob" },
  { threadId: "demo-2", userId: "1", text: "what is my name?" },
  { threadId: "demo-3", userId: "2", text: "what is my name?" },
] as const;

const THREADS = [...new Set(TURNS.map((t) => t.threadId))];
const USERS = [...new Set(TURNS.map((t) => t.userId))];
/** Dimensions of the demo's hashed embeddings. */
const DIMS = 256;

interface Stored {
  threads: Array<{ threadId: string; checkpoints: number; messages: number; step: unknown; updated: string }>;
  memories: Array<{ namespace: string[]; key: string; text: string; updated: Date }>;
}

async function stored(saver: PersistSaver, store: PersistStore, graph: ReturnType<typeof buildAgent>): Promise<Stored> {
  const threads: Stored["threads"] = [];
  for (const threadId of THREADS) {
    const refs = await checkpointRefs(saver, threadId);
    if (refs.length === 0) continue;
    const state = await graph.getState({ configurable: { thread_id: threadId } });
    threads.push({ threadId, checkpoints: refs.length, messages: (state.values.messages ?? []).length, step: state.metadata?.step, updated: String(state.createdAt ?? "") });
  }
  const memories: Stored["memories"] = [];
  for (const userId of USERS) {
    for (const item of await store.search(["memories", userId], { limit: 100 })) {
      memories.push({ namespace: item.namespace, key: item.key, text: String(item.value.data), updated: item.updatedAt });
    }
  }
  return { threads, memories };
}

/** Runs the demo; returns the process exit code. */
export async function runDemo(argv: string[], io: Io, options: { cliCommand?: string } = {}): Promise<number> {
  const { values, positionals } = parse(argv, { backend: { type: "string" }, reset: { type: "boolean" } }, "demo");
  if (values.help) {
    io.out(DEMO_HELP + "\n");
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`demo: unexpected argument ${JSON.stringify(positionals[0])} (use --backend <url>)`);
  const url = values.backend ?? DEFAULT_DEMO_BACKEND;
  const backend = await resolveBackend(url);
  const out = (s = "") => io.out(s + "\n");
  try {
    const saver = await backend.openSaver();
    const store = await backend.openStore({ index: { dims: DIMS, embeddings: new HashEmbeddings(DIMS), fields: ["data"] } });
    await Promise.all([saver.setup(), store.setup()]);

    let current: MemoryEvent[] = [];
    const graph = buildAgent({ model: new DemoChatModel(), checkpointer: saver, store, onMemory: (e) => current.push(e) });

    out(`langgraph-persist demo · backend ${backend.spec.display}`);
    out(`Offline, deterministic model: it knows only what the checkpointer and the store hand it.`);
    if (values.reset) {
      await saver.prune(THREADS, { strategy: "delete" });
      await store.batch(USERS.map((u) => ({ namespace: ["memories", u], key: "name", value: null })));
      out(`--reset: forgot the demo's threads and memories.`);
    }
    const before = await stored(saver, store, graph);
    if (before.threads.length > 0 || before.memories.length > 0) {
      const checkpoints = before.threads.reduce((n, t) => n + t.checkpoints, 0);
      out(
        `Found data from an earlier run: ${plural(before.threads.length, "thread")} (${plural(checkpoints, "checkpoint")}) and ${plural(before.memories.length, "memory", "memories")}.`,
      );
      out(`This is a new process with nothing in memory: it all came back from ${backend.spec.display}.`);
      for (const m of before.memories) out(`  remembered for user ${m.namespace[1]}: "${m.text}"`);
    } else {
      out(`Nothing stored yet: this is the first run${backend.spec.kind === "memory" ? "" : " (run it again to see the data survive a restart)"}.`);
    }

    for (const turn of TURNS) {
      const config = { configurable: { thread_id: turn.threadId, user_id: turn.userId } };
      const earlier = ((await graph.getState(config)).values.messages ?? []).length;
      out();
      out(`── thread ${turn.threadId} · user ${turn.userId}${earlier > 0 ? ` · resumes ${plural(earlier, "earlier message")} from the checkpointer` : " · new thread"}`);
      out(`  user: ${turn.text}`);
      current = [];
      const result = await graph.invoke({ messages: [new HumanMessage(turn.text)] }, config);
      for (const e of current) {
        if (e.kind === "search") {
          const hits = e.results.map((r) => `"${r.text}"${r.score !== undefined ? ` (similarity ${r.score.toFixed(2)})` : ""}`);
          out(`    · store.search(${JSON.stringify(e.namespace)}, "${e.query}") → ${hits.length ? hits.join(", ") : "no memories"}`);
        } else {
          out(`    · store.put(${JSON.stringify(e.namespace)}, "${e.key}") ← "${e.text}"`);
        }
      }
      const messages = result.messages;
      out(`  ai:   ${messages[messages.length - 1].text}`);
    }

    const after = await stored(saver, store, graph);
    out();
    out(`What is stored now (${backend.spec.display}):`);
    out(
      table(
        ["thread", "checkpoints", "messages", "step", "last checkpoint"],
        after.threads.map((t) => [t.threadId, String(t.checkpoints), String(t.messages), String(t.step ?? ""), t.updated]),
      ).trimEnd(),
    );
    out();
    out(table(["namespace", "key", "memory", "updated"], after.memories.map((m) => [m.namespace.join("/"), m.key, preview(m.text), m.updated.toISOString()])).trimEnd());
    out();
    if (backend.spec.kind === "memory") out(`memory: keeps nothing after the process exits; the default (${DEFAULT_DEMO_BACKEND}) does.`);
    else out(`Run it again: a new process will find these threads and memories. Inspect them with\n  ${options.cliCommand ?? "langgraph-persist"} inspect threads --url ${backend.spec.display}`);
    return 0;
  } finally {
    await backend.close();
  }
}
