import type { SearchItem } from "@langchain/langgraph-checkpoint";
import { intOption, namespaceOption, parse } from "../args.js";
import { resolveBackend } from "../backends.js";
import { loadIndexConfig } from "../embeddings.js";
import { UsageError } from "../errors.js";
import { plural, preview, table, toJson, type Io } from "../format.js";
import { allThreads } from "../threads.js";

export const INSPECT_HELP = `Usage:
  langgraph-persist inspect threads --url <url> [--limit n] [--json]
  langgraph-persist inspect thread <thread-id> --url <url> [--limit n] [--values] [--json]
  langgraph-persist inspect store [<namespace-prefix>] --url <url> [--query text] [--filter json] [--limit n] [--json]
  langgraph-persist inspect namespaces [<namespace-prefix>] --url <url> [--json]

  threads      threads, newest first, with their latest checkpoint
  thread       one thread's checkpoint history (every namespace): steps, sources, pending writes
  store        store items under a namespace prefix (a/b or a.b; omit for all), newest first
  namespaces   the namespaces that hold items

Options:
  --url <url>            the backend (default: $LANGGRAPH_PERSIST_URL)
  --limit <n>            rows to show (default 50)
  --values               (thread) include channel values in --json output
  --query <text>         (store) semantic search when --embeddings is given, else a text match on values
  --embeddings <spec>    (store) "hash", "hash:<dims>" or a module exporting { dims, embeddings, fields? }
  --filter <json>        (store) a store filter, e.g. '{"kind":"note"}'
  --json                 machine-readable output
  --verbose              stack traces on errors

Nothing is written: a database whose schema was never set up is reported, not created.`;

export async function inspectCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      url: { type: "string" },
      limit: { type: "string" },
      values: { type: "boolean" },
      query: { type: "string" },
      embeddings: { type: "string" },
      filter: { type: "string" },
      json: { type: "boolean" },
    },
    "inspect",
  );
  const [what, ...rest] = positionals;
  if (values.help || what === undefined) {
    io.out(INSPECT_HELP + "\n");
    return values.help ? 0 : 2;
  }
  if (!["threads", "thread", "store", "namespaces"].includes(what)) {
    throw new UsageError(`inspect: unknown subcommand ${JSON.stringify(what)}: use threads, thread, store or namespaces`);
  }
  const args = [...rest];
  const url = backendUrl(values.url, `inspect ${what}`);
  const limit = intOption(values.limit, "limit", 50);
  const json = values.json === true;
  switch (what) {
    case "threads": {
      if (args.length > 0) throw new UsageError(`inspect threads: unexpected argument ${JSON.stringify(args[0])}`);
      const backend = await resolveBackend(url, { mustExist: true });
      try {
        const saver = await backend.openSaver();
        const rows: Array<{ threadId: string; checkpointId: string; checkpointNs: string; ts: string; step: unknown; source: unknown; metadata: Record<string, unknown> }> = [];
        for await (const t of allThreads(saver, Math.min(limit, 200))) {
          rows.push({ threadId: t.threadId, checkpointId: t.checkpointId, checkpointNs: t.checkpointNs, ts: t.ts, step: t.metadata.step, source: t.metadata.source, metadata: t.metadata });
          if (rows.length >= limit) break;
        }
        if (json) io.out(toJson(rows));
        else {
          io.out(table(["thread", "latest checkpoint", "step", "source", "updated"], rows.map((r) => [r.threadId, r.checkpointId, String(r.step ?? ""), String(r.source ?? ""), r.ts])));
          io.out(`${plural(rows.length, "thread")}${rows.length >= limit ? ` (first ${limit}; --limit for more)` : ""}\n`);
        }
      } finally {
        await backend.close();
      }
      return 0;
    }
    case "thread": {
      const threadId = args.shift();
      if (threadId === undefined) throw new UsageError("inspect thread: a thread id is required");
      if (args.length > 0) throw new UsageError(`inspect thread: unexpected argument ${JSON.stringify(args[0])}`);
      const backend = await resolveBackend(url, { mustExist: true });
      try {
        const saver = await backend.openSaver();
        const rows: Array<Record<string, unknown>> = [];
        for await (const t of saver.list({ configurable: { thread_id: threadId } }, { limit })) {
          const md = (t.metadata ?? {}) as Record<string, unknown>;
          rows.push({
            checkpointId: t.config.configurable?.checkpoint_id,
            checkpointNs: t.config.configurable?.checkpoint_ns ?? "",
            parentCheckpointId: t.parentConfig?.configurable?.checkpoint_id ?? null,
            ts: t.checkpoint.ts,
            step: md.step,
            source: md.source,
            metadata: md,
            channels: Object.keys(t.checkpoint.channel_versions ?? {}),
            ...(values.values ? { values: t.checkpoint.channel_values } : {}),
            pendingWrites: (t.pendingWrites ?? []).map(([taskId, channel, value]) => ({ taskId, channel, value })),
          });
        }
        if (rows.length === 0) throw new UsageError(`inspect thread: no thread ${JSON.stringify(threadId)} at ${backend.spec.display}`);
        if (json) io.out(toJson(rows));
        else {
          io.out(
            table(
              ["checkpoint", "ns", "step", "source", "created", "pending writes"],
              rows.map((r) => [
                String(r.checkpointId),
                r.checkpointNs === "" ? "(root)" : String(r.checkpointNs),
                String(r.step ?? ""),
                String(r.source ?? ""),
                String(r.ts),
                describeWrites(r.pendingWrites as Array<{ taskId: string; channel: string; value: unknown }>),
              ]),
              90,
            ),
          );
          io.out(`${plural(rows.length, "checkpoint")} in thread ${threadId}, newest first${rows.length >= limit ? ` (first ${limit}; --limit for more)` : ""}\n`);
        }
      } finally {
        await backend.close();
      }
      return 0;
    }
    case "store":
    case "namespaces": {
      const prefix = namespaceOption(args.shift());
      if (args.length > 0) throw new UsageError(`inspect ${what}: unexpected argument ${JSON.stringify(args[0])}`);
      const index = what === "store" ? await loadIndexConfig(values.embeddings, undefined) : undefined;
      let filter: Record<string, unknown> | undefined;
      if (values.filter !== undefined) {
        try {
          filter = JSON.parse(values.filter) as Record<string, unknown>;
        } catch {
          throw new UsageError(`--filter must be JSON, e.g. '{"kind":"note"}'`);
        }
      }
      const backend = await resolveBackend(url, { mustExist: true });
      try {
        const store = await backend.openStore(index ? { index } : {});
        if (what === "namespaces") {
          const namespaces = await store.listNamespaces({ prefix: prefix.length > 0 ? prefix : undefined, limit });
          if (json) io.out(toJson(namespaces));
          else io.out(table(["namespace"], namespaces.map((n) => [n.join("/")]), 120) + `${plural(namespaces.length, "namespace")}\n`);
          return 0;
        }
        const items = await searchItems(store, prefix, { query: values.query, semantic: index !== undefined, filter, limit });
        if (json) io.out(toJson(items));
        else {
          const scored = items.some((i) => i.score !== undefined);
          const header = ["namespace", "key", ...(scored ? ["score"] : []), "value", "updated"];
          io.out(table(header, items.map((i) => [i.namespace.join("/"), i.key, ...(scored ? [i.score?.toFixed(3) ?? ""] : []), preview(i.value, 70), i.updatedAt.toISOString()]), 80));
          const how = values.query === undefined ? "" : index ? ` matching ${JSON.stringify(values.query)} by similarity` : ` whose value contains ${JSON.stringify(values.query)} (text match; --embeddings for semantic search)`;
          io.out(`${plural(items.length, "item")}${how} under ${prefix.length ? prefix.join("/") : "(all namespaces)"}\n`);
        }
      } finally {
        await backend.close();
      }
      return 0;
    }
    default:
      throw new UsageError(`inspect: unknown subcommand ${JSON.stringify(what)}: use threads, thread, store or namespaces`);
  }
}

/** The backend: `--url`, else `LANGGRAPH_PERSIST_URL`. */
export function backendUrl(flag: string | undefined, command: string): string {
  const url = flag ?? process.env.LANGGRAPH_PERSIST_URL;
  if (url === undefined || url === "") throw new UsageError(`${command}: --url <backend url> is required (or set LANGGRAPH_PERSIST_URL)`);
  return url;
}

function describeWrites(writes: Array<{ taskId: string; channel: string; value: unknown }>): string {
  if (writes.length === 0) return "";
  return writes.map((w) => (w.channel === "__interrupt__" ? `interrupt ${preview(interruptValue(w.value), 40)}` : w.channel)).join(", ");
}

function interruptValue(value: unknown): unknown {
  const first = Array.isArray(value) ? value[0] : value;
  return first && typeof first === "object" && "value" in first ? (first as { value: unknown }).value : first;
}

async function searchItems(
  store: import("@langgraph-persist/core").PersistStore,
  prefix: string[],
  o: { query?: string; semantic: boolean; filter?: Record<string, unknown>; limit: number },
): Promise<SearchItem[]> {
  if (o.query === undefined || o.semantic) return store.search(prefix, { query: o.query, filter: o.filter, limit: o.limit });
  const needle = o.query.toLowerCase();
  const out: SearchItem[] = [];
  const page = 200;
  for (let offset = 0; out.length < o.limit; offset += page) {
    const items = await store.search(prefix, { filter: o.filter, limit: page, offset });
    for (const item of items) if (out.length < o.limit && JSON.stringify(item.value).toLowerCase().includes(needle)) out.push(item);
    if (items.length < page) break;
  }
  return out;
}
