import type {
  BlobRecord,
  CheckpointRecord,
  DistanceType,
  FilterCondition,
  ListQuery,
  PreparedListNamespaces,
  PreparedSearch,
  StoredCheckpoint,
  WriteRecord,
} from "@langgraph-persist/core";
import { literalPrefix, walkChain } from "@langgraph-persist/core";
import { Double } from "mongodb";
import type { Document } from "mongodb";
import { BlobRangeSet, type ChannelRanges } from "./chains.js";
import { ESCAPED_CHARS, KEYS_ESCAPED, escapeKey } from "./escape.js";
import {
  blobKey,
  checkpointKey,
  filterKv,
  liveAt,
  namespacePrefixQuery,
  type Clock,
  type BlobDoc,
  type BlobKey,
  type Bytes,
  type CheckpointDoc,
  type SaverCollections,
  type StoreCollections,
  type WriteDoc,
} from "./keys.js";
import { vectorNorm } from "./writes.js";

/**
 * Reads as data: every query and aggregation pipeline the adapter sends is built here by pure
 * functions, so their exact shape is unit-tested without a server.
 */

// ================================================================ store filters

/** A translated filter: the `$match` document and whether it gives exactly `matchesConditions`' answers. */
export interface TranslatedFilter {
  match: Document;
  /** False when part of the filter was widened (a superset): callers re-check in JS before paging. */
  exact: boolean;
}

const ARRAY_INDEX = /^(0|[1-9]\d*)$/;
const MAX_INT32 = 2 ** 31 - 1;
const typeIs = (expr: unknown, type: string) => ({ $eq: [{ $type: expr }, type] });

/**
 * `$getField` of one key of a stored value. A value with U+0000 in a key is stored with escaped keys
 * (`keys_escaped: true`, see `escape.ts`): a key containing U+0000 or U+0001 is looked up escaped in
 * such documents and as is in the others; any other key is the same either way. (`$getField` takes a
 * constant field name before MongoDB 7.2, hence two lookups under `$cond`.)
 */
function getFieldExpr(key: string, input: unknown): unknown {
  const plain = { $getField: { field: { $literal: key }, input } };
  if (!ESCAPED_CHARS.test(key)) return plain;
  const escaped = { $getField: { field: { $literal: escapeKey(key) }, input } };
  return { $cond: [typeIs(`$${KEYS_ESCAPED}`, "bool"), escaped, plain] };
}

/**
 * One step of core `getPath` as an aggregation expression: an object's own field (`$getField`, so
 * labels with `.` or `$` are fields, not paths), an array's element for a numeric segment, missing
 * otherwise. Unlike MongoDB dot paths this never reaches into the elements of an array.
 */
function stepExpr(input: unknown, segment: string, depth: number): Document {
  const v = `$$p${depth}`;
  const field = { $cond: [typeIs(v, "object"), getFieldExpr(segment, v), "$$REMOVE"] };
  let body: unknown = field;
  if (ARRAY_INDEX.test(segment)) {
    const index = Number(segment);
    const element = index <= MAX_INT32 ? { $arrayElemAt: [v, index] } : "$$REMOVE";
    body = { $cond: [{ $isArray: v }, element, field] };
  }
  // `$let` binds each step once, so the expression grows linearly with the path length.
  return { $let: { vars: { [`p${depth}`]: input }, in: body } };
}

/** The value at `path` inside the item's `value` (missing when core `getPath` says MISSING). */
export function pathExpr(path: readonly string[], root = "$value"): unknown {
  let expr: unknown = root;
  path.forEach((segment, i) => {
    expr = stepExpr(expr, segment, i);
  });
  return expr;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/**
 * Core `deepEqual(x, value)` as an expression, with a type guard at every leaf (numbers only equal
 * numbers, strings strings, ...) and key-order-insensitive object equality (same key count, every key
 * equal). Returns undefined for operands JSON cannot hold (dates, bigints, ...), which are re-checked in JS.
 */
export function equalsExpr(x: string, value: unknown, depth = 0): unknown {
  if (value === null) return typeIs(x, "null");
  switch (typeof value) {
    case "number":
      return { $and: [{ $isNumber: x }, { $eq: [x, value] }] };
    case "string":
      return { $and: [typeIs(x, "string"), { $eq: [x, { $literal: value }] }] };
    case "boolean":
      return { $and: [typeIs(x, "bool"), { $eq: [x, value] }] };
    default:
      break;
  }
  if (Array.isArray(value)) {
    const parts: unknown[] = [{ $isArray: x }, { $eq: [{ $size: x }, value.length] }];
    for (let i = 0; i < value.length; i++) {
      const inner = equalsExpr(`$$e${depth}`, value[i] === undefined ? null : value[i], depth + 1);
      if (inner === undefined) return undefined;
      parts.push({ $let: { vars: { [`e${depth}`]: { $arrayElemAt: [x, i] } }, in: inner } });
    }
    // `$and` stops at the first false, so `$size` and `$arrayElemAt` only ever see arrays.
    return { $and: parts };
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined);
    const parts: unknown[] = [typeIs(x, "object"), { $eq: [{ $size: { $objectToArray: x } }, keys.length] }];
    for (const k of keys) {
      const inner = equalsExpr(`$$o${depth}`, value[k], depth + 1);
      if (inner === undefined) return undefined;
      parts.push({ $let: { vars: { [`o${depth}`]: getFieldExpr(k, x) }, in: inner } });
    }
    return { $and: parts };
  }
  return undefined;
}

/** Strings whose UTF-16 order (JS `<`) can differ from MongoDB's code point order contain a unit ≥ U+D800. */
const ORDER_SENSITIVE = /[\uD800-\uFFFF]/;

/** One condition on the bound variable `$$a`; `exact: false` means the expression is a superset. */
function conditionExpr(c: FilterCondition): { expr: unknown; exact: boolean } {
  const a = "$$a";
  const missing = typeIs(a, "missing");
  switch (c.op) {
    case "$exists":
      return { expr: c.value ? { $not: [missing] } : missing, exact: true };
    case "$eq":
    case "$ne": {
      const eq = equalsExpr(a, c.value);
      if (eq === undefined) return { expr: c.op === "$eq" ? { $not: [missing] } : true, exact: false };
      return { expr: c.op === "$eq" ? eq : { $not: [eq] }, exact: true };
    }
    case "$in":
    case "$nin": {
      const options = (c.value as unknown[]).map((v) => equalsExpr(a, v));
      if (options.some((o) => o === undefined)) return { expr: c.op === "$in" ? { $not: [missing] } : true, exact: false };
      const any = options.length === 0 ? false : { $or: options };
      return { expr: c.op === "$in" ? any : { $not: [any] }, exact: true };
    }
    default: {
      // Range operators compare numbers with numbers and strings with strings, never across types.
      const op = c.op;
      if (typeof c.value === "number") return { expr: { $and: [{ $isNumber: a }, { [op]: [a, c.value] }] }, exact: true };
      const s = c.value as string;
      const isString = typeIs(a, "string");
      if (ORDER_SENSITIVE.test(s)) return { expr: isString, exact: false };
      return { expr: { $and: [isString, { [op]: [a, { $literal: s }] }] }, exact: true };
    }
  }
}

/**
 * Store filter conditions as one `$expr` over the item's `value`. Every condition is exact except
 * operands JSON cannot hold and string ranges with characters where UTF-16 and code point order differ.
 */
export function translateFilter(conditions: readonly FilterCondition[], root = "$value"): TranslatedFilter {
  if (conditions.length === 0) return { match: {}, exact: true };
  let exact = true;
  const parts = conditions.map((c) => {
    const t = conditionExpr(c);
    exact &&= t.exact;
    return { $let: { vars: { a: pathExpr(c.path, root) }, in: t.expr } };
  });
  return { match: { $expr: parts.length === 1 ? parts[0] : { $and: parts } }, exact };
}

// ================================================================ store pipelines

/** Pairs `[stored, query]` of components, in index order. */
function zipWithQuery(vector: string, query: readonly number[]): unknown {
  return { $zip: { inputs: [vector, { $literal: query }] } };
}

const STORED = { $arrayElemAt: ["$$this", 0] };
const QUERY = { $arrayElemAt: ["$$this", 1] };

/** Dot product of a stored vector and the query, summed in index order as core `innerProduct` does. */
export function dotExpr(vector: string, query: readonly number[]): unknown {
  return { $reduce: { input: zipWithQuery(vector, query), initialValue: 0, in: { $add: ["$$value", { $multiply: [STORED, QUERY] }] } } };
}

/** Exact cosine similarity of a stored vector and the query, as core `cosineSimilarity` computes it. */
export function cosineExpr(vector: string, norm: string, query: readonly number[]): unknown {
  const queryNorm = vectorNorm(query);
  if (queryNorm === 0) return 0;
  return { $cond: [{ $eq: [norm, 0] }, 0, { $divide: [dotExpr(vector, query), { $multiply: [norm, queryNorm] }] }] };
}

/** Negated Euclidean distance `0 - √Σ(v - q)²`, as core `similarity("l2", v, q)` computes it. */
export function negatedL2Expr(vector: string, query: readonly number[]): unknown {
  const squares = {
    $reduce: {
      input: zipWithQuery(vector, query),
      initialValue: 0,
      in: { $add: ["$$value", { $let: { vars: { d: { $subtract: [STORED, QUERY] } }, in: { $multiply: ["$$d", "$$d"] } } }] },
    },
  };
  return { $subtract: [0, { $sqrt: squares }] };
}

/** The score of one stored vector (with its stored norm) for `distanceType`, as core `similarity`. */
export function similarityExpr(distanceType: DistanceType, vector: string, norm: string, query: readonly number[]): unknown {
  if (distanceType === "l2") return negatedL2Expr(vector, query);
  if (distanceType === "inner_product") return dotExpr(vector, query);
  return cosineExpr(vector, norm, query);
}

/** Best score over the item's vectors; null (sorted after every number) when it has none. */
export function bestScoreExpr(query: readonly number[], distanceType: DistanceType = "cosine"): unknown {
  return { $max: { $map: { input: { $ifNull: ["$embeddings", []] }, as: "e", in: similarityExpr(distanceType, "$$e.vector", "$$e.norm", query) } } };
}

export const SCORE_FIELD = "__score";

/** Newest first, ties by key then namespace: the order of core `rankAndPage` (scores first when ranked). */
function searchSort(ranked: boolean): Document {
  return ranked ? { [SCORE_FIELD]: -1, updated_at: -1, key: 1, ns: 1 } : { updated_at: -1, key: 1, ns: 1 };
}

/** Items a search may return: under the prefix, not expired, matching the (possibly widened) filter. */
export function searchMatch(search: PreparedSearch, now: Clock): { match: Document; exact: boolean } {
  const filter = translateFilter(search.conditions);
  return { match: allOf(namespacePrefixQuery(search.namespacePrefix), liveAt(now), filter.match), exact: filter.exact };
}

/** The conjunction of `$match` documents on distinct fields; their `$expr`s are joined with `$and`. */
export function allOf(...docs: Document[]): Document {
  const out: Document = {};
  const exprs: unknown[] = [];
  for (const d of docs) {
    for (const [k, v] of Object.entries(d)) {
      if (k === "$expr") exprs.push(v);
      else out[k] = v;
    }
  }
  if (exprs.length > 0) out.$expr = exprs.length === 1 ? exprs[0] : { $and: exprs };
  return out;
}

/**
 * Search with the exact fallback: `$match` (namespace range, expiry, filter) before anything else, then
 * the score for `distanceType` when there is a query vector, then sort, skip and limit. When the filter
 * is not exact the pipeline stops after the sort and the caller filters and pages in JS.
 */
export function searchPipeline(search: PreparedSearch, now: Clock, distanceType: DistanceType = "cosine"): { pipeline: Document[]; exact: boolean } {
  const { match, exact } = searchMatch(search, now);
  const ranked = search.queryVector !== undefined;
  const pipeline: Document[] = [{ $match: match }];
  if (ranked) pipeline.push({ $set: { [SCORE_FIELD]: bestScoreExpr(search.queryVector!, distanceType) } });
  pipeline.push({ $sort: searchSort(ranked) });
  if (exact) {
    if (search.offset > 0) pipeline.push({ $skip: search.offset });
    pipeline.push({ $limit: search.limit });
  }
  pipeline.push({ $project: { embeddings: 0 } });
  return { pipeline, exact };
}

const SCALAR = (v: unknown) => typeof v === "string" || (typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean";

/**
 * The part of the filter `$vectorSearch` may apply as a pre-filter: conditions on declared filter
 * fields whose MongoDB semantics give a superset of core's (never `$ne`/`$nin`, whose array semantics
 * would drop matches). Everything is re-checked exactly after the search.
 */
export function vectorPreFilter(search: PreparedSearch, filterFields: readonly string[]): Document | undefined {
  const parts: Document[] = [];
  if (search.namespacePrefix.length > 0) parts.push({ ns_prefixes: { $eq: search.namespacePrefix.join(".") } });
  const declared = new Set(filterFields);
  for (const c of search.conditions) {
    const field = c.path.join(".");
    // Paths with U+0000/U+0001 may be stored escaped (see escape.ts): never pre-filtered, always re-checked.
    if (!declared.has(field) || c.path.some((p) => ARRAY_INDEX.test(p) || ESCAPED_CHARS.test(p))) continue;
    const path = `value.${field}`;
    if (c.op === "$eq" && SCALAR(c.value)) parts.push({ [path]: { $eq: c.value } });
    else if (c.op === "$in" && (c.value as unknown[]).length > 0 && (c.value as unknown[]).every(SCALAR)) {
      const types = new Set((c.value as unknown[]).map((v) => typeof v));
      if (types.size === 1) parts.push({ [path]: { $in: c.value } });
    } else if ((c.op === "$gt" || c.op === "$gte" || c.op === "$lt" || c.op === "$lte") && typeof c.value === "number") {
      parts.push({ [path]: { [c.op]: c.value } });
    }
  }
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : { $and: parts };
}

/** Atlas `$vectorSearch` accepts at most this many candidates (`numCandidates`). */
export const MAX_NUM_CANDIDATES = 10_000;

/**
 * `numCandidates` and `limit` (vector documents) of a `$vectorSearch` for the first `wanted` items,
 * within Atlas's rules (`limit` ≤ `numCandidates` ≤ 10,000). The default is 10 candidates per wanted
 * item, at least 100 and at most 10,000; `limit` asks for 4 vectors per wanted item (several vectors may
 * belong to one item), at least 10, at most the candidates. Undefined when `wanted` exceeds the
 * candidates: Atlas cannot rank that deep, and the store answers such a page with the exact ranking.
 */
export function vectorSearchSizes(wanted: number, numCandidates?: number): { numCandidates: number; limit: number } | undefined {
  const candidates = numCandidates ?? Math.min(MAX_NUM_CANDIDATES, Math.max(100, 10 * wanted));
  if (wanted > candidates) return undefined;
  return { numCandidates: candidates, limit: Math.min(Math.max(wanted * 4, 10), candidates) };
}

/**
 * Semantic search through Atlas: `$vectorSearch` on the vectors collection (namespace and filter as
 * pre-filters), best exact score per item for `distanceType` (the Atlas index only picks the
 * candidates), the items joined back and re-checked (expiry, exact filter), then the unscored items (no
 * vectors) after the scored ones, as the fallback ranks them.
 */
export function atlasSearchPipeline(
  c: StoreCollections,
  search: PreparedSearch,
  now: Clock,
  options: { indexName: string; filterFields: readonly string[]; numCandidates?: number; distanceType?: DistanceType },
): { pipeline: Document[]; exact: boolean } {
  const query = search.queryVector!;
  const { match, exact } = searchMatch(search, now);
  const wanted = search.offset + search.limit;
  const sizes = vectorSearchSizes(wanted, options.numCandidates);
  if (sizes === undefined) throw new RangeError(`$vectorSearch cannot rank ${wanted} items with ${options.numCandidates ?? MAX_NUM_CANDIDATES} candidates`);
  const vectorSearch: Document = {
    index: options.indexName,
    path: "embedding",
    // `$vectorSearch` takes BSON doubles; integral components would otherwise be sent as int32.
    queryVector: query.map((x) => new Double(x)),
    ...sizes,
  };
  const preFilter = vectorPreFilter(search, options.filterFields);
  if (preFilter) vectorSearch.filter = preFilter;
  const pipeline: Document[] = [
    { $vectorSearch: vectorSearch },
    { $group: { _id: { ns: "$ns", key: "$key" }, best: { $max: similarityExpr(options.distanceType ?? "cosine", "$embedding", "$norm", query) } } },
    { $lookup: { from: c.items, localField: "_id.ns", foreignField: "ns", let: { key: "$_id.key" }, pipeline: [{ $match: { $expr: { $eq: ["$key", "$$key"] } } }], as: "item" } },
    { $unwind: "$item" },
    { $replaceWith: { $mergeObjects: ["$item", { [SCORE_FIELD]: "$best" }] } },
    { $match: match },
    { $unionWith: { coll: c.items, pipeline: [{ $match: { ...match, "embeddings.0": { $exists: false } } }] } },
    { $sort: searchSort(true) },
  ];
  if (exact) {
    if (search.offset > 0) pipeline.push({ $skip: search.offset });
    pipeline.push({ $limit: search.limit });
  }
  pipeline.push({ $project: { embeddings: 0 } });
  return { pipeline, exact };
}

/** One query for every get of a batch. */
export function getsQuery(gets: ReadonlyArray<{ ns: string; key: string }>, now: Clock): Document {
  return { $or: gets.map((g) => ({ ns: g.ns, key: g.key })), ...liveAt(now) };
}

/**
 * Distinct live namespaces for listNamespaces: the literal prefix of the match conditions narrows the
 * `ns` range; `maxDepth` truncates on the server when that cannot change which conditions match.
 */
export function listNamespacesPipeline(l: PreparedListNamespaces, now: Clock): Document[] {
  const conditions = l.matchConditions ?? [];
  const truncate = l.maxDepth !== undefined && conditions.every((c) => c.matchType === "prefix" && c.path.length <= l.maxDepth!);
  return [
    { $match: { ...namespacePrefixQuery(literalPrefix(conditions)), ...liveAt(now) } },
    { $group: { _id: truncate ? { $slice: ["$namespace", l.maxDepth] } : "$namespace" } },
  ];
}

// ================================================================ saver

export const CHECKPOINT_SORT = { "_id.checkpoint_id": -1, "_id.thread_id": 1, "_id.checkpoint_ns": 1 } as const;

/** The `$match` of a checkpoint query; the metadata filter is an exact `$all` on `metadata_kv`. */
export function checkpointMatch(query: ListQuery): Document {
  if (query.threadId !== undefined && query.checkpointNs !== undefined && query.checkpointId !== undefined) {
    const m: Document = { _id: checkpointKey(query.threadId, query.checkpointNs, query.checkpointId) };
    if (query.before !== undefined) m["_id.checkpoint_id"] = { $lt: query.before };
    if (query.filter?.length) m.metadata_kv = { $all: filterKv(query.filter) };
    return m;
  }
  const m: Document = {};
  if (query.threadId !== undefined) m["_id.thread_id"] = query.threadId;
  if (query.checkpointNs !== undefined) m["_id.checkpoint_ns"] = query.checkpointNs;
  if (query.checkpointId !== undefined || query.before !== undefined) {
    const id: Document = {};
    if (query.checkpointId !== undefined) id.$eq = query.checkpointId;
    if (query.before !== undefined) id.$lt = query.before;
    m["_id.checkpoint_id"] = id;
  }
  if (query.filter?.length) m.metadata_kv = { $all: filterKv(query.filter) };
  return m;
}

/**
 * Hides checkpoints of expired threads, and of an expired thread's earlier life, at `now`: the thread
 * document is joined by `_id` and checked in the same pipeline (no extra round trip).
 */
export function visibleStages(c: SaverCollections, now: Clock): Document[] {
  return [
    { $lookup: { from: c.threads, localField: "_id.thread_id", foreignField: "_id", as: "__thread" } },
    {
      $match: {
        $expr: {
          $let: {
            vars: { t: { $arrayElemAt: ["$__thread", 0] } },
            in: {
              $and: [
                { $or: [{ $ne: [{ $type: "$$t.expire_at" }, "date"] }, { $gt: ["$$t.expire_at", now] }] },
                { $or: [{ $ne: [{ $type: "$$t.alive_since" }, "date"] }, { $gte: ["$written_at", "$$t.alive_since"] }] },
              ],
            },
          },
        },
      },
    },
    { $unset: "__thread" },
  ];
}

/**
 * Checkpoint documents newest first (`checkpoint_id` desc, ties by thread then namespace), served by
 * the `checkpoints_by_thread_ns` / `checkpoints_by_thread` indexes when a thread is given. Channel
 * values and writes are not joined here: `blobsAndWritesPipeline` fetches them once per page.
 */
export function checkpointsPipeline(c: SaverCollections, query: ListQuery, ttlNow?: Clock): Document[] {
  const pipeline: Document[] = [{ $match: checkpointMatch(query) }, { $sort: CHECKPOINT_SORT }];
  if (ttlNow) pipeline.push(...visibleStages(c, ttlNow));
  if (query.limit !== undefined) pipeline.push({ $limit: query.limit });
  pipeline.push({ $project: { metadata_kv: 0 } });
  return pipeline;
}

export interface CheckpointRef {
  threadId: string;
  checkpointNs: string;
  checkpointId: string;
  blobRefs: ReadonlyArray<readonly [string, string]>;
}

export function refOf(doc: CheckpointDoc): CheckpointRef {
  return { threadId: doc._id.thread_id, checkpointNs: doc._id.checkpoint_ns, checkpointId: doc._id.checkpoint_id, blobRefs: doc.blob_refs };
}

export const blobKeyString = (k: BlobKey) => JSON.stringify([k.thread_id, k.checkpoint_ns, k.channel, k.version]);
export const checkpointKeyString = (threadId: string, checkpointNs: string, checkpointId: string) => JSON.stringify([threadId, checkpointNs, checkpointId]);

/**
 * `batchSize` of the blobs-and-writes read. Without one the server ends the first batch at 101
 * documents, and one page easily produces more: a page of 100 checkpoints needs at least one blob per
 * distinct channel version, a delta chain's base and links, and every pending write — a count with no
 * useful bound. What always ends a batch is its size, 16 MiB: this many of the smallest possible
 * documents (a blob with empty strings and no bytes, 101 bytes as BSON) fill 16 MiB, so the count never
 * ends a batch before the size does, and a page whose documents fit in 16 MiB is one round trip.
 */
export const BLOBS_AND_WRITES_BATCH_SIZE = Math.ceil((16 * 1024 * 1024) / 101);

/**
 * The blobs a set of refs needs, as one filter on the blobs' `_id` index: plain versions (single-key
 * ranges) by `$in`, each chain range as `{ _id: { $gte, $lte } }` on the compound `_id` — documents
 * with the same fields compare field by field, so the range is exactly thread, namespace and channel
 * equal and `chainLowerBound(ref) <= version <= ref` (bytewise, MongoDB's simple collation), one index
 * range scan per chain.
 */
export function blobRangesMatch(groups: readonly ChannelRanges[]): Document {
  const points: BlobKey[] = [];
  const ranges: Document[] = [];
  for (const g of groups) {
    for (const r of g.ranges) {
      if (r.lower === r.upper) points.push(blobKey(g.threadId, g.checkpointNs, g.channel, r.lower));
      else ranges.push({ _id: { $gte: blobKey(g.threadId, g.checkpointNs, g.channel, r.lower), $lte: blobKey(g.threadId, g.checkpointNs, g.channel, r.upper) } });
    }
  }
  const branches = points.length > 0 || ranges.length === 0 ? [{ _id: { $in: points } }, ...ranges] : ranges;
  return branches.length === 1 ? branches[0] : { $or: branches };
}

/**
 * One query for a whole page of checkpoints: every blob their refs need (ranges of one chain merged,
 * each blob once) followed, through `$unionWith`, by every pending write of every checkpoint of the
 * page. Write documents carry `__write: true`. Sent with `batchSize: BLOBS_AND_WRITES_BATCH_SIZE`.
 */
export function blobsAndWritesPipeline(c: SaverCollections, page: readonly CheckpointRef[]): Document[] {
  const needed = new BlobRangeSet();
  for (const cp of page) needed.addRefs(cp.threadId, cp.checkpointNs, cp.blobRefs);
  return [
    { $match: blobRangesMatch(needed.groups()) },
    {
      $unionWith: {
        coll: c.writes,
        pipeline: [
          { $match: { $or: page.map((cp) => ({ "_id.thread_id": cp.threadId, "_id.checkpoint_id": cp.checkpointId, "_id.checkpoint_ns": cp.checkpointNs })) } },
          { $set: { __write: true } },
        ],
      },
    },
  ];
}

const bytes = (b: Bytes): Uint8Array => (b instanceof Uint8Array ? b : b.value());

export function toWriteRecord(d: WriteDoc): WriteRecord {
  return { taskId: d._id.task_id, idx: d._id.idx, channel: d.channel, type: d.type, data: bytes(d.data), taskPath: d.task_path ?? "" };
}

/**
 * Joins a page of checkpoint documents with what `blobsAndWritesPipeline` returned: each checkpoint
 * gets, per ref, the blobs of its chain walked from the ref down (the range may also hold sibling
 * links of other branches, which stay out), and its pending writes.
 */
export function assemblePage(page: readonly CheckpointDoc[], fetched: Iterable<Document>): StoredCheckpoint[] {
  const blobs = new Map<string, BlobRecord>();
  const writes = new Map<string, WriteRecord[]>();
  for (const d of fetched) {
    if (d.__write === true) {
      const w = d as WriteDoc;
      const k = checkpointKeyString(w._id.thread_id, w._id.checkpoint_ns, w._id.checkpoint_id);
      let list = writes.get(k);
      if (!list) writes.set(k, (list = []));
      list.push(toWriteRecord(w));
    } else {
      const b = d as BlobDoc;
      blobs.set(blobKeyString(b._id), { channel: b._id.channel, version: b._id.version, type: b.type, data: bytes(b.data) });
    }
  }
  return page.map((doc) => {
    const { thread_id, checkpoint_ns, checkpoint_id } = doc._id;
    const own: BlobRecord[] = [];
    for (const [channel, key] of doc.blob_refs) {
      own.push(...walkChain(key, (version) => blobs.get(blobKeyString({ thread_id, checkpoint_ns, channel, version }))));
    }
    const record: CheckpointRecord = {
      threadId: thread_id,
      checkpointNs: checkpoint_ns,
      checkpointId: checkpoint_id,
      parentCheckpointId: doc.parent_checkpoint_id ?? null,
      checkpoint: { type: doc.type, data: bytes(doc.checkpoint) },
      metadata: { type: doc.metadata_type, data: bytes(doc.metadata) },
      // Not stored as text (filters use `metadata_kv`); core reads the metadata bytes.
      metadataJson: "",
      runId: doc.run_id ?? null,
      blobRefs: doc.blob_refs,
    };
    return { record, blobs: own, writes: writes.get(checkpointKeyString(thread_id, checkpoint_ns, checkpoint_id)) ?? [] };
  });
}

/**
 * `listThreads` from the thread documents (`threads_by_latest` index): newest latest checkpoint first,
 * keyset paging by `before`, the metadata filter on the latest checkpoint's `metadata_kv`, the
 * checkpoint document joined by `_id` for its bytes.
 */
export function listThreadsPipeline(
  c: SaverCollections,
  options: { limit: number; before?: string; filter?: ListQuery["filter"] },
  ttlNow?: Clock,
): Document[] {
  const match: Document = { "latest.checkpoint_id": options.before !== undefined ? { $type: "string", $lt: options.before } : { $type: "string" } };
  if (options.filter?.length) match["latest.metadata_kv"] = { $all: filterKv(options.filter) };
  if (ttlNow) Object.assign(match, liveAt(ttlNow));
  const pipeline: Document[] = [
    { $match: match },
    { $sort: { "latest.checkpoint_id": -1, _id: 1 } },
    { $set: { __cp: { thread_id: "$_id", checkpoint_ns: "$latest.checkpoint_ns", checkpoint_id: "$latest.checkpoint_id" } } },
    {
      $lookup: {
        from: c.checkpoints,
        localField: "__cp",
        foreignField: "_id",
        pipeline: [{ $project: { type: 1, checkpoint: 1, metadata_type: 1, metadata: 1, written_at: 1 } }],
        as: "__doc",
      },
    },
    { $unwind: "$__doc" },
  ];
  if (ttlNow) {
    pipeline.push({
      $match: { $expr: { $or: [{ $ne: [{ $type: "$alive_since" }, "date"] }, { $gte: ["$__doc.written_at", "$alive_since"] }] } },
    });
  }
  pipeline.push({ $limit: options.limit });
  return pipeline;
}
