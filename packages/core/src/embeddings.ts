import type { Embeddings } from "@langchain/core/embeddings";
import { InvalidArgumentError, PersistenceError, toPersistenceError } from "./errors.js";

/** Semantic-search configuration shared by every store. */
export interface IndexConfig {
  /** Number of dimensions of the embedding vectors. */
  dims: number;
  /** A LangChain `Embeddings` instance. */
  embeddings: Embeddings;
  /**
   * Paths of the value to embed: `"a.b"`, `"arr[*].x"`, `"arr[0]"`, `"arr[-1]"`, or `"$"` for the whole value.
   * @default ["$"]
   */
  fields?: string[];
  /**
   * How a query search scores and ranks items (higher = more similar, on every backend):
   * - `"cosine"`: cosine similarity, from -1 to 1 (0 when either vector is all zeros);
   * - `"l2"`: the negated Euclidean distance, `-‖a - b‖` (0 for an identical vector, negative otherwise);
   * - `"inner_product"`: the dot product `a · b`.
   *
   * Any other value is refused with `InvalidArgumentError` when the store is constructed.
   * @default "cosine"
   */
  distanceType?: DistanceType;
}

/** The vector similarity measures a store's `index.distanceType` may name. */
export type DistanceType = "cosine" | "l2" | "inner_product";

export const DISTANCE_TYPES: readonly DistanceType[] = ["cosine", "l2", "inner_product"];

export interface ResolvedIndexConfig extends IndexConfig {
  fields: string[];
  distanceType: DistanceType;
}

export function resolveIndexConfig(index: IndexConfig | undefined, source: string): ResolvedIndexConfig | undefined {
  if (!index) return undefined;
  if (!Number.isInteger(index.dims) || index.dims <= 0) {
    throw new InvalidArgumentError(source, `index.dims must be a positive integer, got ${String(index.dims)}`);
  }
  if (!index.embeddings || typeof index.embeddings.embedDocuments !== "function") {
    throw new InvalidArgumentError(source, "index.embeddings must be a LangChain Embeddings instance");
  }
  const distanceType = index.distanceType === undefined ? "cosine" : index.distanceType;
  if (!DISTANCE_TYPES.includes(distanceType)) {
    const got = typeof distanceType === "string" ? JSON.stringify(distanceType) : String(distanceType);
    throw new InvalidArgumentError(source, `index.distanceType must be "cosine", "l2" or "inner_product", got ${got}`);
  }
  const fields = index.fields ?? ["$"];
  for (const f of fields) tokenizeFieldPath(f, source);
  return { ...index, fields, distanceType };
}

type PathToken = { kind: "key"; key: string } | { kind: "index"; index: number } | { kind: "all" };

/** Parses `a.b[0].c[*]` / `arr[-1]` / `$` into tokens; throws on malformed paths. */
export function tokenizeFieldPath(path: string, source = "@langgraph-persist/core"): PathToken[] {
  if (path === "$") return [];
  const tokens: PathToken[] = [];
  const re = /([^.[\]]+)|\[(\*|-?\d+)\]|(\.)/gy;
  let m: RegExpExecArray | null;
  let expectKey = true;
  let pos = 0;
  while (pos < path.length) {
    re.lastIndex = pos;
    m = re.exec(path);
    if (!m) throw new InvalidArgumentError(source, `Invalid index field path ${JSON.stringify(path)}`);
    if (m[1] !== undefined) {
      if (!expectKey) throw new InvalidArgumentError(source, `Invalid index field path ${JSON.stringify(path)}`);
      tokens.push({ kind: "key", key: m[1] });
      expectKey = false;
    } else if (m[2] !== undefined) {
      tokens.push(m[2] === "*" ? { kind: "all" } : { kind: "index", index: Number(m[2]) });
      expectKey = false;
    } else {
      if (expectKey) throw new InvalidArgumentError(source, `Invalid index field path ${JSON.stringify(path)}`);
      expectKey = true;
    }
    pos = re.lastIndex;
  }
  if (tokens.length === 0 || expectKey) throw new InvalidArgumentError(source, `Invalid index field path ${JSON.stringify(path)}`);
  return tokens;
}

function textOf(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

/** Paths of index configs and puts, tokenized once (a store sees the same few paths on every put). */
const tokenized = new Map<string, readonly PathToken[]>();

function cachedTokens(path: string): readonly PathToken[] {
  let tokens = tokenized.get(path);
  if (tokens === undefined) {
    tokens = tokenizeFieldPath(path);
    if (tokenized.size >= 256) tokenized.clear();
    tokenized.set(path, tokens);
  }
  return tokens;
}

/** The texts found at `path` in `value` (several for `[*]`); missing paths yield none. */
export function textsAtPath(value: unknown, path: string): string[] {
  const tokens = cachedTokens(path);
  if (tokens.length === 1 && tokens[0].kind === "key") {
    // A top-level field, the usual index: no intermediate lists.
    const key = tokens[0].key;
    const hit = value !== null && typeof value === "object" && !Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, key);
    const text = hit ? textOf((value as Record<string, unknown>)[key]) : undefined;
    return text !== undefined && text !== "" ? [text] : [];
  }
  let current: unknown[] = [value];
  for (const t of tokens) {
    const next: unknown[] = [];
    for (const c of current) {
      if (t.kind === "key") {
        if (c !== null && typeof c === "object" && !Array.isArray(c) && Object.prototype.hasOwnProperty.call(c, t.key)) {
          next.push((c as Record<string, unknown>)[t.key]);
        }
      } else if (Array.isArray(c)) {
        if (t.kind === "all") next.push(...c);
        else {
          const i = t.index < 0 ? c.length + t.index : t.index;
          if (i >= 0 && i < c.length) next.push(c[i]);
        }
      }
    }
    current = next;
  }
  const out: string[] = [];
  for (const c of current) {
    const t = textOf(c);
    if (t !== undefined && t !== "") out.push(t);
  }
  return out;
}

/** One text to embed for one item: which field it came from and what it says. */
export interface IndexedText {
  field: string;
  text: string;
}

export function textsToEmbed(value: Record<string, unknown>, fields: readonly string[]): IndexedText[] {
  const out: IndexedText[] = [];
  for (const field of fields) for (const text of textsAtPath(value, field)) out.push({ field, text });
  return out;
}

/**
 * Embeds every text of a batch with a single `embedDocuments` call (queries use `embedQuery`, in
 * parallel). Checks the returned dimensions.
 */
export async function embedBatch(
  index: ResolvedIndexConfig,
  documents: readonly string[],
  queries: readonly string[],
  source: string,
): Promise<{ documents: number[][]; queries: number[][] }> {
  try {
    const embedDocuments = documents.length ? index.embeddings.embedDocuments([...documents]) : [];
    const [docs, qs] =
      queries.length === 0
        ? [await embedDocuments, [] as number[][]]
        : await Promise.all([embedDocuments, Promise.all(queries.map((q) => index.embeddings.embedQuery(q)))]);
    if (!Array.isArray(docs) || docs.length !== documents.length) {
      throw new InvalidArgumentError(source, `embedDocuments returned ${Array.isArray(docs) ? docs.length : "no"} vectors for ${documents.length} texts`);
    }
    for (const list of [docs, qs]) {
      for (const v of list) {
        if (!Array.isArray(v) || v.length !== index.dims) {
          throw new InvalidArgumentError(source, `Embedding has ${Array.isArray(v) ? v.length : "no"} dimensions, index.dims is ${index.dims}`);
        }
      }
    }
    return { documents: docs, queries: qs };
  } catch (err) {
    if (err instanceof PersistenceError) throw err;
    throw toPersistenceError(source, "Computing embeddings", err);
  }
}

export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na === 0 || nb === 0) return 0;
  return dot / (Math.sqrt(na) * Math.sqrt(nb));
}

/** Euclidean distance `‖a - b‖`, summed in index order. */
export function euclideanDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/** Dot product `a · b`, summed in index order. */
export function innerProduct(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot;
}

/**
 * The score of a query search for `distanceType`, higher = more similar: cosine similarity (0 when a
 * vector is all zeros), the negated Euclidean distance (`l2`), or the dot product (`inner_product`).
 * Every backend returns these numbers (up to float32 storage).
 */
export function similarity(distanceType: DistanceType, a: ArrayLike<number>, b: ArrayLike<number>): number {
  // `0 - d`, not `-d`: an identical vector scores 0, not -0.
  if (distanceType === "l2") return 0 - euclideanDistance(a, b);
  if (distanceType === "inner_product") return innerProduct(a, b);
  return cosineSimilarity(a, b);
}

/** Packs a vector as little-endian float32 bytes (the layout sqlite-vec and Redis scripts read). */
export function vectorToBytes(v: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(v).buffer);
}

export function bytesToVector(b: Uint8Array): Float32Array {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}
