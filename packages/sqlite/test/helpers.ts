import type { RunnableConfig } from "@langchain/core/runnables";
import { emptyCheckpoint, uuid6, type Checkpoint, type CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import type { PersistSaver } from "@langgraph-persist/core";
import type { SqliteDatabase } from "../src/index.js";

export interface Execution {
  sql: string;
  method: "run" | "get" | "all" | "iterate" | "exec";
}

/**
 * Wraps a real better-sqlite3 handle so every statement execution is recorded: `prepare` returns
 * statements whose run/get/all/iterate calls are logged with their SQL. Nothing is faked: the calls go
 * to the real database.
 */
export class StatementLog {
  readonly executed: Execution[] = [];

  wrap(db: SqliteDatabase): SqliteDatabase {
    const log = this;
    return new Proxy(db, {
      get(target, prop) {
        if (prop === "prepare") return (sql: string) => log.wrapStatement(target.prepare(sql), sql);
        const value = Reflect.get(target, prop, target) as unknown;
        if (prop === "exec" && typeof value === "function") {
          return (sql: string) => {
            log.executed.push({ sql, method: "exec" });
            return (value as (s: string) => unknown).call(target, sql);
          };
        }
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private wrapStatement<T extends object>(stmt: T, sql: string): T {
    const log = this;
    return new Proxy(stmt, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== "function") return value;
        if (prop === "run" || prop === "get" || prop === "all" || prop === "iterate") {
          return (...args: unknown[]) => {
            log.executed.push({ sql, method: prop });
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
  }

  /** Runs `fn` and returns the statements it executed. */
  async during(fn: () => Promise<unknown>): Promise<Execution[]> {
    const start = this.executed.length;
    await fn();
    return this.executed.slice(start);
  }
}

export function isBegin(e: Execution): boolean {
  return /^BEGIN\b/i.test(e.sql.trim());
}

export function isCommit(e: Execution): boolean {
  return /^COMMIT\b/i.test(e.sql.trim());
}

export function config(threadId: string, checkpointId?: string, checkpointNs = ""): RunnableConfig {
  const configurable: Record<string, unknown> = { thread_id: threadId, checkpoint_ns: checkpointNs };
  if (checkpointId !== undefined) configurable.checkpoint_id = checkpointId;
  return { configurable };
}

export function metadata(step: number, extra: Record<string, unknown> = {}): CheckpointMetadata {
  return { source: "loop", step, parents: {}, ...extra } as CheckpointMetadata;
}

/** Writes a chain of checkpoints to one thread, each changing `counter` and `messages`, with one write each. */
export async function writeChain(saver: PersistSaver, threadId: string, steps: number, ns = ""): Promise<string[]> {
  const ids: string[] = [];
  let parent: RunnableConfig = config(threadId, undefined, ns);
  let versions: Record<string, string | number> = {};
  const messages: string[] = [];
  for (let i = 0; i < steps; i++) {
    const cp: Checkpoint = emptyCheckpoint();
    cp.id = uuid6(-1);
    messages.push(`message ${i}`);
    const next = { counter: saver.getNextVersion(versions.counter), messages: saver.getNextVersion(versions.messages) };
    versions = { ...versions, ...next };
    cp.channel_values = { counter: i, messages: [...messages] };
    cp.channel_versions = { ...versions };
    parent = await saver.put(parent, cp, metadata(i, { parity: i % 2 === 0 ? "even" : "odd" }), next);
    await saver.putWrites(parent, [["counter", i + 1]], `task-${i}`);
    ids.push(cp.id);
  }
  return ids;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}
