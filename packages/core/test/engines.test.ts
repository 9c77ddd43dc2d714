import { describe, expect, it } from "vitest";
import { HumanMessage } from "@langchain/core/messages";
import { MemorySaver as UpstreamMemorySaver } from "@langchain/langgraph-checkpoint";
import {
  InvalidArgumentError,
  PersistSerializer,
  SerializationError,
  bytesToVector,
  DISTANCE_TYPES,
  cosineSimilarity,
  expiresAt,
  isExpired,
  resolveIndexConfig,
  scoreVectors,
  similarity,
  textsAtPath,
  validateTtlMinutes,
  vectorToBytes,
} from "../src/index.js";

describe("field paths", () => {
  const value = { a: { b: "ab" }, arr: [{ x: "x0" }, { x: "x1" }], tags: ["t0", "t1", "t2"], n: 5 };
  it("extracts a.b, arr[*].x, arr[0], arr[-1] and $", () => {
    expect(textsAtPath(value, "a.b")).toEqual(["ab"]);
    expect(textsAtPath(value, "arr[*].x")).toEqual(["x0", "x1"]);
    expect(textsAtPath(value, "tags[0]")).toEqual(["t0"]);
    expect(textsAtPath(value, "tags[-1]")).toEqual(["t2"]);
    expect(textsAtPath(value, "n")).toEqual(["5"]);
    expect(textsAtPath(value, "missing.path")).toEqual([]);
    expect(textsAtPath(value, "$")).toEqual([JSON.stringify(value)]);
  });
  it("rejects malformed paths", () => {
    expect(() => textsAtPath(value, "a..b")).toThrow(InvalidArgumentError);
    expect(() => textsAtPath(value, "a[")).toThrow(InvalidArgumentError);
  });
});

describe("vectors", () => {
  it("cosine similarity and float32 packing", () => {
    expect(cosineSimilarity([1, 0], [1, 0])).toBeCloseTo(1);
    expect(cosineSimilarity([1, 0], [0, 1])).toBeCloseTo(0);
    expect(cosineSimilarity([0, 0], [1, 1])).toBe(0);
    expect(Array.from(bytesToVector(vectorToBytes([0.5, -2])))).toEqual([0.5, -2]);
  });

  it("similarity: cosine, negated Euclidean distance (l2) and dot product (inner_product); higher = more similar", () => {
    const q = [1, 1, 0];
    expect(similarity("cosine", [2, 2, 0], q)).toBeCloseTo(1, 12);
    expect(similarity("cosine", [-1, -1, 0], q)).toBeCloseTo(-1, 12);
    expect(similarity("l2", [1, 4, 4], q)).toBe(-5);
    expect(Object.is(similarity("l2", q, q), 0)).toBe(true);
    expect(similarity("inner_product", [3, 0, 9], q)).toBe(3);
    expect(similarity("inner_product", [1, 0, 0], q)).toBe(1);
    // Zero vectors: cosine 0 (no direction), l2 the other vector's length, inner product 0.
    const zero = [0, 0, 0];
    expect(similarity("cosine", zero, q)).toBe(0);
    expect(similarity("cosine", q, zero)).toBe(0);
    expect(similarity("l2", zero, [3, 4, 0])).toBe(-5);
    expect(similarity("inner_product", zero, q)).toBe(0);
    // The best vector of an item wins, per measure.
    const vectors = [
      [4, 3, 0],
      [0.5, 0.5, 0],
    ];
    expect(scoreVectors(vectors, q)).toBeCloseTo(1, 12);
    expect(scoreVectors(vectors, q, "l2")).toBeCloseTo(-Math.SQRT1_2, 12);
    expect(scoreVectors(vectors, q, "inner_product")).toBe(7);
    expect(scoreVectors([], q, "l2")).toBeUndefined();
  });

  it("index.distanceType: cosine by default, one of the three measures, anything else is InvalidArgumentError", () => {
    const embeddings = { embedDocuments: async () => [], embedQuery: async () => [] } as never;
    expect(resolveIndexConfig({ dims: 2, embeddings }, "x")?.distanceType).toBe("cosine");
    for (const d of DISTANCE_TYPES) expect(resolveIndexConfig({ dims: 2, embeddings, distanceType: d }, "x")?.distanceType).toBe(d);
    for (const bad of ["ip", "dot", "euclidean", "Cosine", "", null, 3]) {
      expect(() => resolveIndexConfig({ dims: 2, embeddings, distanceType: bad as never }, "x"), String(bad)).toThrow(InvalidArgumentError);
      expect(() => resolveIndexConfig({ dims: 2, embeddings, distanceType: bad as never }, "x")).toThrow(/index\.distanceType must be "cosine", "l2" or "inner_product"/);
    }
  });
});

describe("ttl math", () => {
  it("is in minutes and validates input", () => {
    expect(expiresAt(1000, 1)).toBe(61_000);
    expect(expiresAt(1000, null)).toBeNull();
    expect(isExpired(61_000, 61_000)).toBe(true);
    expect(isExpired(null, 1e15)).toBe(false);
    for (const bad of [0, -1, Number.NaN, "5", Infinity]) expect(() => validateTtlMinutes(bad, "x")).toThrow(InvalidArgumentError);
  });
});

describe("PersistSerializer", () => {
  const serde = new PersistSerializer();
  const roundTrip = async (v: unknown) => {
    const [type, data] = await serde.dumpsTyped(v);
    return serde.loadsTyped(type, data);
  };

  it("round-trips Date and BigInt, which upstream loses", async () => {
    const d = new Date("2026-01-02T03:04:05.678Z");
    const out = await roundTrip({ d, big: 12345678901234567890n, nested: [{ d }], map: new Map([["k", d]]), set: new Set([1n]) });
    expect(out.d).toBeInstanceOf(Date);
    expect(out.d.getTime()).toBe(d.getTime());
    expect(out.big).toBe(12345678901234567890n);
    expect(out.nested[0].d).toBeInstanceOf(Date);
    expect(out.map.get("k")).toBeInstanceOf(Date);
    expect(out.set.has(1n)).toBe(true);
  });

  it("reads what the upstream serializer wrote", async () => {
    const upstream = new UpstreamMemorySaver().serde;
    const [type, data] = await upstream.dumpsTyped({ m: new Map([["a", 1]]), msg: new HumanMessage({ content: "hi", id: "1" }), s: "\u0000ü" });
    const out = await serde.loadsTyped(type, data);
    expect(out.m.get("a")).toBe(1);
    expect(out.msg).toBeInstanceOf(HumanMessage);
    expect(out.msg.content).toBe("hi");
    expect(out.s).toBe("\u0000ü");
  });

  it("does not copy values without dates", async () => {
    const v = { a: [1, 2, { b: "c" }] };
    expect(await roundTrip(v)).toEqual(v);
  });

  it("raises SerializationError for values it cannot encode or decode", async () => {
    await expect(serde.loadsTyped("json", "{not json")).rejects.toBeInstanceOf(SerializationError);
    await expect(serde.loadsTyped("msgpack", new Uint8Array([1]))).rejects.toBeInstanceOf(SerializationError);
  });
});
