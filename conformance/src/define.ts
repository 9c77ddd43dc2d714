import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import type { Exclusion } from "./harness.js";
import { unmetVersions, type VersionRequirement } from "./versions.js";

export interface ConformanceTestOptions {
  /** Capabilities the test needs, with whether the harness declares them. */
  requires?: Array<[capability: string, available: boolean]>;
  /** Versions of the installed LangChain packages the test applies to. */
  versions?: VersionRequirement[];
  timeout?: number;
}

/**
 * Registers one conformance test. A test is skipped only when the harness lacks a declared
 * capability (`requires`), the installed packages are outside its `versions`, or the harness
 * excludes it by exact name — never silently: the reason is part of the skipped test's name.
 */
export function conformanceTest(exclusions: readonly Exclusion[] | undefined, name: string, fn: () => Promise<void>, options: ConformanceTestOptions = {}): void {
  const missing = (options.requires ?? []).filter(([, ok]) => !ok).map(([c]) => c);
  const excluded = exclusions?.find((e) => e.test === name);
  const outside = unmetVersions(options.versions);
  if (excluded) {
    it.skip(`${name} [excluded: ${excluded.reason}]`, fn);
  } else if (missing.length > 0) {
    it.skip(`${name} [capability not declared: ${missing.join(", ")}]`, fn);
  } else if (outside.length > 0) {
    it.skip(`${name} [${outside.join("; ")}]`, fn);
  } else {
    it(name, fn, options.timeout ?? 30_000);
  }
}

/**
 * Wraps a group: runs the harness's setup/teardown once, and tracks instances so each test's
 * instances are destroyed after it even when it fails.
 */
export function conformanceGroup<T>(
  title: string,
  harness: { setup?(): Promise<void>; teardown?(): Promise<void>; destroy?(x: T): Promise<void> },
  body: (track: (x: T) => T) => void,
): void {
  describe(title, () => {
    const live: T[] = [];
    beforeAll(async () => {
      await harness.setup?.();
    }, 120_000);
    afterEach(async () => {
      const items = live.splice(0);
      for (const x of items) {
        if (harness.destroy) await harness.destroy(x);
        else await (x as { close?: () => Promise<void> }).close?.();
      }
    });
    afterAll(async () => {
      await harness.teardown?.();
    }, 60_000);
    body((x) => {
      live.push(x);
      return x;
    });
  });
}

let counter = 0;
/** A unique id for one test's threads or namespaces, so tests share one database safely. */
export function uniqueId(prefix = "t"): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}
