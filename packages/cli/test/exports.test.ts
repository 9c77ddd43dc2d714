import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

/**
 * Every class a package exports keeps its own name in the built output, in both module formats:
 * `constructor.name`, stack traces, logs and `JSON.stringify` (BaseCheckpointSaver.toJSON) show it.
 */
const PACKAGES = [
  "@langgraph-persist/core",
  "@langgraph-persist/memory",
  "@langgraph-persist/sqlite",
  "@langgraph-persist/postgres",
  "@langgraph-persist/redis",
  "@langgraph-persist/mongodb",
];
/** The suite imports vitest, which cannot be loaded through require() inside a vitest run. */
const ESM_ONLY_HERE = ["@langgraph-persist/conformance"];

const require = createRequire(import.meta.url);

function isClass(value: unknown): value is abstract new (...args: never[]) => unknown {
  return typeof value === "function" && /^class\b/.test(Function.prototype.toString.call(value));
}

function exportedClasses(mod: Record<string, unknown>): Array<[string, { name: string }]> {
  return Object.entries(mod).filter((entry): entry is [string, { name: string }] => isClass(entry[1]));
}

describe("exported classes keep their names", () => {
  for (const pkg of PACKAGES) {
    it(`${pkg} (ESM and CommonJS)`, async () => {
      const esm = exportedClasses((await import(pkg)) as Record<string, unknown>);
      const cjs = exportedClasses(require(pkg) as Record<string, unknown>);
      expect(esm.length, "the package exports classes").toBeGreaterThan(0);
      expect(cjs.map(([n]) => n).sort()).toEqual(esm.map(([n]) => n).sort());
      for (const [exportName, cls] of [...esm, ...cjs]) expect(cls.name, `${pkg} export ${exportName}`).toBe(exportName);
    });
  }
  for (const pkg of ESM_ONLY_HERE) {
    it(`${pkg} (ESM)`, async () => {
      const esm = exportedClasses((await import(pkg)) as Record<string, unknown>);
      expect(esm.length, "the package exports classes").toBeGreaterThan(0);
      for (const [exportName, cls] of esm) expect(cls.name, `${pkg} export ${exportName}`).toBe(exportName);
    });
  }

  it("a saver names itself in JSON", async () => {
    const { MemorySaver } = await import("@langgraph-persist/memory");
    expect(JSON.stringify({ checkpointer: new MemorySaver() })).toBe('{"checkpointer":"[MemorySaver]"}');
  });
});
