import { describe, expect, it } from "vitest";
import { AIMessage, HumanMessage, SystemMessage } from "@langchain/core/messages";
import { PersistSerializer } from "../src/serde.js";
import { copyTree, elementSnapshot, elementSnapshots, InstanceSnapshot, plainTree, sameAsSnapshot, sameAsTree } from "../src/plain.js";

const serde = new PersistSerializer();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Plain JSON trees: the serializer writes them as JSON.stringify does and reads them back as JSON.parse does. */
const PLAIN: unknown[] = [
  [],
  [null, 0, -0, 1.5, 1e21, "text with \u2028, \ud800 and \u{1F600}", true, false],
  [{ role: "user", content: "hi", id: "m1" }, { role: "ai", content: "", meta: { n: 1, tags: ["a", { deep: [[]] }] } }],
  [{ "1": "integer-like keys first", b: 1, a: 2 }],
  [Object.assign(Object.create(null), { nullProto: true })],
];

/** Values that are not plain JSON trees, each inside an array as a channel would hold it. */
const NOT_PLAIN: Array<[string, unknown]> = [
  ["undefined", [undefined]],
  ["a hole", [1, , 3]], // eslint-disable-line no-sparse-arrays
  ["NaN", [Number.NaN]],
  ["Infinity", [{ n: Number.POSITIVE_INFINITY }]],
  ["a Date", [new Date(0)]],
  ["a bigint", [1n]],
  ["a function", [() => 1]],
  ["a symbol", [Symbol("s")]],
  ["a class instance", [new HumanMessage("hi")]],
  ["a Map", [new Map([["a", 1]])]],
  ["a typed array", [new Uint8Array(2)]],
  ["an `lc` key", [{ lc: 1, type: "constructor", id: ["x"], kwargs: {} }]],
  ["a `__proto__` key", [JSON.parse('{"__proto__": {"polluted": true}}')]],
  ["an undefined property", [{ a: undefined }]],
  ["an Array subclass", [new (class extends Array {})()]],
];

describe("plain JSON trees", () => {
  it("stand in for the serializer's bytes: same JSON written, same value read", async () => {
    for (const value of PLAIN) {
      const tree = plainTree(value);
      expect(tree, JSON.stringify(value)).toBeDefined();
      const [type, data] = await serde.dumpsTyped(value);
      expect(type).toBe("json");
      expect(JSON.stringify(tree)).toBe(text(data));
      const read = await serde.loadsTyped(type, data);
      expect(copyTree(tree)).toStrictEqual(read);
      expect(Object.is((copyTree(plainTree([-0])) as number[])[0], 0), "-0 reads back as 0").toBe(true);
      expect(sameAsTree(value, tree)).toBe(true);
      expect(sameAsTree(read, tree), "a value read back compares equal").toBe(true);
    }
  });

  it("reject anything else, so the serializer handles it", () => {
    for (const [what, value] of NOT_PLAIN) {
      expect(plainTree(value), what).toBeUndefined();
      expect(sameAsTree(value, [null]), what).toBe(false);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(plainTree([cyclic]), "a cycle").toBeUndefined();
    let deep: unknown = "leaf";
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(plainTree(deep), "very deep nesting").toBeUndefined();
  });

  it("compare unequal on every change that changes the JSON", () => {
    const base = () => [{ role: "user", content: "hi", meta: { n: 1, tags: ["a"] } }];
    const tree = plainTree(base());
    const changes: Array<[string, (v: ReturnType<typeof base>) => unknown]> = [
      ["content", (v) => (v[0].content = "other")],
      ["nested number", (v) => (v[0].meta.n = 2)],
      ["nested array grew", (v) => v[0].meta.tags.push("b")],
      ["key order", (v) => { const { role, ...rest } = v[0]; v[0] = { ...rest, role } as never; }],
      ["key added", (v) => ((v[0] as Record<string, unknown>).extra = null)],
      ["key removed", (v) => delete (v[0] as Partial<(typeof v)[0]>).meta],
      ["number became string", (v) => ((v[0].meta as Record<string, unknown>).n = "1")],
      ["object became array", (v) => ((v[0] as Record<string, unknown>).meta = [1])],
      ["element appended", (v) => v.push(base()[0])],
      ["NaN", (v) => (v[0].meta.n = Number.NaN)],
      ["a Date", (v) => ((v[0].meta as Record<string, unknown>).n = new Date(0))],
    ];
    for (const [what, change] of changes) {
      const value = base();
      change(value);
      expect(sameAsTree(value, tree), what).toBe(false);
    }
    expect(sameAsTree(base(), tree), "unchanged").toBe(true);
    expect(sameAsTree([{ a: -0 }], plainTree([{ a: 0 }])), "-0 and 0 serialise alike").toBe(true);
  });

  it("copies share nothing with the tree", () => {
    const tree = plainTree([{ a: { b: [1] } }]) as Array<{ a: { b: number[] } }>;
    const copy = copyTree(tree) as typeof tree;
    copy[0].a.b.push(2);
    copy.push({ a: { b: [] } });
    expect(tree).toEqual([{ a: { b: [1] } }]);
  });
});

describe("copyTree", () => {
  it("copies what JSON.parse makes, own __proto__ keys included, without touching prototypes", () => {
    const parsed = JSON.parse('[{"__proto__": {"polluted": true}, "a": [1, {"b": null}]}, "s", 1, null, [[]]]');
    const copy = copyTree(parsed) as Array<Record<string, unknown>>;
    expect(copy).toStrictEqual(parsed);
    expect(Object.getPrototypeOf(copy[0])).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(copy[0], "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(copy[0].a).not.toBe(parsed[0].a);
    expect((copy[0].a as unknown[])[1]).not.toBe(parsed[0].a[1]);
  });
});

describe("element snapshots", () => {
  const human = () => new HumanMessage({ content: "hi", id: "h1", additional_kwargs: { meta: { n: 1, tags: ["a"] } } });
  const ai = () => new AIMessage({ content: "calling", id: "a1", tool_calls: [{ name: "search", args: { q: "x" }, id: "c1", type: "tool_call" }] });

  it("hold a plain element as its tree and a LangChain message as its class and state", () => {
    expect(elementSnapshot({ a: 1 })).toEqual({ a: 1 });
    expect(elementSnapshot(human())).toBeInstanceOf(InstanceSnapshot);
    expect(elementSnapshots([{ a: 1 }, human(), ai()])).toHaveLength(3);
    expect(elementSnapshot(new Map()), "another class").toBeUndefined();
    expect(elementSnapshot(new HumanMessage({ content: "hi", additional_kwargs: { when: new Date(0) } })), "a Date inside").toBeUndefined();
    expect(elementSnapshots([human(), new Map()]), "one element without a snapshot").toBeUndefined();
  });

  it("match a message until anything the serializer reads changes", async () => {
    const serde = new PersistSerializer();
    for (const make of [human, ai]) {
      const snapshot = elementSnapshot(make());
      expect(sameAsSnapshot(make(), snapshot), "an equal message").toBe(true);
      // A message matching the snapshot serialises to the same bytes as the one it was taken from.
      expect(text((await serde.dumpsTyped([make()]))[1])).toBe(text((await serde.dumpsTyped([make()]))[1]));
    }
    const changes: Array<[string, () => unknown]> = [
      ["content", () => Object.assign(human(), { content: "other" })],
      ["id", () => Object.assign(human(), { id: "h2" })],
      ["name set", () => Object.assign(human(), { name: "alice" })],
      ["nested kwargs", () => { const m = human(); (m.additional_kwargs.meta as { n: number }).n = 2; return m; }],
      ["nested array", () => { const m = human(); (m.additional_kwargs.meta as { tags: string[] }).tags.push("b"); return m; }],
      ["lc_kwargs", () => { const m = human(); (m.lc_kwargs as Record<string, unknown>).content = "other"; return m; }],
      ["own property added", () => Object.assign(human(), { extra: 1 })],
      ["another class, same fields", () => new SystemMessage({ content: "hi", id: "h1", additional_kwargs: { meta: { n: 1, tags: ["a"] } } })],
      ["a plain object", () => ({ ...human() })],
    ];
    const snapshot = elementSnapshot(human());
    for (const [what, make] of changes) expect(sameAsSnapshot(make(), snapshot), what).toBe(false);
    const withCall = ai();
    withCall.tool_calls!.push({ name: "other", args: {}, id: "c2", type: "tool_call" });
    expect(sameAsSnapshot(withCall, elementSnapshot(ai())), "tool call added").toBe(false);
  });
});
