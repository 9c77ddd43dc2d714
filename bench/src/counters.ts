import pg from "pg";
import Database from "better-sqlite3";
import { Redis } from "ioredis";

/**
 * Work sent to a database, counted by wrapping the drivers' prototypes, so every client — ours, the
 * official adapters' and the floors' — is counted the same way without the adapters knowing. The bench
 * runs one operation at a time, so the counts between two snapshots belong to that operation.
 */
export interface Counts {
  /** Statements executed (Postgres: `Client.query`; SQLite: statement runs, `exec`, and BEGIN + COMMIT per transaction; Redis: commands). */
  queries: number;
  /** SQLite: statements compiled with `prepare()` (a cached statement is compiled once). */
  prepares: number;
  /** Redis: times the client waited for the server (a pipeline or commands sent together count once). */
  roundTrips: number;
  /**
   * Wall time (ms) with at least one driver call in progress: from sending a statement until its result
   * is parsed (Postgres, Redis), or inside a synchronous statement or transaction call (SQLite).
   */
  driverMs: number;
}

const counts: Counts = { queries: 0, prepares: 0, roundTrips: 0, driverMs: 0 };

let busy = 0;
let busySince = 0;
function begin(): void {
  if (busy++ === 0) busySince = performance.now();
}
function end(): void {
  if (--busy === 0) counts.driverMs += performance.now() - busySince;
}

export function snapshot(): Counts {
  return { ...counts };
}

export function diff(before: Counts, after: Counts = snapshot()): Counts {
  return {
    queries: after.queries - before.queries,
    prepares: after.prepares - before.prepares,
    roundTrips: after.roundTrips - before.roundTrips,
    driverMs: after.driverMs - before.driverMs,
  };
}

let installed = false;

export function installCounters(): void {
  if (installed) return;
  installed = true;

  // Postgres: Pool.query and prepared statements all end in Client.query, once per statement.
  const pgProto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const pgQuery = pgProto.query;
  pgProto.query = function (this: unknown, ...args: unknown[]) {
    counts.queries++;
    const first = args[0] as { submit?: unknown } | undefined;
    if (typeof first?.submit === "function") return pgQuery.apply(this, args); // a cursor: counted, not timed
    const at = typeof args[1] === "function" ? 1 : typeof args[2] === "function" ? 2 : -1;
    begin();
    if (at >= 0) {
      const callback = args[at] as (...a: unknown[]) => unknown;
      args[at] = (...a: unknown[]) => {
        end();
        return callback(...a);
      };
      return pgQuery.apply(this, args);
    }
    const out = pgQuery.apply(this, args) as Promise<unknown>;
    out.then(end, end);
    return out;
  };

  // SQLite: statements are native objects sharing one prototype; transactions are a JS wrapper that
  // issues BEGIN and COMMIT (or SAVEPOINT and RELEASE) around the function.
  const probe = new Database(":memory:");
  const stmtProto = Object.getPrototypeOf(probe.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => unknown>;
  probe.close();
  const timed = <T>(fn: () => T): T => {
    begin();
    try {
      return fn();
    } finally {
      end();
    }
  };
  for (const method of ["run", "get", "all"]) {
    const original = stmtProto[method];
    stmtProto[method] = function (this: unknown, ...args: unknown[]) {
      counts.queries++;
      return timed(() => original.apply(this, args));
    };
  }
  const iterate = stmtProto.iterate;
  stmtProto.iterate = function (this: unknown, ...args: unknown[]) {
    counts.queries++;
    const it = timed(() => iterate.apply(this, args)) as IterableIterator<unknown>;
    const wrapped: IterableIterator<unknown> = {
      next: (...a: [] | [unknown]) => timed(() => it.next(...a)),
      return: (value?: unknown) => timed(() => it.return?.(value) ?? { done: true, value: undefined }),
      [Symbol.iterator]() {
        return wrapped;
      },
    };
    return wrapped;
  };
  const dbProto = Database.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const prepare = dbProto.prepare;
  dbProto.prepare = function (this: unknown, ...args: unknown[]) {
    counts.prepares++;
    return prepare.apply(this, args);
  };
  const exec = dbProto.exec;
  dbProto.exec = function (this: unknown, ...args: unknown[]) {
    counts.queries++;
    return timed(() => exec.apply(this, args));
  };
  const transaction = dbProto.transaction;
  dbProto.transaction = function (this: unknown, ...args: unknown[]) {
    const tx = transaction.apply(this, args) as ((...a: unknown[]) => unknown) & Record<string, (...a: unknown[]) => unknown>;
    const wrap = (fn: (...a: unknown[]) => unknown) =>
      function (this: unknown, ...a: unknown[]) {
        counts.queries += 2;
        return timed(() => fn.apply(this, a));
      };
    const wrapped = wrap(tx) as typeof tx;
    for (const mode of ["default", "deferred", "immediate", "exclusive"]) wrapped[mode] = wrap(tx[mode]);
    return wrapped;
  };

  // Redis (ioredis): every command, pipelined or not, goes through sendCommand. A command sent while
  // none is in flight starts a new round trip; commands of a pipeline are sent together.
  const redisProto = Redis.prototype as unknown as { sendCommand: (command: { promise: Promise<unknown> }, ...rest: unknown[]) => unknown };
  const sendCommand = redisProto.sendCommand;
  let inFlight = 0;
  redisProto.sendCommand = function (this: unknown, command, ...rest) {
    counts.queries++;
    if (inFlight === 0) counts.roundTrips++;
    inFlight++;
    begin();
    const done = () => {
      inFlight--;
      end();
    };
    command.promise.then(done, done);
    return sendCommand.call(this, command, ...rest);
  };
}
