import { Embeddings } from "@langchain/core/embeddings";

/**
 * Deterministic, offline embeddings: hashed word unigrams and character trigrams, L2-normalised.
 * Texts that share words score high; unrelated texts score near zero. Counts its calls so tests can
 * assert batching.
 */
export class HashEmbeddings extends Embeddings {
  readonly dims: number;
  documentCalls = 0;
  queryCalls = 0;
  embeddedTexts = 0;

  constructor(dims = 64) {
    super({});
    this.dims = dims;
  }

  embedText(text: string): number[] {
    const v = new Array<number>(this.dims).fill(0);
    const norm = text.toLowerCase();
    const words = norm.match(/[\p{L}\p{N}]+/gu) ?? [];
    for (const w of words) v[hash(w) % this.dims] += 2;
    for (const w of words) {
      const padded = ` ${w} `;
      for (let i = 0; i + 3 <= padded.length; i++) v[hash(padded.slice(i, i + 3)) % this.dims] += 0.5;
    }
    const len = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return len === 0 ? v : v.map((x) => x / len);
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    this.documentCalls++;
    this.embeddedTexts += texts.length;
    return texts.map((t) => this.embedText(t));
  }

  async embedQuery(text: string): Promise<number[]> {
    this.queryCalls++;
    return this.embedText(text);
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/**
 * Embeddings that return hand-chosen vectors: each known text maps to its vector (copied, so a store
 * cannot alter the table). An unknown text throws, so a test never scores a vector it did not choose.
 */
export class FixedEmbeddings extends Embeddings {
  readonly dims: number;
  private readonly table: ReadonlyMap<string, readonly number[]>;

  constructor(vectors: Record<string, readonly number[]>) {
    super({});
    const entries = Object.entries(vectors);
    if (entries.length === 0) throw new Error("FixedEmbeddings needs at least one vector");
    this.dims = entries[0][1].length;
    for (const [text, v] of entries) {
      if (v.length !== this.dims) throw new Error(`FixedEmbeddings: ${JSON.stringify(text)} has ${v.length} dimensions, expected ${this.dims}`);
    }
    this.table = new Map(entries);
  }

  vectorOf(text: string): number[] {
    const v = this.table.get(text);
    if (v === undefined) throw new Error(`FixedEmbeddings has no vector for ${JSON.stringify(text)}`);
    return [...v];
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    return texts.map((t) => this.vectorOf(t));
  }

  async embedQuery(text: string): Promise<number[]> {
    return this.vectorOf(text);
  }
}
