import { expect } from "vitest";
import { InvalidNamespaceError, PersistenceError, type PersistStore, type PersistStoreOptions } from "@langgraph-persist/core";
import { InvalidNamespaceError as UpstreamInvalidNamespaceError, type Item } from "@langchain/langgraph-checkpoint";
import { conformanceGroup, conformanceTest, uniqueId } from "../define.js";
import type { StoreHarness } from "../harness.js";

type Requirement = [capability: string, available: boolean];

/** What every store group body gets: fresh tracked stores, a test registrar and the capability flags. */
export interface StoreKit {
  /** A new store (setup already ran), destroyed after the current test. */
  store(options?: PersistStoreOptions): Promise<PersistStore>;
  /** A second store on the same data (`createPeer`, else `create`), destroyed after the current test. */
  peer(options?: PersistStoreOptions): Promise<PersistStore>;
  /** A namespace root no other test uses. */
  root(): string;
  test(name: string, fn: () => Promise<void>, options?: { requires?: Requirement[]; timeout?: number }): void;
  requires: { ttl: Requirement; vectorSearch: Requirement };
  harness: StoreHarness;
}

export function storeGroup(title: string, harness: StoreHarness, body: (kit: StoreKit) => void): void {
  conformanceGroup<PersistStore>(title, harness, (track) => {
    body({
      store: async (options) => track(await harness.create(options)),
      peer: async (options) => track(await (harness.createPeer ?? harness.create).call(harness, options)),
      root: () => uniqueId("store"),
      test: (name, fn, options) => conformanceTest(harness.exclude, name, fn, options),
      requires: {
        ttl: ["ttl", harness.capabilities.ttl],
        vectorSearch: ["vectorSearch", harness.capabilities.vectorSearch],
      },
      harness,
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Asserts that `call` returns a promise that rejects with `type` (always a `PersistenceError`).
 * A synchronous throw fails the assertion: callers of an async API only see rejections.
 */
export async function expectRejection(call: () => Promise<unknown>, type: abstract new (...args: never[]) => Error): Promise<Error> {
  let pending: Promise<unknown>;
  try {
    pending = call();
  } catch (err) {
    throw new Error(`expected a rejected promise, but the call threw synchronously: ${String(err)}`);
  }
  const outcome = await pending.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected a rejection with ${type.name}, but the call resolved to ${safeJson(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(type);
  expect(outcome.error).toBeInstanceOf(PersistenceError);
  return outcome.error as Error;
}

/**
 * The namespace rule, equal to upstream's `validateNamespace` (@langchain/langgraph-checkpoint): every
 * label is a string, non-empty, without '.', ':' or NUL. `put` (and a put in `batch()`) also refuses the
 * empty namespace and the reserved root label `langgraph`; get, search, delete and the listNamespaces
 * prefix and suffix accept both (upstream's `{ allowEmpty: true, allowReservedRoot: true }`).
 * These are the labels every operation refuses.
 */
export const BAD_LABELS: ReadonlyArray<[what: string, label: unknown]> = [
  ["':'", "a:b"],
  ["':' alone", ":"],
  ["NUL", "a\u0000b"],
  ["'.'", "a.b"],
  ["an empty label", ""],
  ["a non-string label", 7],
  ["a null label", null],
];

/**
 * Asserts that `call` rejects with the store's `InvalidNamespaceError`: an instance of upstream's
 * `InvalidNamespaceError` (what code written against the official stores catches) and of our
 * `PersistenceError`, raised under the store's own package name (`source` and the `[source] ` prefix).
 */
export async function expectInvalidNamespace(store: PersistStore, call: () => Promise<unknown>, context?: string): Promise<Error> {
  try {
    const err = await expectRejection(call, InvalidNamespaceError);
    expect(err).toBeInstanceOf(UpstreamInvalidNamespaceError);
    expect(err.name).toBe("InvalidNamespaceError");
    const source = (store as unknown as { source: string }).source;
    expect((err as PersistenceError).source).toBe(source);
    expect(err.message.startsWith(`[${source}] `), err.message).toBe(true);
    return err;
  } catch (failure) {
    if (context !== undefined && failure instanceof Error) failure.message = `${context}: ${failure.message}`;
    throw failure;
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Puts items one at a time with a pause between them, so each has a distinct `updatedAt`. */
export async function putInOrder(store: PersistStore, namespace: string[], entries: Array<[key: string, value: Record<string, unknown>]>): Promise<void> {
  for (let i = 0; i < entries.length; i++) {
    if (i > 0) await sleep(5);
    await store.put(namespace, entries[i][0], entries[i][1]);
  }
}

export function keysOf(items: readonly Item[]): string[] {
  return items.map((i) => i.key);
}

export function sortedKeys(items: readonly Item[]): string[] {
  return keysOf(items).sort();
}

/** Cosine similarity, computed here so the suite does not trust the code under test. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / (Math.sqrt(na) * Math.sqrt(nb));
}

/** Euclidean distance of two vectors. */
export function euclidean(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return Math.sqrt(sum);
}

/** Dot product of two vectors. */
export function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

export type DistanceType = "cosine" | "l2" | "inner_product";

/**
 * The score a search returns for `distanceType` (higher = more similar): cosine similarity (0 when a
 * vector is zero), the negated Euclidean distance, or the inner product.
 */
export function expectedSimilarity(distanceType: DistanceType, a: readonly number[], b: readonly number[]): number {
  if (distanceType === "l2") return -euclidean(a, b);
  if (distanceType === "inner_product") return dot(a, b);
  return cosine(a, b);
}

/** Label-wise prefix test with `*` as a one-label wildcard (listNamespaces semantics). */
export function matchesPath(namespace: readonly string[], path: readonly string[], matchType: "prefix" | "suffix"): boolean {
  if (path.length > namespace.length) return false;
  const start = matchType === "prefix" ? 0 : namespace.length - path.length;
  return path.every((label, i) => label === "*" || label === namespace[start + i]);
}

/** Label-wise prefix test without wildcards (search semantics). */
export function startsWith(namespace: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= namespace.length && prefix.every((label, i) => label === namespace[i]);
}

/** Label by label, in UTF-16 code-unit order; a namespace sorts before its children. */
export function compareLabels(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}
