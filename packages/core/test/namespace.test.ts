import { describe, expect, it } from "vitest";
import {
  InvalidNamespaceError,
  PersistenceError,
  compareNamespaces,
  decodeNamespace,
  encodeNamespace,
  hasNamespacePrefix,
  literalPrefix,
  namespacePrefixRange,
  selectNamespaces,
  validateNamespace,
  validateNamespacePrefix,
} from "../src/index.js";

describe("namespace codec", () => {
  it("encodes injectively: labels with separators of other adapters never collide", () => {
    const namespaces = [["a:b"], ["a", "b"], ["a_c"], ["abc"], ["a%"], ["ab"], ["*"], ["x"], ["a\\b"], ["a\nb"], ["ü", "日本"]];
    const encoded = namespaces.map(encodeNamespace);
    expect(new Set(encoded).size).toBe(namespaces.length);
    for (const ns of namespaces) expect(decodeNamespace(encodeNamespace(ns))).toEqual(ns);
  });

  it("rejects empty namespaces, empty labels, dots, non-strings and the langgraph root", () => {
    for (const bad of [[], [""], ["a.b"], ["a", 1], ["langgraph", "x"], "a"]) {
      expect(() => validateNamespace(bad)).toThrow(InvalidNamespaceError);
    }
    expect(() => validateNamespace(["a", ""])).toThrow(PersistenceError);
    expect(() => validateNamespacePrefix([])).not.toThrow();
    expect(() => validateNamespacePrefix(["a.b"])).toThrow(InvalidNamespaceError);
  });

  it("prefix matching respects segment boundaries", () => {
    expect(hasNamespacePrefix(["a", "b"], ["a"])).toBe(true);
    expect(hasNamespacePrefix(["ab"], ["a"])).toBe(false);
    expect(hasNamespacePrefix(["a"], [])).toBe(true);
    expect(hasNamespacePrefix(["a"], ["a", "b"])).toBe(false);
  });

  it("prefix range covers exactly the namespaces under the prefix", () => {
    const r = namespacePrefixRange(["a"])!;
    const under = (n: string) => n === r.exact || (n >= r.lower && n < r.upper);
    expect(under(encodeNamespace(["a"]))).toBe(true);
    expect(under(encodeNamespace(["a", "zzz"]))).toBe(true);
    expect(under(encodeNamespace(["a", "\u{10FFFF}"]))).toBe(true);
    expect(under(encodeNamespace(["ab"]))).toBe(false);
    expect(under(encodeNamespace(["a-"]))).toBe(false);
    expect(under(encodeNamespace(["a/"]))).toBe(false);
    expect(namespacePrefixRange([])).toBeNull();
  });

  it("selectNamespaces applies wildcards, truncates with maxDepth, de-duplicates, sorts and pages", () => {
    const all = [["r", "a", "b", "c"], ["r", "a", "x"], ["r", "b"], ["q", "a"], ["r", "a-b"]];
    expect(selectNamespaces(all, { matchConditions: [{ matchType: "prefix", path: ["r", "*"] }], maxDepth: 2, limit: 10, offset: 0 })).toEqual([
      ["r", "a"],
      ["r", "a-b"],
      ["r", "b"],
    ]);
    expect(selectNamespaces(all, { matchConditions: [{ matchType: "suffix", path: ["*", "a"] }], limit: 10, offset: 0 })).toEqual([["q", "a"]]);
    expect(selectNamespaces(all, { limit: 2, offset: 1 })).toEqual([["r", "a", "b", "c"], ["r", "a", "x"]]);
    expect(compareNamespaces(["a"], ["a", "b"])).toBeLessThan(0);
    expect(literalPrefix([{ matchType: "prefix", path: ["a", "*", "c"] }])).toEqual(["a"]);
  });
});
