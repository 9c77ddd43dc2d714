import type { PersistSaver } from "@langgraph-persist/core";
import { listOption, parse } from "../args.js";
import { resolveBackend } from "../backends.js";
import { UsageError } from "../errors.js";
import { confirmDestructive, parseDuration, plural, table, toJson, type Io } from "../format.js";
import { allThreads, checkpointRefs } from "../threads.js";
import { backendUrl } from "./inspect.js";

export const PRUNE_HELP = `Usage: langgraph-persist prune --url <url> (--keep-latest | --older-than <duration>) [options]

Retention for checkpoints. Deletes data: on a terminal it lists what it would remove and asks first;
without one (scripts, cron, CI) it needs --yes.
  --keep-latest             keep only the newest checkpoint of every namespace of each thread (with its
                            pending writes and the channel values it needs); older history is removed
  --older-than <duration>   delete whole threads whose latest checkpoint is older than this: a number
                            with a unit s, min, h, d, w, mo (30 days) or y (365 days), e.g. 15min, 12h,
                            30d, 3mo, 1d12h (a bare m is refused: write min or mo)

Options:
  --url <url>            the backend (default: $LANGGRAPH_PERSIST_URL)
  --threads <id,id,…>    only these threads (default: every thread)
  --dry-run              list what would be removed; change nothing
  --yes, -y              remove without asking (required when stdin is not a terminal)
  --json                 print the summary as JSON
  --verbose              stack traces on errors`;

interface ThreadPlan {
  threadId: string;
  checkpoints: number;
  pendingWrites: number;
  namespaces: number;
  latest?: string;
}

const CHUNK = 100;

export async function pruneCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      url: { type: "string" },
      "keep-latest": { type: "boolean" },
      "older-than": { type: "string" },
      threads: { type: "string" },
      "dry-run": { type: "boolean" },
      yes: { type: "boolean", short: "y" },
      json: { type: "boolean" },
    },
    "prune",
  );
  if (values.help) {
    io.out(PRUNE_HELP + "\n");
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`prune: unexpected argument ${JSON.stringify(positionals[0])} (see langgraph-persist prune --help)`);
  const keepLatest = values["keep-latest"] === true;
  if (keepLatest === (values["older-than"] !== undefined)) throw new UsageError("prune: give exactly one of --keep-latest and --older-than <duration>");
  const maxAgeMs = values["older-than"] !== undefined ? parseDuration(values["older-than"]) : undefined;
  const only = listOption(values.threads);
  if (only && only.length === 0) throw new UsageError("prune: --threads needs thread ids (id,id,…)");
  const dryRun = values["dry-run"] === true;
  const yes = values.yes === true;
  const url = backendUrl(values.url, "prune");
  // Decided before connecting, whatever the backend holds: a script that lacks --yes fails on its first run.
  if (!dryRun && !yes && !io.inIsTty) {
    throw new UsageError("prune: deletes checkpoints and stdin is not a terminal to confirm on: add --yes to prune without asking, or --dry-run to list what would be removed");
  }

  const backend = await resolveBackend(url, { mustExist: true });
  try {
    const saver = await backend.openSaver();
    const cutoff = maxAgeMs !== undefined ? new Date(Date.now() - maxAgeMs) : undefined;
    const candidates = await selectThreads(saver, only, cutoff);
    const plans: ThreadPlan[] = [];
    for (const c of candidates) {
      const refs = await checkpointRefs(saver, c.threadId);
      if (refs.length === 0) continue;
      plans.push({ threadId: c.threadId, latest: c.latest, checkpoints: refs.length, pendingWrites: refs.reduce((n, r) => n + r.writes, 0), namespaces: new Set(refs.map((r) => r.ns)).size });
    }
    const strategy = keepLatest ? "keep_latest" : "delete";
    const before = plans.reduce((n, p) => n + p.checkpoints, 0);
    const kept = plans.reduce((n, p) => n + p.namespaces, 0);
    if (!dryRun && plans.length > 0 && (!keepLatest || before > kept)) {
      await confirmDestructive(io, {
        command: "prune",
        yes,
        nonInteractive: "add --yes to prune without asking",
        preview: `${planTable(plans, keepLatest)}${describePlan(plans, keepLatest, "Would remove", before, kept, values["older-than"], cutoff)}\n`,
        question: keepLatest
          ? `Remove ${plural(before - kept, "checkpoint")} from ${plural(plans.length, "thread")} at ${backend.spec.display}?`
          : `Delete ${plural(plans.length, "thread")} (${plural(before, "checkpoint")}) at ${backend.spec.display}?`,
      });
    }
    if (!dryRun) {
      for (let i = 0; i < plans.length; i += CHUNK) await saver.prune(plans.slice(i, i + CHUNK).map((p) => p.threadId), { strategy });
    }
    let remaining = 0;
    if (!dryRun && keepLatest) for (const p of plans) remaining += (await checkpointRefs(saver, p.threadId)).length;
    else if (keepLatest) remaining = kept;
    const summary = {
      url: backend.spec.display,
      strategy,
      dryRun,
      ...(cutoff ? { olderThan: values["older-than"], cutoff: cutoff.toISOString() } : {}),
      threads: plans.length,
      checkpointsRemoved: before - remaining,
      checkpointsKept: remaining,
      threadIds: plans.map((p) => p.threadId),
    };
    if (values.json) {
      io.out(toJson(summary));
      return 0;
    }
    const verb = dryRun ? "Would remove" : "Removed";
    if (plans.length === 0) {
      io.out(cutoff ? `No thread has its latest checkpoint before ${cutoff.toISOString()}: nothing to remove\n` : "No threads: nothing to prune\n");
      return 0;
    }
    io.out(planTable(plans, keepLatest));
    io.out(`${describePlan(plans, keepLatest, verb, before, remaining, values["older-than"], cutoff)}\n`);
    return 0;
  } finally {
    await backend.close();
  }
}

const TABLE_ROWS = 20;

/** The threads of a plan as a table (the first 20 of them, then how many more). */
function planTable(plans: ThreadPlan[], keepLatest: boolean): string {
  const shown = plans.slice(0, TABLE_ROWS);
  const more = plans.length - shown.length;
  return (
    table(
      keepLatest ? ["thread", "checkpoints", "kept"] : ["thread", "checkpoints", "latest"],
      shown.map((p) => [p.threadId, String(p.checkpoints), keepLatest ? String(p.namespaces) : (p.latest ?? "")]),
    ) + (more > 0 ? `… and ${plural(more, "more thread")}\n` : "")
  );
}

function describePlan(plans: ThreadPlan[], keepLatest: boolean, verb: string, before: number, kept: number, olderThan: string | undefined, cutoff: Date | undefined): string {
  if (keepLatest) {
    return `${verb} ${plural(before - kept, "checkpoint")} (with their pending writes) from ${plural(plans.length, "thread")}; kept ${plural(kept, "checkpoint")}, the latest of each namespace`;
  }
  return `${verb} ${plural(plans.length, "thread")} (${plural(before, "checkpoint")}) whose latest checkpoint is older than ${olderThan} (before ${cutoff!.toISOString()})`;
}

async function selectThreads(saver: PersistSaver, only: string[] | undefined, cutoff: Date | undefined): Promise<Array<{ threadId: string; latest?: string }>> {
  const out: Array<{ threadId: string; latest?: string }> = [];
  if (only) {
    for (const threadId of only) {
      if (!cutoff) {
        out.push({ threadId });
        continue;
      }
      const latest = await latestTs(saver, threadId);
      if (latest !== undefined && new Date(latest) < cutoff) out.push({ threadId, latest });
    }
    return out;
  }
  // Collected before anything is removed: deleting while paging would shift the pages.
  for await (const t of allThreads(saver)) {
    if (!cutoff || new Date(t.ts) < cutoff) out.push({ threadId: t.threadId, latest: t.ts });
  }
  return out;
}

/** The `ts` of a thread's latest checkpoint (root namespace first, as `listThreads` reports it). */
async function latestTs(saver: PersistSaver, threadId: string): Promise<string | undefined> {
  const root = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
  if (root) return root.checkpoint.ts;
  for await (const t of saver.list({ configurable: { thread_id: threadId } }, { limit: 1 })) return t.checkpoint.ts;
  return undefined;
}
