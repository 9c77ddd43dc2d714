import { describe, expect, it } from "vitest";
import * as upstream from "@langchain/langgraph-checkpoint";
import {
  READ_NAMESPACE_RULE,
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

  it("rejects empty namespaces, empty labels, '.', ':', NUL, non-strings and the langgraph root", () => {
    for (const bad of [[], [""], ["a.b"], ["a:b"], [":"], ["a\u0000b"], ["a", 1], ["langgraph", "x"], "a"]) {
      expect(() => validateNamespace(bad), JSON.stringify(bad)).toThrow(InvalidNamespaceError);
    }
    expect(() => validateNamespace(["a", ""])).toThrow(PersistenceError);
    expect(() => validateNamespacePrefix([])).not.toThrow();
    expect(() => validateNamespacePrefix(["langgraph"])).not.toThrow();
    expect(() => validateNamespacePrefix(["a.b"])).toThrow(InvalidNamespaceError);
    expect(() => validateNamespacePrefix(["a:b"])).toThrow(InvalidNamespaceError);
    expect(() => validateNamespacePrefix(["a\u0000"])).toThrow(InvalidNamespaceError);
  });

  it("raises under the given source", () => {
    const err = (() => {
      try {
        validateNamespace(["a:b"], "@x/y");
      } catch (e) {
        return e as InvalidNamespaceError;
      }
    })();
    expect(err).toBeInstanceOf(upstream.InvalidNamespaceError);
    expect(err?.source).toBe("@x/y");
    expect(err?.message).toMatch(/^\[@x\/y\] Namespace labels cannot contain ':'/);
  });

  // The rule is upstream's: the same allow/refuse decision as its `validateNamespace` (exported since 1.2)
  // for every option combination. On older versions, which lack it, this comparison is skipped.
  const upstreamValidate = (upstream as { validateNamespace?: (ns: string[], o?: { allowEmpty?: boolean; allowReservedRoot?: boolean }) => void })
    .validateNamespace;
  it.skipIf(!upstreamValidate)("decides exactly as upstream's validateNamespace, for put and for reads", () => {
    const cases: unknown[][] = [
      [],
      ["a"],
      ["a", "b", "c"],
      ["*"],
      ["a", "*"],
      ["langgraph"],
      ["langgraph", "x"],
      ["x", "langgraph"],
      ["Langgraph"],
      [""],
      ["a", ""],
      ["a.b"],
      ["."],
      ["a:b"],
      [":"],
      ["a", "b:"],
      ["a\u0000b"],
      ["\u0000"],
      ["a", 1],
      [null],
      ["a b", "é", "日本", "a/b", "%", "_", "\\", "l1\nl2"],
      ["langgraph", ""],
      ["langgraph", "a:b"],
    ];
    const decide = (f: () => void) => {
      try {
        f();
        return "allow";
      } catch (e) {
        expect(e).toBeInstanceOf(upstream.InvalidNamespaceError);
        return "refuse";
      }
    };
    for (const options of [{}, READ_NAMESPACE_RULE, { allowEmpty: true }, { allowReservedRoot: true }]) {
      for (const ns of cases) {
        const ours = decide(() => validateNamespace(ns, "@x/y", options));
        const theirs = decide(() => upstreamValidate!(ns as string[], options));
        expect(ours, `${JSON.stringify(ns)} with ${JSON.stringify(options)}`).toBe(theirs);
      }
    }
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
