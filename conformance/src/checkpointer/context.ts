import { expect } from "vitest";
import { PersistenceError, type PersistSaver, type SaverCapabilities } from "@langgraph-persist/core";
import { conformanceGroup, conformanceTest, type ConformanceTestOptions } from "../define.js";
import type { SaverCreateOptions, SaverHarness } from "../harness.js";

export interface SaverGroupContext {
  harness: SaverHarness;
  caps: SaverCapabilities;
  /** A new saver, destroyed after the test. */
  fresh(options?: SaverCreateOptions): Promise<PersistSaver>;
  /** A second saver on the same data (`createPeer`, else `create`), destroyed after the test. */
  peer(options?: SaverCreateOptions): Promise<PersistSaver>;
  test(name: string, fn: () => Promise<void>, options?: ConformanceTestOptions): void;
}

/** Registers one group of checkpointer tests with per-test instance tracking. */
export function saverGroup(harness: SaverHarness, title: string, body: (ctx: SaverGroupContext) => void): void {
  conformanceGroup<PersistSaver>(title, harness, (track) => {
    body({
      harness,
      caps: harness.capabilities,
      fresh: async (options) => track(await harness.create(options)),
      peer: async (options) => track(await (harness.createPeer ?? harness.create).call(harness, options)),
      test: (name, fn, options) => conformanceTest(harness.exclude, name, fn, options),
    });
  });
}

/** Asserts that `action` rejects with an instance of `type` (and therefore of `PersistenceError`). */
export async function expectTypedError(
  action: Promise<unknown> | (() => Promise<unknown>),
  type: abstract new (...args: never[]) => Error,
  what: string,
): Promise<Error> {
  let caught: unknown;
  try {
    await (typeof action === "function" ? action() : action);
  } catch (err) {
    caught = err;
  }
  expect(caught, `${what} should reject`).toBeDefined();
  expect(caught, `${what} should reject with ${type.name}, got ${String(caught)}`).toBeInstanceOf(type);
  expect(caught, `${what}: ${type.name} should extend PersistenceError`).toBeInstanceOf(PersistenceError);
  return caught as Error;
}
