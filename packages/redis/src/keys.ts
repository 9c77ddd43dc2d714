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
  if (!id.includes("%") && !id.includes("}")) return id;
  return id.replace(/%/g, "%25").replace(/}/g, "%7D");
}

/** An element of a packed list: text (UTF-8), bytes, or a list packed in place. */
export type Packable = string | Uint8Array | ReadonlyArray<Packable>;

const digits = (n: number) => (n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : String(n).length);

/** Strings up to this length are measured and copied in JavaScript when ASCII (native calls cost more). */
const SHORT = 48;

/** UTF-8 byte length; short ASCII strings without a native call. */
function byteLength(s: string): number {
  if (s.length > SHORT) return Buffer.byteLength(s, "utf8");
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, "utf8");
  return s.length;
}

/** Byte length of each element, depth first, into `sizes`; returns the packed size of `parts`. */
function measure(parts: ReadonlyArray<Packable>, sizes: number[]): number {
  let total = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    let n: number;
    if (typeof p === "string") {
      n = byteLength(p);
      sizes.push(n);
    } else if (p instanceof Uint8Array) {
      n = p.byteLength;
      sizes.push(n);
    } else {
      const at = sizes.length;
      sizes.push(0);
      n = measure(p as ReadonlyArray<Packable>, sizes);
      sizes[at] = n;
    }
    total += n + 1 + digits(n);
  }
  return total;
}

function write(parts: ReadonlyArray<Packable>, sizes: number[], at: { size: number; pos: number }, out: Buffer): void {
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const n = sizes[at.size++];
    let pos = at.pos;
    // The length in decimal, then ':'.
    const d = digits(n);
    for (let k = d - 1, v = n; k >= 0; k--, v = Math.floor(v / 10)) out[pos + k] = 0x30 + (v % 10);
    pos += d;
    out[pos++] = 0x3a;
    if (typeof p === "string") {
      if (n === p.length && n <= SHORT) {
        for (let k = 0; k < n; k++) out[pos + k] = p.charCodeAt(k);
        pos += n;
      } else pos += out.write(p, pos, "utf8");
      at.pos = pos;
    } else if (p instanceof Uint8Array) {
      if (n <= SHORT) for (let k = 0; k < n; k++) out[pos + k] = p[k];
      else out.set(p, pos);
      at.pos = pos + n;
    } else {
      at.pos = pos;
      write(p as ReadonlyArray<Packable>, sizes, at, out);
    }
  }
}

/**
 * Length-prefixed, binary-safe list encoding shared with the Lua scripts: `<byte length>:<bytes>` per element;
 * an element that is itself a list is packed in place (one allocation for the whole). With `head`, the
 * result is `head` (UTF-8), a NUL byte, then the list (a checkpoint's sorted-set member).
 */
export function packList(parts: ReadonlyArray<Packable>, head?: string): Buffer {
  const sizes: number[] = [];
  const total = measure(parts, sizes);
  const headBytes = head === undefined ? 0 : byteLength(head) + 1;
  const out = Buffer.allocUnsafe(headBytes + total);
  const at = { size: 0, pos: 0 };
  if (head !== undefined) {
    at.pos = out.write(head, 0, "utf8");
    out[at.pos++] = 0;
  }
  write(parts, sizes, at, out);
  return out;
}

/** Inverse of `packList`; elements are returned as views on `buf`. */
export function unpackList(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const end = buf.length;
  let pos = 0;
  while (pos < end) {
    // Decimal length up to ':' (at most 15 digits: a length beyond that cannot be in the buffer anyway).
    let len = 0;
    let p = pos;
    for (let c = buf[p]; c !== 0x3a; c = buf[++p]) {
      if (c === undefined || c < 0x30 || c > 0x39 || p - pos >= 15) throw new Error("corrupt packed list");
      len = len * 10 + (c - 0x30);
    }
    if (p === pos || p + 1 + len > end) throw new Error("corrupt packed list");
    out.push(buf.subarray(p + 1, p + 1 + len));
    pos = p + 1 + len;
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
