import { describe, expect, it } from "vitest";
import { Binary } from "mongodb";
import { DELTA_BLOB_PREFIX, chainKey, chainLowerBound, parseFilter, scoreVectors, similarity, type PreparedSearch } from "@langgraph-persist/core";
import { saverCollections, storeCollections } from "../src/keys.js";
import {
  SCORE_FIELD,
  assemblePage,
  atlasSearchPipeline,
  bestScoreExpr,
  blobRangesMatch,
  blobsAndWritesPipeline,
  checkpointMatch,
  checkpointsPipeline,
  getsQuery,
  listNamespacesPipeline,
  listThreadsPipeline,
  searchPipeline,
  vectorPreFilter,
  visibleStages,
} from "../src/query.js";
import { vectorNorm } from "../src/writes.js";
import { evaluate } from "./support/expr.js";
import { matchesQuery } from "./support/query.js";

const NOW = new Date("2030-01-01T00:00:00Z");
const sc = saverCollections("p_");
const st = storeCollections("p_");

function search(over: Partial<PreparedSearch> = {}): PreparedSearch {
  return { namespacePrefix: ["users", "u1"], conditions: [], limit: 10, offset: 0, ...over };
}

const stageNames = (pipeline: Array<Record<string, unknown>>) => pipeline.map((s) => Object.keys(s)[0]);

/** A deterministic pseudo-random vector. */
function vector(seed: number, dims = 16): number[] {
  let x = seed * 9301 + 49297;
  return Array.from({ length: dims }, () => {
    x = (x * 9301 + 49297) % 233280;
    return x / 233280 - 0.5;
  });
}

describe("store search pipeline (exact fallback)", () => {
  it("filters with $match before anything else, then sorts, skips and limits on the server", () => {
    const { pipeline, exact } = searchPipeline(search({ conditions: parseFilter({ kind: "note" }), offset: 5, limit: 3 }), NOW);
    expect(exact).toBe(true);
    expect(stageNames(pipeline)).toEqual(["$match", "$sort", "$skip", "$limit", "$project"]);
    const match = pipeline[0].$match as Record<string, unknown>;
    expect(match.$or).toEqual([{ ns: "users.u1" }, { ns: { $gte: "users.u1.", $lt: "users.u1/" } }]);
    expect(match.expire_at).toEqual({ $not: { $lte: NOW } });
    expect(match.$expr).toBeDefined();
    expect(pipeline[1].$sort).toEqual({ updated_at: -1, key: 1, ns: 1 });
    expect(pipeline[2].$skip).toBe(5);
    expect(pipeline[3].$limit).toBe(3);
    // Vectors never travel back to the client.
    expect(pipeline[4].$project).toEqual({ embeddings: 0 });
  });

  it("the namespace range is segment-safe: users.u1 does not match users.u10 or users.u1-x", () => {
    const { pipeline } = searchPipeline(search(), NOW);
    const [, range] = (pipeline[0].$match as { $or: Array<{ ns: string | { $gte: string; $lt: string } }> }).$or;
    const r = range.ns as { $gte: string; $lt: string };
    const under = (ns: string) => ns === "users.u1" || (ns >= r.$gte && ns < r.$lt);
    expect(["users.u1", "users.u1.a", "users.u1.a.b"].every(under)).toBe(true);
    expect(["users.u10", "users.u1-x", "users.u", "users", "users.u2"].some(under)).toBe(false);
  });

  it("an empty prefix searches every namespace (no ns condition)", () => {
    const { pipeline } = searchPipeline(search({ namespacePrefix: [] }), NOW);
    expect((pipeline[0].$match as Record<string, unknown>).$or).toBeUndefined();
  });

  it("with a query vector: scores with $reduce over $zip of each stored vector, sorts by score then recency", () => {
    const q = vector(1);
    const { pipeline } = searchPipeline(search({ queryVector: q }), NOW);
    expect(stageNames(pipeline)).toEqual(["$match", "$set", "$sort", "$limit", "$project"]);
    const json = JSON.stringify(pipeline[1]);
    expect(json).toContain('"$reduce"');
    expect(json).toContain('"$zip"');
    expect(pipeline[2].$sort).toEqual({ [SCORE_FIELD]: -1, updated_at: -1, key: 1, ns: 1 });
  });

  it("the pipeline score equals core cosine similarity (best vector of the item), bit for bit", () => {
    const q = vector(7);
    const expr = bestScoreExpr(q);
    for (let seed = 0; seed < 50; seed++) {
      const vectors = [vector(seed * 3 + 11), vector(seed * 5 + 13)];
      const doc = { embeddings: vectors.map((v) => ({ field: "$", vector: v, norm: vectorNorm(v) })) };
      expect(evaluate(expr, doc)).toBe(scoreVectors(vectors, q));
    }
  });

  it("items without vectors score null (sorted after every score); zero vectors score 0 as in core", () => {
    const q = vector(3);
    expect(evaluate(bestScoreExpr(q), { embeddings: [] })).toBeNull();
    expect(evaluate(bestScoreExpr(q), {})).toBeNull();
    const zero = new Array(16).fill(0);
    expect(evaluate(bestScoreExpr(q), { embeddings: [{ field: "$", vector: zero, norm: 0 }] })).toBe(0);
    expect(evaluate(bestScoreExpr(zero), { embeddings: [{ field: "$", vector: q, norm: vectorNorm(q) }] })).toBe(0);
  });

  for (const distanceType of ["cosine", "l2", "inner_product"] as const) {
    it(`distanceType "${distanceType}": the pipeline score equals core similarity (best vector of the item), bit for bit`, () => {
      const q = vector(7);
      const expr = bestScoreExpr(q, distanceType);
      for (let seed = 0; seed < 50; seed++) {
        const vectors = [vector(seed * 3 + 11), vector(seed * 5 + 13)];
        const doc = { embeddings: vectors.map((v) => ({ field: "$", vector: v, norm: vectorNorm(v) })) };
        expect(evaluate(expr, doc)).toBe(scoreVectors(vectors, q, distanceType));
      }
      // Zero vectors, stored or queried, score as core scores them.
      const zero = new Array(16).fill(0);
      const stored = (v: number[]) => ({ embeddings: [{ field: "$", vector: v, norm: vectorNorm(v) }] });
      expect(evaluate(bestScoreExpr(q, distanceType), stored(zero))).toBe(similarity(distanceType, zero, q));
      expect(evaluate(bestScoreExpr(zero, distanceType), stored(q))).toBe(similarity(distanceType, q, zero));
      expect(evaluate(bestScoreExpr(q, distanceType), stored(q))).toBe(similarity(distanceType, q, q));
      expect(evaluate(bestScoreExpr(q, distanceType), { embeddings: [] })).toBeNull();
    });

    it(`distanceType "${distanceType}": the search pipeline scores with it and sorts highest first`, () => {
      const q = [1, 1, 0, 0];
      const docs: Record<string, number[]> = { near: [0.75, 1.25, 0.25, 0], long: [4, 3, 0, 0], short: [0.25, 0.25, 0, 0], side: [0, -0.125, 2, 0], zero: [0, 0, 0, 0] };
      const { pipeline } = searchPipeline(search({ queryVector: q }), NOW, distanceType);
      const set = pipeline[1].$set as Record<string, unknown>;
      const scored = Object.entries(docs).map(([key, v]) => ({ key, score: evaluate(set[SCORE_FIELD], { embeddings: [{ field: "$", vector: v, norm: vectorNorm(v) }] }) as number }));
      for (const { key, score } of scored) expect(score).toBe(similarity(distanceType, docs[key], q));
      expect(pipeline[2].$sort).toEqual({ [SCORE_FIELD]: -1, updated_at: -1, key: 1, ns: 1 });
      const order = [...scored].sort((a, b) => b.score - a.score).map((s) => s.key);
      const expected = {
        cosine: ["short", "long", "near", "zero", "side"],
        l2: ["near", "short", "zero", "side", "long"],
        inner_product: ["long", "near", "short", "zero", "side"],
      }[distanceType];
      expect(order).toEqual(expected);
    });
  }

  it("a widened filter leaves paging to the caller (no $skip/$limit) so it can re-check first", () => {
    const { pipeline, exact } = searchPipeline(search({ conditions: [{ path: ["a"], op: "$eq", value: new Date(0) }], offset: 2 }), NOW);
    expect(exact).toBe(false);
    expect(stageNames(pipeline)).toEqual(["$match", "$sort", "$project"]);
  });
});

describe("store search pipeline (Atlas $vectorSearch)", () => {
  const options = { indexName: "vec", filterFields: ["kind", "age"] };

  it("$vectorSearch is the first stage, with the namespace prefix and declared-field conditions as its filter", () => {
    const q = vector(2);
    const s = search({ queryVector: q, conditions: parseFilter({ kind: "note", age: { $gte: 3 }, other: 1, tag: { $ne: "x" } }), offset: 2, limit: 5 });
    const { pipeline, exact } = atlasSearchPipeline(st, s, NOW, options);
    expect(exact).toBe(true);
    expect(stageNames(pipeline)).toEqual(["$vectorSearch", "$group", "$lookup", "$unwind", "$replaceWith", "$match", "$unionWith", "$sort", "$skip", "$limit", "$project"]);
    const vs = pipeline[0].$vectorSearch as Record<string, unknown>;
    expect(vs.index).toBe("vec");
    expect(vs.path).toBe("embedding");
    expect((vs.queryVector as Array<{ _bsontype: string; value: number }>).map((d) => [d._bsontype, d.value])).toEqual(q.map((x) => ["Double", x]));
    expect(vs.numCandidates).toBe(100);
    expect(vs.filter).toEqual({ $and: [{ ns_prefixes: { $eq: "users.u1" } }, { "value.kind": { $eq: "note" } }, { "value.age": { $gte: 3 } }] });
    // The exact filter is re-applied to the joined items before sorting and paging.
    expect((pipeline[5].$match as Record<string, unknown>).$expr).toBeDefined();
    expect(pipeline[8].$skip).toBe(2);
    expect(pipeline[9].$limit).toBe(5);
  });

  it("never pre-filters with $ne/$nin or on undeclared or indexed paths (they could drop matches)", () => {
    expect(vectorPreFilter(search({ namespacePrefix: [], conditions: parseFilter({ kind: { $ne: "a" }, age: { $nin: [1] }, other: 1 }) }), ["kind", "age"])).toBeUndefined();
    expect(vectorPreFilter(search({ namespacePrefix: [], conditions: parseFilter({ "kind.0": "a" }) }), ["kind.0"])).toBeUndefined();
    expect(vectorPreFilter(search({ namespacePrefix: [], conditions: parseFilter({ kind: { $in: ["a", 1] } }) }), ["kind"])).toBeUndefined();
    expect(vectorPreFilter(search({ namespacePrefix: [], conditions: parseFilter({ kind: { $in: ["a", "b"] } }) }), ["kind"])).toEqual({ "value.kind": { $in: ["a", "b"] } });
  });

  it("numCandidates grows with the page and can be set", () => {
    const big = atlasSearchPipeline(st, search({ queryVector: vector(1), offset: 40, limit: 20 }), NOW, options);
    expect((big.pipeline[0].$vectorSearch as Record<string, unknown>).numCandidates).toBe(600);
    const set = atlasSearchPipeline(st, search({ queryVector: vector(1) }), NOW, { ...options, numCandidates: 42 });
    expect((set.pipeline[0].$vectorSearch as Record<string, unknown>).numCandidates).toBe(42);
  });

  it("scores each candidate vector exactly with the store's distanceType (cosine by default)", () => {
    const q = vector(4);
    const v = vector(9);
    const doc = { embedding: v, norm: vectorNorm(v) };
    for (const distanceType of ["cosine", "l2", "inner_product"] as const) {
      const { pipeline } = atlasSearchPipeline(st, search({ queryVector: q }), NOW, { ...options, distanceType });
      const group = pipeline[1].$group as { best: { $max: unknown } };
      expect(evaluate(group.best.$max, doc)).toBe(similarity(distanceType, v, q));
    }
    const { pipeline } = atlasSearchPipeline(st, search({ queryVector: q }), NOW, options);
    expect(evaluate((pipeline[1].$group as { best: { $max: unknown } }).best.$max, doc)).toBe(similarity("cosine", v, q));
  });

  it("unscored items (no vectors) are unioned in after the scored ones", () => {
    const { pipeline } = atlasSearchPipeline(st, search({ queryVector: vector(1) }), NOW, options);
    const union = pipeline[6].$unionWith as { coll: string; pipeline: Array<{ $match: Record<string, unknown> }> };
    expect(union.coll).toBe("p_store");
    expect(union.pipeline[0].$match["embeddings.0"]).toEqual({ $exists: false });
  });
});

describe("store reads", () => {
  it("all gets of a batch are one query, hiding expired items", () => {
    expect(getsQuery([{ ns: "a", key: "1" }, { ns: "a.b", key: "2" }], NOW)).toEqual({
      $or: [{ ns: "a", key: "1" }, { ns: "a.b", key: "2" }],
      expire_at: { $not: { $lte: NOW } },
    });
  });

  it("listNamespaces narrows by the literal prefix and truncates to maxDepth on the server when safe", () => {
    const p = listNamespacesPipeline({ matchConditions: [{ matchType: "prefix", path: ["a", "b", "*"] }], maxDepth: 3, limit: 10, offset: 0 }, NOW);
    expect(p[0].$match.$or).toEqual([{ ns: "a.b" }, { ns: { $gte: "a.b.", $lt: "a.b/" } }]);
    expect(p[1].$group._id).toEqual({ $slice: ["$namespace", 3] });
    // A suffix condition needs the whole namespace: no truncation on the server.
    const q = listNamespacesPipeline({ matchConditions: [{ matchType: "suffix", path: ["x"] }], maxDepth: 1, limit: 10, offset: 0 }, NOW);
    expect(q[1].$group._id).toBe("$namespace");
  });
});

describe("checkpoint queries", () => {
  it("an exact checkpoint is an _id lookup; the latest is a newest-first range on the thread/ns index", () => {
    expect(checkpointMatch({ threadId: "t", checkpointNs: "", checkpointId: "c" })).toEqual({ _id: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "c" } });
    expect(checkpointMatch({ threadId: "t", checkpointNs: "" })).toEqual({ "_id.thread_id": "t", "_id.checkpoint_ns": "" });
    const p = checkpointsPipeline(sc, { threadId: "t", checkpointNs: "", limit: 1 });
    expect(stageNames(p)).toEqual(["$match", "$sort", "$limit", "$project"]);
    expect(p[1].$sort).toEqual({ "_id.checkpoint_id": -1, "_id.thread_id": 1, "_id.checkpoint_ns": 1 });
  });

  it("before and the metadata filter are pushed down exactly ($lt on the id, $all on canonical metadata_kv)", () => {
    const m = checkpointMatch({ threadId: "t", before: "c5", filter: [["source", '"loop"', "loop"], ["o", '{"b":1,"a":2}', { b: 1, a: 2 }]] });
    expect(m).toEqual({ "_id.thread_id": "t", "_id.checkpoint_id": { $lt: "c5" }, metadata_kv: { $all: ['["source","loop"]', '["o",{"a":2,"b":1}]'] } });
  });

  it("with a TTL the thread document is joined and checked before $limit", () => {
    const p = checkpointsPipeline(sc, { threadId: "t", limit: 2 }, NOW);
    expect(stageNames(p)).toEqual(["$match", "$sort", "$lookup", "$match", "$unset", "$limit", "$project"]);
    expect(p[2].$lookup).toMatchObject({ from: "p_checkpoint_threads", localField: "_id.thread_id", foreignField: "_id" });
  });

  it("visibility: expired threads and checkpoints of an expired thread's earlier life are hidden", () => {
    const expr = (visibleStages(sc, NOW)[1].$match as { $expr: unknown }).$expr;
    const written = new Date("2029-12-31T00:00:00Z");
    const visible = (thread: Record<string, unknown> | undefined) => evaluate(expr, { written_at: written, __thread: thread ? [thread] : [] });
    expect(visible(undefined)).toBe(true);
    expect(visible({ _id: "t" })).toBe(true);
    expect(visible({ _id: "t", expire_at: new Date("2030-01-02T00:00:00Z"), alive_since: new Date(0) })).toBe(true);
    expect(visible({ _id: "t", expire_at: NOW, alive_since: new Date(0) })).toBe(false);
    expect(visible({ _id: "t", expire_at: new Date("2030-01-02T00:00:00Z"), alive_since: new Date("2029-12-31T12:00:00Z") })).toBe(false);
  });

  it("a page's blobs and writes are ONE query: plain versions by _id $in (each blob once), then every write of the page via $unionWith", () => {
    const page = [
      { threadId: "t", checkpointNs: "", checkpointId: "c2", blobRefs: [["a", "2"], ["b", "1"]] as Array<[string, string]> },
      { threadId: "t", checkpointNs: "", checkpointId: "c1", blobRefs: [["a", "1"], ["b", "1"]] as Array<[string, string]> },
      { threadId: "u", checkpointNs: "sub", checkpointId: "c9", blobRefs: [["b", "1"]] as Array<[string, string]> },
    ];
    const p = blobsAndWritesPipeline(sc, page);
    expect(stageNames(p)).toEqual(["$match", "$unionWith"]);
    // b@1 of thread t is shared by both checkpoints and fetched once; u's b@1 is a different blob.
    expect(p[0].$match).toEqual({
      _id: {
        $in: [
          { thread_id: "t", checkpoint_ns: "", channel: "a", version: "1" },
          { thread_id: "t", checkpoint_ns: "", channel: "a", version: "2" },
          { thread_id: "t", checkpoint_ns: "", channel: "b", version: "1" },
          { thread_id: "u", checkpoint_ns: "sub", channel: "b", version: "1" },
        ],
      },
    });
    const ids = (p[0].$match as { _id: { $in: Array<Record<string, string>> } })._id.$in;
    expect(ids.every((id) => Object.keys(id).join() === "thread_id,checkpoint_ns,channel,version")).toBe(true);
    const union = p[1].$unionWith as { coll: string; pipeline: Array<Record<string, any>> };
    expect(union.coll).toBe("p_checkpoint_writes");
    expect(union.pipeline[0].$match.$or).toHaveLength(3);
    expect(union.pipeline[0].$match.$or[2]).toEqual({ "_id.thread_id": "u", "_id.checkpoint_id": "c9", "_id.checkpoint_ns": "sub" });
  });

  it("a delta chain ref is one _id range [chainLowerBound(ref), ref] on (thread, ns, channel, version); one chain's refs merge into one range", () => {
    const base = "000000000002.aaaaaaaa";
    const l1 = chainKey(base, 1, "k1");
    const l3 = chainKey(base, 3, "k3");
    const page = [
      { threadId: "t", checkpointNs: "", checkpointId: "c4", blobRefs: [["messages", l3], ["step", "000000000004.s"]] as Array<[string, string]> },
      { threadId: "t", checkpointNs: "", checkpointId: "c2", blobRefs: [["messages", l1], ["step", "000000000002.s"]] as Array<[string, string]> },
      { threadId: "t", checkpointNs: "", checkpointId: "c1", blobRefs: [["messages", base]] as Array<[string, string]> },
    ];
    const key = (channel: string, version: string) => ({ thread_id: "t", checkpoint_ns: "", channel, version });
    expect(blobsAndWritesPipeline(sc, page)[0].$match).toEqual({
      $or: [
        { _id: { $in: [key("step", "000000000002.s"), key("step", "000000000004.s")] } },
        { _id: { $gte: key("messages", base), $lte: key("messages", l3) } },
      ],
    });
    // Two chains of one channel (a snapshot started a new one) stay two ranges: the gap is not fetched.
    const next = "000000000300.bbbbbbbb";
    const two = [
      { threadId: "t", checkpointNs: "", checkpointId: "c300", blobRefs: [["messages", chainKey(next, 1, "x")]] as Array<[string, string]> },
      { threadId: "t", checkpointNs: "", checkpointId: "c4", blobRefs: [["messages", l3]] as Array<[string, string]> },
    ];
    expect(blobsAndWritesPipeline(sc, two)[0].$match).toEqual({
      $or: [
        { _id: { $gte: key("messages", base), $lte: key("messages", l3) } },
        { _id: { $gte: key("messages", next), $lte: key("messages", chainKey(next, 1, "x")) } },
      ],
    });
  });

  it("a page whose checkpoints reference no blobs matches nothing (never an empty $or, which the server rejects)", () => {
    const p = blobsAndWritesPipeline(sc, [{ threadId: "t", checkpointNs: "", checkpointId: "c1", blobRefs: [] }]);
    expect(p[0].$match).toEqual({ _id: { $in: [] } });
    expect(blobRangesMatch([])).toEqual({ _id: { $in: [] } });
  });

  it("the blob $match selects exactly the blobs of each ref's thread/ns/channel with key in [chainLowerBound(ref), ref] (bytewise), on a random corpus", () => {
    let x = 5;
    const next = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)];
    const bases = ["5", "50", "5.a", "6", "\uffff", "\u{1f600}", "000000000003.x"];
    const key = () => (next() < 0.4 ? pick(bases) : chainKey(pick(bases), 1 + Math.floor(next() * 40), pick(["a", "b", "\u{1f600}"])));
    const threads = ["t", "t2"];
    const namespaces = ["", "sub", "sub:x"];
    const channels = ["messages", "messages2", "m"];
    const corpus = Array.from({ length: 500 }, () => ({ _id: { thread_id: pick(threads), checkpoint_ns: pick(namespaces), channel: pick(channels), version: key() } }));
    const bytewise = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
    for (let round = 0; round < 40; round++) {
      const page = Array.from({ length: 1 + Math.floor(next() * 5) }, (_, i) => ({
        threadId: pick(threads),
        checkpointNs: pick(namespaces),
        checkpointId: `c${i}`,
        blobRefs: Array.from({ length: 1 + Math.floor(next() * 3) }, () => [pick(channels), key()]) as Array<[string, string]>,
      }));
      const match = blobsAndWritesPipeline(sc, page)[0].$match as Record<string, unknown>;
      for (const doc of corpus) {
        const b = doc._id;
        const expected = page.some(
          (cp) =>
            cp.threadId === b.thread_id &&
            cp.checkpointNs === b.checkpoint_ns &&
            cp.blobRefs.some(([ch, ref]) => ch === b.channel && bytewise(chainLowerBound(ref), b.version) <= 0 && bytewise(b.version, ref) <= 0),
        );
        expect(matchesQuery(match, doc)).toBe(expected);
      }
    }
  });

  it("assemblePage gives each checkpoint the chain walked from each ref (sibling links fetched by the range stay out) and its writes", () => {
    const S = "000000000002.aaaaaaaa";
    const l1 = chainKey(S, 1, "k1");
    const l2 = chainKey(S, 2, "k2");
    const sib = chainKey(S, 2, "zz");
    const blob = (channel: string, version: string, type: string, data: Uint8Array | Binary, thread = "t") => ({ _id: { thread_id: thread, checkpoint_ns: "", channel, version }, type, data });
    const enc = (x: string) => new TextEncoder().encode(x);
    const fetched = [
      blob("messages", S, "json", new Binary(enc('["a"]'))),
      blob("messages", l1, DELTA_BLOB_PREFIX, enc('["b"]')),
      blob("messages", l2, `${DELTA_BLOB_PREFIX}k1`, enc('["c"]')),
      blob("messages", sib, `${DELTA_BLOB_PREFIX}k1`, enc('["other"]')),
      blob("step", "3", "json", enc("3")),
      blob("messages", S, "json", enc('["u"]'), "u"),
      { _id: { thread_id: "t", checkpoint_ns: "", checkpoint_id: "c3", task_id: "task", idx: 0 }, channel: "messages", type: "json", data: new Binary(enc("1")), task_path: "p", __write: true },
    ];
    const doc = (id: string, refs: Array<[string, string]>, thread = "t") => ({
      _id: { thread_id: thread, checkpoint_ns: "", checkpoint_id: id },
      parent_checkpoint_id: null,
      type: "json",
      checkpoint: new Binary(enc("{}")),
      metadata_type: "json",
      metadata: enc("{}"),
      metadata_kv: [],
      blob_refs: refs,
      written_at: NOW,
    });
    const [c3, c2, u1] = assemblePage([doc("c3", [["messages", l2], ["step", "3"]]), doc("c2", [["messages", l1], ["gone", "9"]]), doc("c1", [["messages", S]], "u")], fetched);
    const versions = (blobs: Array<{ channel: string; version: string }>) => blobs.map((b) => `${b.channel}@${b.version}`);
    expect(versions(c3.blobs)).toEqual([`messages@${l2}`, `messages@${l1}`, `messages@${S}`, "step@3"]);
    // The sibling link lies inside c3's range but is not on its chain; a missing blob is simply absent (core reports it).
    expect(versions(c2.blobs)).toEqual([`messages@${l1}`, `messages@${S}`]);
    expect(versions(u1.blobs)).toEqual([`messages@${S}`]);
    expect(new TextDecoder().decode(u1.blobs[0].data)).toBe('["u"]');
    expect(c3.blobs[2].data).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(c3.blobs[2].data)).toBe('["a"]');
    expect(c3.writes.map((w) => ({ ...w, data: new TextDecoder().decode(w.data) }))).toEqual([{ taskId: "task", idx: 0, channel: "messages", type: "json", data: "1", taskPath: "p" }]);
    expect(c2.writes).toEqual([]);
    expect(c3.record).toMatchObject({ threadId: "t", checkpointNs: "", checkpointId: "c3", parentCheckpointId: null, runId: null, blobRefs: [["messages", l2], ["step", "3"]] });
    expect(new TextDecoder().decode(c3.record.checkpoint.data)).toBe("{}");
  });

  it("listThreads reads the thread index newest first, filters on the latest metadata, joins the checkpoint by _id", () => {
    const p = listThreadsPipeline(sc, { limit: 5, before: "c9", filter: [["k", "1", 1]] });
    expect(stageNames(p)).toEqual(["$match", "$sort", "$set", "$lookup", "$unwind", "$limit"]);
    expect(p[0].$match).toEqual({ "latest.checkpoint_id": { $type: "string", $lt: "c9" }, "latest.metadata_kv": { $all: ['["k",1]'] } });
    expect(p[1].$sort).toEqual({ "latest.checkpoint_id": -1, _id: 1 });
    expect(p[3].$lookup).toMatchObject({ from: "p_checkpoints", localField: "__cp", foreignField: "_id" });
    expect(p[5].$limit).toBe(5);
  });
});
