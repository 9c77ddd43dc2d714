import { describe, expect, it } from "vitest";
import { InvalidNamespaceError as UpstreamInvalidNamespaceError } from "@langchain/langgraph-checkpoint";
import {
  BackendError,
  InvalidArgumentError,
  InvalidNamespaceError,
  PersistenceError,
  isPersistenceError,
  reissue,
  toPersistenceError,
} from "../src/index.js";

describe("InvalidNamespaceError", () => {
  it("is upstream's InvalidNamespaceError, a PersistenceError and an Error", () => {
    const err = new InvalidNamespaceError("@x/y", "bad label");
    expect(err).toBeInstanceOf(UpstreamInvalidNamespaceError);
    expect(err).toBeInstanceOf(InvalidNamespaceError);
    expect(err).toBeInstanceOf(PersistenceError);
    expect(err).toBeInstanceOf(Error);
    expect(err instanceof PersistenceError).toBe(true);
    expect(isPersistenceError(err)).toBe(true);
  });

  it("keeps name, source, the [source] message prefix and cause", () => {
    const cause = new Error("root cause");
    const err = new InvalidNamespaceError("@x/y", "bad label", { cause });
    expect(err.name).toBe("InvalidNamespaceError");
    expect(err.source).toBe("@x/y");
    expect(err.message).toBe("[@x/y] bad label");
    expect(err.cause).toBe(cause);
    expect(Object.keys(err)).not.toContain("cause");
    expect(String(err)).toBe("InvalidNamespaceError: [@x/y] bad label");
    expect("cause" in new InvalidNamespaceError("@x/y", "no cause")).toBe(false);
  });

  it("does not make other classes of the family match it, nor it match them", () => {
    const err = new InvalidNamespaceError("@x/y", "bad label");
    expect(err instanceof BackendError).toBe(false);
    expect(err instanceof InvalidArgumentError).toBe(false);
    expect(new BackendError("@x/y", "boom") instanceof InvalidNamespaceError).toBe(false);
    expect(new BackendError("@x/y", "boom") instanceof UpstreamInvalidNamespaceError).toBe(false);
    expect(new BackendError("@x/y", "boom") instanceof PersistenceError).toBe(true);
    expect(new InvalidArgumentError("@x/y", "bad") instanceof BackendError).toBe(false);
  });

  it("is not confused with upstream's own InvalidNamespaceError or a plain Error", () => {
    const theirs = new UpstreamInvalidNamespaceError("bad");
    expect(theirs instanceof PersistenceError).toBe(false);
    expect(theirs instanceof InvalidNamespaceError).toBe(false);
    expect(isPersistenceError(theirs)).toBe(false);
    expect(isPersistenceError(new Error("x"))).toBe(false);
    expect(isPersistenceError("x")).toBe(false);
    expect(isPersistenceError(null)).toBe(false);
    expect(isPersistenceError(new BackendError("@x/y", "boom"))).toBe(true);
  });

  it("passes through toPersistenceError unwrapped", () => {
    const err = new InvalidNamespaceError("@x/y", "bad label");
    expect(toPersistenceError("@x/z", "batch", err)).toBe(err);
    const wrapped = toPersistenceError("@x/z", "batch", new UpstreamInvalidNamespaceError("theirs"));
    expect(wrapped).toBeInstanceOf(BackendError);
  });

  it("is re-issued under the calling package, as the same class, keeping the original's cause (none here)", () => {
    const err = new InvalidNamespaceError("@langgraph-persist/core", "bad label");
    const again = reissue(err, "@x/adapter") as InvalidNamespaceError;
    expect(again).toBeInstanceOf(InvalidNamespaceError);
    expect(again).toBeInstanceOf(UpstreamInvalidNamespaceError);
    expect(again).toBeInstanceOf(PersistenceError);
    expect(again.source).toBe("@x/adapter");
    expect(again.message).toBe("[@x/adapter] bad label");
    expect(again.cause).toBeUndefined();
    expect(reissue(again, "@x/adapter")).toBe(again);
  });
});
