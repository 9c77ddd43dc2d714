import { resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import type { PutOperation } from "@langchain/langgraph-checkpoint";
import type { PersistSaver, PersistStore } from "@langgraph-persist/core";
import { intOption, listOption, namespaceOption, parse } from "../args.js";
import { resolveBackend, type Backend, type BackendSpec } from "../backends.js";
import { loadIndexConfig } from "../embeddings.js";
import { CliError, UsageError, describeError } from "../errors.js";
import { Progress, confirmDestructive, plural, toJson, type Io } from "../format.js";
import { allThreads, checkpointRefs, copyThreadAcross, verifyThread } from "../threads.js";

export const COPY_HELP = `Usage: langgraph-persist copy --from <url> --to <url> [options]

Copies threads (every checkpoint of every namespace, with channel values and pending writes) and
store items from one backend to another, e.g. from SQLite in development to Postgres in production.
Safe to re-run: what the target already has is kept, nothing is duplicated. Counts are verified at the end.
Checkpoints and pending writes already on the target are never rewritten; a store item the target holds
under the same namespace and key with another value is overwritten: the copy lists those items and asks
first on a terminal, and needs --yes without one (--dry-run lists them too).

What is copied:
  (neither --threads nor --store)   every thread and every store item
  --threads <id,id,…|all>           these threads (or all of them)
  --store                           store items (all, or those under --namespace)
  --namespace <a/b>                 only store items under this namespace prefix (implies --store)

Options:
  --from <url>           source backend (not modified)
  --to <url>             target backend (its schema is created when missing)
  --dry-run              count what would be copied (and list the store items it would overwrite); write nothing
  --yes, -y              overwrite differing store items on the target without asking (required when
                         stdin is not a terminal and the copy would overwrite any)
  --embeddings <spec>    index copied items for semantic search on the target: "hash", "hash:<dims>",
                         or a module exporting { dims, embeddings, fields? }
  --index-fields <f,…>   fields to embed (default: the whole value)
  --ttl <minutes>        give every copied store item this TTL (default: the target's default, none)
  --page-size <n>        items/threads read per request (default 200)
  --json                 print the summary as JSON
  --verbose              stack traces on errors

Preserved: thread and checkpoint ids, parent links, namespaces, checkpoint timestamps (ts) and
metadata, channel values (also those without a version) and versions, pending writes (including
interrupts and errors) with their task paths and order; store namespaces, keys and values. Not readable through the public store API, so not carried over:
item createdAt/updatedAt (the target sets them to the copy time) and per-item TTL (use --ttl).`;

interface CopySummary {
  from: string;
  to: string;
  dryRun: boolean;
  threads?: { threads: number; checkpoints: number; alreadyPresent: number; pendingWrites: number; verified: boolean; problems: string[] };
  /** `overwrites`: the store items (namespace/key) the target held with another value, replaced by the copy. */
  store?: { items: number; namespaces: number; overwrites: string[]; verified: boolean; problems: string[] };
  notes: string[];
  seconds: number;
}

/** Whether two URLs address the same data (a copy onto itself would only rewrite what is there). */
function sameBackend(a: BackendSpec, b: BackendSpec): boolean {
  if (a.kind !== b.kind || a.kind === "memory") return false;
  const where = (s: BackendSpec) => (s.kind === "sqlite" && s.target !== ":memory:" ? resolve(s.target) : s.target);
  return where(a) === where(b) && JSON.stringify(a.params) === JSON.stringify(b.params) && !(a.kind === "sqlite" && a.target === ":memory:");
}

function isNotSetUp(err: unknown): boolean {
  return err instanceof Error && err.name === "NotSetUpError";
}

export async function copyCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      from: { type: "string" },
      to: { type: "string" },
      threads: { type: "string" },
      store: { type: "boolean" },
      namespace: { type: "string" },
      "dry-run": { type: "boolean" },
      yes: { type: "boolean", short: "y" },
      embeddings: { type: "string" },
      "index-fields": { type: "string" },
      ttl: { type: "string" },
      "page-size": { type: "string" },
      json: { type: "boolean" },
    },
    "copy",
  );
  if (values.help) {
    io.out(COPY_HELP + "\n");
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`copy: unexpected argument ${JSON.stringify(positionals[0])} (see langgraph-persist copy --help)`);
  if (!values.from || !values.to) throw new UsageError("copy: --from <url> and --to <url> are required (see langgraph-persist copy --help)");
  const pageSize = intOption(values["page-size"], "page-size", 200);
  const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0)) throw new UsageError(`--ttl must be a positive number of minutes, got ${JSON.stringify(values.ttl)}`);
  const threadIds = listOption(values.threads);
  if (threadIds && threadIds.length === 0) throw new UsageError("copy: --threads needs thread ids (id,id,…) or all");
  const wantStore = values.store === true || values.namespace !== undefined;
  const everything = threadIds === undefined && !wantStore;
  const doThreads = everything || threadIds !== undefined;
  const doStore = everything || wantStore;
  const prefix = namespaceOption(values.namespace);
  const index = await loadIndexConfig(values.embeddings, listOption(values["index-fields"]));
  const dryRun = values["dry-run"] === true;

  const started = Date.now();
  const source = await resolveBackend(values.from, { mustExist: true });
  let target: Backend | undefined;
  try {
    if (!dryRun) target = await resolveBackend(values.to);
    if (target && sameBackend(source.spec, target.spec)) {
      throw new UsageError("copy: --from and --to are the same backend");
    }
    const summary: CopySummary = { from: source.spec.display, to: target?.spec.display ?? values.to, dryRun, notes: [], seconds: 0 };

    // Store items the copy would overwrite, found before anything is written (threads are never
    // overwritten: checkpoints the target has are kept, pending writes are insert-if-absent).
    let overwrites: string[] = [];
    if (doStore) {
      const found = await findOverwrites(source, target, values.to, index, prefix, pageSize, everything);
      overwrites = found.items;
      if (found.note) summary.notes.push(found.note);
      if (target && overwrites.length > 0) {
        await confirmDestructive(io, {
          command: "copy",
          yes: values.yes === true,
          nonInteractive: `the target already holds ${plural(overwrites.length, "store item")} with another value under the same namespace and key (${listSome(overwrites, 3)}), which the copy would overwrite, and stdin is not a terminal to confirm on: add --yes to overwrite them, or --dry-run to list them`,
          preview: `The target already holds ${plural(overwrites.length, "store item")} with another value under the same namespace and key; the copy replaces ${overwrites.length === 1 ? "it" : "them"} with the source's:\n${overwrites.slice(0, 20).map((o) => `  ${o}\n`).join("")}${overwrites.length > 20 ? `  … and ${overwrites.length - 20} more\n` : ""}`,
          question: `Overwrite ${plural(overwrites.length, "store item")} at ${target.spec.display}?`,
        });
      }
    }

    if (doThreads) {
      const saver = await source.openSaver();
      const targetSaver = target ? await target.openSaver() : undefined;
      try {
        summary.threads = await copyThreads(saver, targetSaver, threadIds?.length === 1 && threadIds[0] === "all" ? undefined : threadIds, pageSize, io);
      } catch (err) {
        if (!(everything && isNotSetUp(err))) throw err;
        summary.notes.push("the source has no checkpoints (its checkpointer was never set up): threads skipped");
      }
    }
    if (doStore) {
      const store = await source.openStore();
      const targetStore = target ? await target.openStore(index ? { index } : {}) : undefined;
      try {
        summary.store = { ...(await copyStore(store, targetStore, prefix, pageSize, ttl, io)), overwrites };
      } catch (err) {
        if (!(everything && isNotSetUp(err))) throw err;
        summary.notes.push("the source has no store (it was never set up): store items skipped");
      }
    }
    summary.seconds = (Date.now() - started) / 1000;
    report(summary, values.json === true, io);
    const problems = [...(summary.threads?.problems ?? []), ...(summary.store?.problems ?? [])];
    if (problems.length > 0) throw new CliError(`copy: ${plural(problems.length, "problem")} found${dryRun ? "" : " while verifying the target"} (listed above)`);
    return 0;
  } finally {
    await Promise.all([source.close(), target?.close()]);
  }
}

const listSome = (items: string[], n: number) => (items.length > n ? `${items.slice(0, n).join(", ")}, …` : items.join(", "));

const storeLabel = (item: { namespace: string[]; key: string }) => `${item.namespace.join("/")}/${item.key}`;

/**
 * The store items under `prefix` that the target holds with another value than the source (a copy
 * would overwrite them). An empty target, the usual case, costs one read. With `--dry-run` (no
 * `target`) the target is only read, and not at all when it does not exist yet.
 */
async function findOverwrites(
  source: Backend,
  target: Backend | undefined,
  targetUrl: string,
  index: Awaited<ReturnType<typeof loadIndexConfig>>,
  prefix: string[],
  pageSize: number,
  everything: boolean,
): Promise<{ items: string[]; note?: string }> {
  let readOnly: Backend | undefined;
  try {
    let targetStore: PersistStore;
    let empty: boolean;
    if (target) {
      targetStore = await target.openStore(index ? { index } : {});
      await targetStore.setup();
      empty = (await targetStore.search(prefix, { limit: 1 })).length === 0;
    } else {
      try {
        readOnly = await resolveBackend(targetUrl, { mustExist: true });
        targetStore = await readOnly.openStore();
        empty = (await targetStore.search(prefix, { limit: 1 })).length === 0;
      } catch (err) {
        if (isNotSetUp(err) || (err instanceof CliError && /^no SQLite database at /.test(err.message))) return { items: [] };
        return { items: [], note: `the target could not be read to find the store items the copy would overwrite (${describeError(err)})` };
      }
    }
    if (empty) return { items: [] };
    const sourceStore = await source.openStore();
    const found = new Set<string>();
    for (let offset = 0; ; offset += pageSize) {
      let page: Awaited<ReturnType<PersistStore["search"]>>;
      try {
        page = await sourceStore.search(prefix, { limit: pageSize, offset });
      } catch (err) {
        if (everything && isNotSetUp(err)) return { items: [] };
        throw err;
      }
      if (page.length > 0) {
        const existing = await targetStore.batch(page.map((item) => ({ namespace: item.namespace, key: item.key })));
        page.forEach((item, i) => {
          const got = existing[i];
          if (got && !isDeepStrictEqual(got.value, item.value)) found.add(storeLabel(item));
        });
      }
      if (page.length < pageSize) break;
    }
    return { items: [...found] };
  } finally {
    await readOnly?.close();
  }
}

async function copyThreads(source: PersistSaver, target: PersistSaver | undefined, ids: string[] | undefined, pageSize: number, io: Io): Promise<NonNullable<CopySummary["threads"]>> {
  const threads: string[] = [];
  if (ids) threads.push(...ids);
  else for await (const t of allThreads(source, pageSize)) threads.push(t.threadId);
  if (target) await target.setup();
  const result = { threads: 0, checkpoints: 0, alreadyPresent: 0, pendingWrites: 0, verified: false, problems: [] as string[] };
  const progress = new Progress(io, target ? "copying threads" : "counting threads", "checkpoint");
  let done = 0;
  for (const threadId of threads) {
    if (!target) {
      const refs = await checkpointRefs(source, threadId);
      if (refs.length === 0) result.problems.push(`thread ${threadId} not found in the source`);
      else result.threads++;
      result.checkpoints += refs.length;
      result.pendingWrites += refs.reduce((n, r) => n + r.writes, 0);
      done++;
      progress.tick(refs.length, `thread ${done}/${threads.length}`, done / threads.length);
      continue;
    }
    const copied = await copyThreadAcross(source, target, threadId, () => progress.tick(1, `thread ${done + 1}/${threads.length}`, done / threads.length));
    done++;
    progress.tick(0, `thread ${done}/${threads.length}`, done / threads.length);
    if (copied.checkpoints === 0) {
      result.problems.push(`thread ${threadId} not found in the source`);
      continue;
    }
    result.threads++;
    result.checkpoints += copied.checkpoints;
    result.alreadyPresent += copied.skipped;
    result.pendingWrites += copied.writes;
  }
  progress.finish();
  if (target) {
    for (const threadId of threads) {
      const v = await verifyThread(source, target, threadId);
      if (v.missing > 0) result.problems.push(`thread ${threadId}: ${plural(v.missing, "checkpoint")} missing on the target`);
      if (v.missingWrites > 0) result.problems.push(`thread ${threadId}: pending writes missing on ${plural(v.missingWrites, "checkpoint")} of the target`);
    }
    result.verified = result.problems.length === 0;
  }
  return result;
}

const nsKey = (ns: string[]) => JSON.stringify(ns);

async function copyStore(
  source: PersistStore,
  target: PersistStore | undefined,
  prefix: string[],
  pageSize: number,
  ttl: number | undefined,
  io: Io,
): Promise<Omit<NonNullable<CopySummary["store"]>, "overwrites">> {
  if (target) await target.setup();
  const result = { items: 0, namespaces: 0, verified: false, problems: [] as string[] };
  const namespaces = new Set<string>();
  const seen = new Set<string>();
  const progress = new Progress(io, target ? "copying store" : "counting store", "item");
  // One search over the prefix, paged: every backend orders by (updatedAt desc, key, namespace), a total
  // order, so pages neither overlap nor skip while the source is not being written to.
  for (let offset = 0; ; offset += pageSize) {
    const page = await source.search(prefix, { limit: pageSize, offset });
    const fresh = page.filter((item) => {
      const k = `${nsKey(item.namespace)}\u0000${item.key}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    for (const item of fresh) namespaces.add(nsKey(item.namespace));
    if (target && fresh.length > 0) {
      const puts = fresh.map((item): PutOperation & { ttl?: number } => ({ namespace: item.namespace, key: item.key, value: item.value, ...(ttl !== undefined ? { ttl } : {}) }));
      await target.batch(puts);
      const stored = await target.batch(fresh.map((item) => ({ namespace: item.namespace, key: item.key })));
      fresh.forEach((item, i) => {
        const got = stored[i];
        if (!got) result.problems.push(`store item ${item.namespace.join("/")}/${item.key} missing on the target after the copy`);
        else if (!isDeepStrictEqual(got.value, item.value)) result.problems.push(`store item ${item.namespace.join("/")}/${item.key} differs on the target`);
      });
    }
    result.items += fresh.length;
    progress.tick(fresh.length, `${plural(namespaces.size, "namespace")}`);
    if (page.length < pageSize) break;
  }
  progress.finish();
  result.namespaces = namespaces.size;
  if (target) {
    // Count again on the target: everything under the prefix that the source has must be there.
    let count = 0;
    for (let offset = 0; ; offset += pageSize) {
      const page = await target.search(prefix, { limit: pageSize, offset });
      count += page.filter((item) => seen.has(`${nsKey(item.namespace)}\u0000${item.key}`)).length;
      if (page.length < pageSize) break;
    }
    if (count !== result.items) result.problems.push(`the target has ${count} of the ${result.items} copied store items`);
    result.verified = result.problems.length === 0;
  }
  return result;
}

function report(s: CopySummary, json: boolean, io: Io): void {
  if (json) {
    io.out(toJson(s));
    return;
  }
  const verb = s.dryRun ? "Would copy" : "Copied";
  const lines: string[] = [];
  if (s.threads) {
    const again = s.threads.alreadyPresent > 0 ? `, ${s.threads.alreadyPresent} already on the target` : "";
    lines.push(`${verb} ${plural(s.threads.threads, "thread")}: ${plural(s.threads.checkpoints, "checkpoint")}${again}, ${plural(s.threads.pendingWrites, "pending write")}`);
  }
  if (s.store) {
    const o = s.store.overwrites;
    const replaced = o.length > 0 ? `, ${s.dryRun ? "overwriting" : "overwrote"} ${plural(o.length, "item")} the target held with another value` : "";
    lines.push(`${verb} ${plural(s.store.items, "store item")} in ${plural(s.store.namespaces, "namespace")}${replaced}`);
    if (s.dryRun) lines.push(...o.slice(0, 20).map((label) => `  overwrites ${label}`), ...(o.length > 20 ? [`  … and ${o.length - 20} more`] : []));
  }
  lines.push(`  from ${s.from}`, `  to   ${s.to}`);
  for (const n of s.notes) lines.push(`Note: ${n}`);
  const problems = [...(s.threads?.problems ?? []), ...(s.store?.problems ?? [])];
  if (!s.dryRun) {
    if (problems.length === 0) lines.push(`Verified: every copied checkpoint, pending write and store item is on the target (${s.seconds.toFixed(1)}s)`);
    else lines.push(`Verification FAILED:`, ...problems.map((p) => `  - ${p}`));
  } else if (problems.length > 0) lines.push(...problems.map((p) => `  - ${p}`));
  io.out(lines.join("\n") + "\n");
}
