import { InvalidArgumentError, JSON_FRAGMENTS, packJsonText, unpackJsonText } from "@langgraph-persist/core";

/**
 * Every Redis key this package uses, in one place.
 *
 * Keys are grouped by Redis Cluster hash tag (`{...}`), because a Lua script may only touch keys of one
 * slot. The tag is chosen so that everything one atomic operation writes lives in one slot:
 *
 * | tag                        | holds                                                    | why one slot                               |
 * | -------------------------- | -------------------------------------------------------- | ------------------------------------------ |
 * | `{<prefix>:t:<thread>}`    | one checkpointer thread: namespaces, checkpoints, blobs, writes | `put`, `putWrites`, `deleteThread`, `prune` are one script each |
 * | `{<prefix>:i}`             | the checkpointer's global indexes (threads, checkpoints, runs) | cross-thread `list`, `listThreads`, `deleteForRuns` |
 * | `{<prefix>:s}`             | the whole store: items, namespace index, per-namespace order | a `batch()` is one atomic script, searches span namespaces |
 * | `{<prefix>:m}`             | layout version and the setup lock                        | setup bookkeeping                          |
 *
 * Per thread the key count is constant per namespace (`1 + 3 × namespaces`), not per checkpoint, so
 * refreshing a thread's TTL on every write costs O(namespaces). Scripts receive one key of the tag in
 * `KEYS` (for routing and for a client-side `keyPrefix`) and derive the others from it.
 */

/** Separator between a lexicographically ordered index member's sort key and its payload. */
export const INDEX_SEPARATOR = "\u0000";

const PREFIX_RE = /^[A-Za-z0-9_.\-/|]+$/;

/**
 * Validates the `keyPrefix` option. It goes inside hash tags and is followed by `:`, so it may not contain
 * `{`, `}` or `:` — that keeps two different prefixes from ever sharing a key.
 */
export function validateKeyPrefix(prefix: unknown, source: string): string {
  if (typeof prefix !== "string" || prefix.length === 0 || prefix.length > 64 || !PREFIX_RE.test(prefix)) {
    throw new InvalidArgumentError(
      source,
      `keyPrefix must be 1-64 characters of letters, digits and _ . - / |, got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix;
}

/**
 * Thread ids are arbitrary strings. Inside a hash tag a `}` would end the tag early, so `%` and `}` are
 * percent-encoded; the mapping stays injective, and different ids never share keys.
 */
export function encodeTagPart(id: string): string {
  return id.replace(/%/g, "%25").replace(/}/g, "%7D");
}

/** Length-prefixed, binary-safe list encoding shared with the Lua scripts: `<byte length>:<bytes>` per element. */
export function packList(parts: ReadonlyArray<string | Uint8Array>): Buffer {
  const lengths = new Array<number>(parts.length);
  let total = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const n = typeof p === "string" ? Buffer.byteLength(p, "utf8") : p.byteLength;
    lengths[i] = n;
    total += n + 1 + (n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : String(n).length);
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    pos += out.write(String(lengths[i]), pos, "latin1");
    out[pos++] = 0x3a;
    if (typeof p === "string") pos += out.write(p, pos, "utf8");
    else {
      out.set(p, pos);
      pos += p.byteLength;
    }
  }
  return out;
}

/** Inverse of `packList`; elements are returned as views on `buf`. */
export function unpackList(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const colon = buf.indexOf(0x3a, pos);
    if (colon < 0) throw new Error("corrupt packed list");
    const len = Number(buf.toString("latin1", pos, colon));
    if (!Number.isInteger(len) || colon + 1 + len > buf.length) throw new Error("corrupt packed list");
    out.push(buf.subarray(colon + 1, colon + 1 + len));
    pos = colon + 1 + len;
  }
  return out;
}

/**
 * Rows store JSON text with core's fragment dictionary (`JSON_FRAGMENTS`: each fixed fragment of the
 * checkpoint format, the metadata and core's version padding becomes one control byte 0x01-0x1f). Text
 * that contains a byte below 0x20 is stored as `\0` + the text, unchanged.
 */
export { JSON_FRAGMENTS };

/** JSON text (any string) → its stored form. */
export function packJson(text: string): string {
  return packJsonText(text) ?? `\u0000${text}`;
}

/** Inverse of `packJson`; `latin1` when the text is raw bytes (checkpoint data), else UTF-8. */
export function unpackJson(stored: Buffer, encoding: "utf8" | "latin1"): string {
  if (stored.length > 0 && stored[0] === 0) return stored.toString(encoding, 1);
  return unpackJsonText(stored.toString(encoding));
}

/** The dictionary as a Lua table literal, byte → fragment, so the scripts expand exactly what TS wrote. */
export function luaFragmentTable(): string {
  const lit = (s: string) => `'${[...Buffer.from(s, "utf8")].map((b) => `\\${b}`).join("")}'`;
  return `{${JSON_FRAGMENTS.map((f, i) => `[${lit(String.fromCharCode(i + 1))}] = ${lit(f)}`).join(", ")}}`;
}

/** Checkpointer keys of one saver. */
export class SaverKeys {
  constructor(readonly prefix: string) {}

  /** The routing key of a thread's tag: its namespace registry. Scripts derive `<tag>:cp:<ns>` etc. from it. */
  thread(threadId: string): string {
    return `{${this.prefix}:t:${encodeTagPart(threadId)}}:ns`;
  }

  /** A thread's pending writes in one namespace: hash checkpoint id → packed list of writes. */
  writes(threadId: string, ns: string): string {
    return `{${this.prefix}:t:${encodeTagPart(threadId)}}:w:${ns}`;
  }

  /** Every per-thread key, for tests and tools: `<tag>:ns`, and per namespace `cp`, `w`, `b`. */
  threadKeys(threadId: string, namespaces: readonly string[]): string[] {
    const tag = `{${this.prefix}:t:${encodeTagPart(threadId)}}`;
    return [`${tag}:ns`, ...namespaces.flatMap((ns) => [`${tag}:cp:${ns}`, `${tag}:w:${ns}`, `${tag}:b:${ns}`])];
  }

  /** Pattern matching every key of one thread (tests only: SCAN is never used by the saver). */
  threadPattern(threadId: string): string {
    return `{${this.prefix}:t:${escapeGlob(encodeTagPart(threadId))}}:*`;
  }

  /**
   * Routing key of the global index slot: a sorted set of every checkpoint, member
   * `<checkpointId>\0<pack(threadId, ns)>` at score 0, so `ZRANGE BYLEX REV` lists all threads newest first.
   */
  checkpointIndex(): string {
    return `{${this.prefix}:i}:cps`;
  }

  /** Threads by latest checkpoint id (root namespace first): member `<checkpointId>\0<threadId>`, score 0. */
  threadIndex(): string {
    return `{${this.prefix}:i}:threads`;
  }

  /** Hash threadId → pack(latest id, has-root flag): the member each thread currently has in `threads`. */
  headIndex(): string {
    return `{${this.prefix}:i}:heads`;
  }

  /** Set of pack(threadId, ns, checkpointId) of the checkpoints a run wrote, for `deleteForRuns`. */
  runIndex(runId: string): string {
    return `{${this.prefix}:i}:run:${runId}`;
  }

  /** Sorted set of run ids that have a run set (so a sweep can visit them without SCAN). */
  runRegistry(): string {
    return `{${this.prefix}:i}:runs`;
  }

  /** Pattern matching every key of this prefix (tests only). */
  allPattern(): string {
    return `{${escapeGlob(this.prefix)}:*`;
  }
}

/** Store keys of one store. */
export class StoreKeys {
  constructor(readonly prefix: string) {}

  /**
   * Routing key of the store slot: a sorted set (score 0) of the encoded namespaces that hold items,
   * so `listNamespaces` and prefix searches are `ZRANGE BYLEX` range reads.
   * Scripts derive `<tag>:ord:<ns>` (sorted set key → updatedAt ms) and
   * `<tag>:item:<byte length of ns>:<ns><key>` (hash: v value JSON, c createdAt, u updatedAt, t ttl ms, vec float32 vectors).
   */
  namespaces(): string {
    return `{${this.prefix}:s}:nss`;
  }

  ordering(ns: string): string {
    return `{${this.prefix}:s}:ord:${ns}`;
  }

  item(ns: string, key: string): string {
    return `{${this.prefix}:s}:item:${Buffer.byteLength(ns, "utf8")}:${ns}${key}`;
  }
}

/** Layout version and setup lock. */
export class MetaKeys {
  constructor(readonly prefix: string) {}

  version(): string {
    return `{${this.prefix}:m}:version`;
  }

  lock(): string {
    return `{${this.prefix}:m}:lock`;
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
