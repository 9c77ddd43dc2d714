import type { Document } from "mongodb";
import type { WriteModel } from "../../src/writes.js";

/**
 * Records the commands a saver or store hands to its `Connection`, instead of sending them: which
 * collection, which operation, with which arguments, and inside which transaction. Reads answer from
 * `reply` (canned rows, chosen by the test): nothing here models MongoDB; it only shows what would be
 * sent, and in which transaction.
 */
export interface Call {
  op: string;
  collection?: string;
  args: unknown[];
  /** The transaction the call ran in (1, 2, ...), or undefined outside any. */
  txn: number | undefined;
}

export type Reply = (op: string, collection: string | undefined, args: unknown[]) => unknown;

interface FakeSession {
  txn: number;
}

const txnOf = (options: unknown): number | undefined => ((options as { session?: FakeSession } | undefined)?.session as FakeSession | undefined)?.txn;

function cursor(rows: unknown): { toArray(): Promise<unknown[]>; close(): Promise<void>; [Symbol.asyncIterator](): AsyncIterator<unknown> } {
  const list = (rows ?? []) as unknown[];
  return {
    toArray: async () => [...list],
    close: async () => {},
    async *[Symbol.asyncIterator]() {
      yield* list;
    },
  };
}

/**
 * Replaces the `Connection` methods of `target` (a saver or store) with recorders. `retryTransactions`
 * runs every transaction callback twice, the first attempt discarded, as `withTransaction` does after a
 * transient error.
 */
export function recordConnection(target: object, reply: Reply = () => undefined, options: { retryTransactions?: boolean; serverTime?: Date } = {}) {
  const calls: Call[] = [];
  let txns = 0;
  let current: number | undefined;
  const connection = (target as { connection: Record<string, unknown> }).connection;
  const record = (op: string, collection: string | undefined, args: unknown[], txn: number | undefined) => {
    calls.push({ op, collection, args, txn });
    return reply(op, collection, args);
  };
  connection.collection = (name: string) =>
    new Proxy(
      {},
      {
        get(_t, op: string) {
          return (...args: unknown[]) => {
            const result = record(op, name, args, txnOf(args[args.length - 1]));
            if (op === "find" || op === "aggregate") return cursor(result);
            return Promise.resolve(result ?? (op === "deleteMany" ? { deletedCount: 0 } : op === "distinct" ? [] : undefined));
          };
        },
      },
    );
  connection.write = async (models: WriteModel[], opts: { session?: FakeSession } = {}) => {
    for (const m of models) record(`write.${m.kind}`, m.collection, [m.filter], opts.session?.txn);
  };
  connection.writeAtomically = async (models: WriteModel[]) => {
    await (connection.inTransaction as (fn: (s: FakeSession) => Promise<void>) => Promise<void>)((session) =>
      (connection.write as (m: WriteModel[], o: object) => Promise<void>)(models, { session }),
    );
  };
  connection.inTransaction = async (fn: (session: FakeSession) => Promise<unknown>) => {
    if (current !== undefined) throw new Error("nested transaction");
    const attempts = options.retryTransactions ? 2 : 1;
    let result: unknown;
    for (let i = 0; i < attempts; i++) {
      const txn = ++txns;
      current = txn;
      calls.push({ op: "begin", args: [], txn });
      try {
        result = await fn({ txn });
      } finally {
        current = undefined;
      }
      calls.push({ op: i === attempts - 1 ? "commit" : "abort (transient error, retried)", args: [], txn });
    }
    return result;
  };
  connection.serverTime = async () => options.serverTime ?? new Date();
  connection.detect = async () => ({ maxWireVersion: 21, transactions: true, clientBulkWrite: false });
  const db = {
    listCollections: (filter: Document) => cursor(record("listCollections", undefined, [filter], undefined)),
    createCollection: async (name: string, opts: Document) => record("createCollection", name, [opts], undefined),
  };
  Object.defineProperty(connection, "db", { value: db, configurable: true });
  return { calls, transactions: () => txns };
}

/** The calls made inside transaction `txn`, as "op:collection". */
export function inTxn(calls: readonly Call[], txn: number): string[] {
  return calls.filter((c) => c.txn === txn && c.op !== "begin" && !c.op.startsWith("commit") && !c.op.startsWith("abort")).map((c) => `${c.op}:${c.collection}`);
}
