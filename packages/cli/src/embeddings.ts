import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Embeddings } from "@langchain/core/embeddings";
import type { IndexConfig } from "@langgraph-persist/core";
import { CliError, UsageError } from "./errors.js";

/**
 * Deterministic, offline embeddings: hashed word unigrams and character trigrams, L2-normalised.
 * Texts that share words (or word stems) score high, unrelated texts near zero. Good enough for a demo
 * and for tests; no network, no model download.
 *
 * @example
 * const store = new InMemoryStore({ index: { dims: 256, embeddings: new HashEmbeddings(256) } });
 */
export class HashEmbeddings extends Embeddings {
  readonly dims: number;

  constructor(dims = 256) {
    super({});
    if (!Number.isInteger(dims) || dims <= 0) throw new UsageError(`embedding dimensions must be a positive integer, got ${String(dims)}`);
    this.dims = dims;
  }

  embedText(text: string): number[] {
    const v = new Array<number>(this.dims).fill(0);
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    for (const w of words) {
      v[fnv1a(w) % this.dims] += 2;
      const padded = ` ${w} `;
      for (let i = 0; i + 3 <= padded.length; i++) v[fnv1a(padded.slice(i, i + 3)) % this.dims] += 0.5;
    }
    const len = Math.hypot(...v);
    return len === 0 ? v : v.map((x) => x / len);
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    return texts.map((t) => this.embedText(t));
  }

  async embedQuery(text: string): Promise<number[]> {
    return this.embedText(text);
  }
}

function fnv1a(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/**
 * The store `index` for `--embeddings`: `hash` / `hash:<dims>` (the built-in `HashEmbeddings`, what the
 * demo uses), or a module path whose default export is an `IndexConfig` (`{ dims, embeddings, fields? }`)
 * or a LangChain `Embeddings` instance.
 */
export async function loadIndexConfig(spec: string | undefined, fields: string[] | undefined): Promise<IndexConfig | undefined> {
  if (spec === undefined) return undefined;
  const hash = /^hash(?::(\d+))?$/.exec(spec);
  if (hash) {
    const dims = hash[1] ? Number(hash[1]) : 256;
    return { dims, embeddings: new HashEmbeddings(dims), ...(fields ? { fields } : {}) };
  }
  const path = resolve(spec);
  if (!existsSync(path)) throw new UsageError(`--embeddings: no module at ${path} (use "hash", "hash:<dims>" or a module path)`);
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const exported = (mod.default ?? mod.index ?? mod.embeddings) as unknown;
  if (exported && typeof (exported as IndexConfig).embeddings === "object" && typeof (exported as IndexConfig).dims === "number") {
    const config = exported as IndexConfig;
    return fields ? { ...config, fields } : config;
  }
  if (exported && typeof (exported as Embeddings).embedDocuments === "function") {
    const embeddings = exported as Embeddings;
    const dims = (await embeddings.embedQuery("dimensions")).length;
    return { dims, embeddings, ...(fields ? { fields } : {}) };
  }
  throw new CliError(`--embeddings: ${path} must default-export { dims, embeddings, fields? } or a LangChain Embeddings instance`);
}
