import { describe, expect, it } from "vitest";
import {
  BackendError,
  InvalidArgumentError,
  InvalidFilterError,
  PersistenceError,
  SerializationError,
  TimeoutError,
  describeCause,
  reissue,
  timeoutError,
  toPersistenceError,
} from "../src/index.js";

/** Every message of the chain `err`, `err.cause`, ... without the `[source] ` prefix. */
function chain(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err; e instanceof Error && out.length < 10; e = e.cause) out.push(e.message.replace(/^\[[^\]]+\] /, ""));
  return out;
}

describe("error messages and causes", () => {
  it("toPersistenceError states the action and the cause's message once; cause is the original error", () => {
    const original = new TypeError("Do not know how to serialize a BigInt");
    const err = toPersistenceError("@x/pg", "batch", original);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toBe("[@x/pg] batch failed: Do not know how to serialize a BigInt");
    expect(err.cause).toBe(original);
    expect(err.message.split("Do not know how to serialize a BigInt")).toHaveLength(2);
  });

  it("an error without a message (AggregateError of refused connections) is described by the errors it holds", () => {
    const refused = new AggregateError([new Error("connect ECONNREFUSED ::1:5432"), new Error("connect ECONNREFUSED 127.0.0.1:5432")], "");
    const err = toPersistenceError("@x/pg", "setup()", refused);
    expect(err.message).toBe("[@x/pg] setup() failed: connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432");
    expect(err.cause).toBe(refused);
    expect(describeCause("text")).toBe("text");
    expect(describeCause(Object.assign(new Error(""), { code: "ECONNRESET" }))).toBe("Error ECONNRESET");
  });

  it("a re-issued error does not carry a copy of itself as its cause", () => {
    const fromCore = new InvalidFilterError("@langgraph-persist/core", 'Unknown filter operator "$foo" on "v"');
    const again = reissue(fromCore, "@x/sqlite") as PersistenceError;
    expect(again).toBeInstanceOf(InvalidFilterError);
    expect(again.message).toBe('[@x/sqlite] Unknown filter operator "$foo" on "v"');
    expect(again.cause).toBeUndefined();
    expect(chain(again)).toEqual(['Unknown filter operator "$foo" on "v"']);
    // The stack still points at where core raised it.
    expect(again.stack).toContain(fromCore.stack!.split("\n")[1]);
  });

  it("a re-issued error keeps the original cause, and no message of the chain repeats the next one", () => {
    const root = new TypeError("cyclic structure");
    const fromCore = new SerializationError("@langgraph-persist/core", "Value cannot be serialised: cyclic structure", { cause: root });
    const again = reissue(fromCore, "@x/redis") as PersistenceError;
    expect(again.cause).toBe(root);
    const messages = chain(again);
    expect(messages).toEqual(["Value cannot be serialised: cyclic structure", "cyclic structure"]);
    for (let i = 1; i < messages.length; i++) expect(messages[i]).not.toBe(messages[i - 1]);
    expect(reissue(again, "@x/redis")).toBe(again);
    expect(reissue(new Error("plain"), "@x/redis")).toBeInstanceOf(Error);
  });

  it("InvalidArgumentError raised by core and re-issued has no cause", () => {
    const again = reissue(new InvalidArgumentError("@langgraph-persist/core", "thread_id must be a non-empty string"), "@x/mem") as Error;
    expect(again.cause).toBeUndefined();
  });
});

describe("TimeoutError", () => {
  it("is a BackendError that says what timed out, where and after how long", () => {
    const cause = new Error("timeout expired");
    const err = timeoutError("@x/pg", "setup()", { phase: "connect", backend: "PostgreSQL", target: "db.internal:5432", timeoutMs: 2500, setting: "connectTimeoutMs", cause });
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toBeInstanceOf(PersistenceError);
    expect(err.name).toBe("TimeoutError");
    expect(err.message).toBe("[@x/pg] setup() failed: connecting to PostgreSQL at db.internal:5432 timed out after 2500 ms (connectTimeoutMs)");
    expect(err.phase).toBe("connect");
    expect(err.target).toBe("db.internal:5432");
    expect(err.timeoutMs).toBe(2500);
    expect(err.cause).toBe(cause);
    const command = timeoutError("@x/redis", "put", { phase: "command", backend: "Redis", target: "r:6379", timeoutMs: 100, setting: "commandTimeoutMs" });
    expect(command.message).toBe("[@x/redis] put failed: a command to Redis at r:6379 got no answer after 100 ms (commandTimeoutMs)");
    expect(command.cause).toBeUndefined();
  });

  it("keeps phase, target and timeout when re-issued", () => {
    const err = timeoutError("@langgraph-persist/core", "put", { phase: "command", backend: "X", target: "h:1", timeoutMs: 5, setting: "s" });
    const again = reissue(err, "@x/adapter") as TimeoutError;
    expect(again).toBeInstanceOf(TimeoutError);
    expect([again.phase, again.target, again.timeoutMs, again.source]).toEqual(["command", "h:1", 5, "@x/adapter"]);
  });
});
