import { MemorySaver, type SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { SerializationError } from "./errors.js";

const SOURCE = "@langgraph-persist/core";

type Record2 = { lc: 2; type: "constructor"; id: [string]; method: null; args: unknown[]; kwargs: Record<string, never> };

function record(name: "Date" | "BigInt", arg: string): Record2 {
  return { lc: 2, type: "constructor", id: [name], method: null, args: [arg], kwargs: {} };
}

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Replaces `Date` and `BigInt` by tagged records before the upstream serializer sees them (upstream
 * turns a Date into a string and throws on BigInt). Containers are copied only where something was
 * replaced, so values without dates cost one walk and no allocation.
 */
function encodeSpecial(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === "bigint") return record("BigInt", value.toString());
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date) return record("Date", Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString());
  if (seen.has(value)) return value;
  if (Array.isArray(value)) {
    seen.add(value);
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const enc = encodeSpecial(value[i], seen);
      if (enc !== value[i]) (out ??= value.slice())[i] = enc;
    }
    return out ?? value;
  }
  if (value instanceof Map) {
    seen.add(value);
    let changed = false;
    const entries = [...value.entries()].map(([k, v]) => {
      const ek = encodeSpecial(k, seen);
      const ev = encodeSpecial(v, seen);
      if (ek !== k || ev !== v) changed = true;
      return [ek, ev] as const;
    });
    return changed ? new Map(entries) : value;
  }
  if (value instanceof Set) {
    seen.add(value);
    let changed = false;
    const items = [...value].map((v) => {
      const ev = encodeSpecial(v, seen);
      if (ev !== v) changed = true;
      return ev;
    });
    return changed ? new Set(items) : value;
  }
  if (!isPlain(value)) return value;
  seen.add(value);
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const enc = encodeSpecial(v, seen);
    if (enc !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = enc;
  }
  return out ?? value;
}

function isSpecialRecord(v: Record<string, unknown>): "Date" | "BigInt" | undefined {
  if (v.lc !== 2 || v.type !== "constructor" || !Array.isArray(v.id) || v.id.length !== 1) return undefined;
  if (!Array.isArray(v.args) || v.args.length !== 1 || typeof v.args[0] !== "string") return undefined;
  return v.id[0] === "Date" || v.id[0] === "BigInt" ? v.id[0] : undefined;
}

function decodeSpecial(value: unknown, seen: WeakSet<object>): unknown {
  if (value === null || typeof value !== "object" || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = decodeSpecial(value[i], seen);
    return value;
  }
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([k, v]) => [decodeSpecial(k, seen), decodeSpecial(v, seen)] as const);
    value.clear();
    for (const [k, v] of entries) value.set(k, v);
    return value;
  }
  if (value instanceof Set) {
    const items = [...value].map((v) => decodeSpecial(v, seen));
    value.clear();
    for (const v of items) value.add(v);
    return value;
  }
  const rec = value as Record<string, unknown>;
  const kind = isSpecialRecord(rec);
  if (kind === "Date") return new Date((rec.args as string[])[0]);
  if (kind === "BigInt") {
    try {
      return BigInt((rec.args as string[])[0]);
    } catch {
      return value;
    }
  }
  for (const k of Object.keys(rec)) {
    const d = decodeSpecial(rec[k], seen);
    if (d !== rec[k]) rec[k] = d;
  }
  return value;
}

/**
 * The default serializer of every langgraph-persist saver: upstream `JsonPlusSerializer`, plus
 * `Date` → `Date` and `BigInt` → `BigInt` round-trips. Data written by the plain upstream serializer
 * reads back exactly as upstream would read it.
 */
export class PersistSerializer implements SerializerProtocol {
  /** The upstream serializer this one delegates to (the package does not export its class, only its savers use it). */
  private readonly upstream: SerializerProtocol = createUpstreamSerializer();

  async dumpsTyped(obj: unknown): Promise<[string, Uint8Array]> {
    try {
      const out = await this.upstream.dumpsTyped(encodeSpecial(obj, new WeakSet()));
      // Upstream swallows JSON.stringify failures and stores a placeholder string instead of the value.
      if (out[0] === "json" && obj !== UPSTREAM_PLACEHOLDER && sameBytes(out[1], UPSTREAM_PLACEHOLDER_JSON)) {
        throw new Error("JSON.stringify rejected it (e.g. a BigInt inside a class instance)");
      }
      return out;
    } catch (err) {
      throw new SerializationError(SOURCE, `Value cannot be serialised: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async loadsTyped(type: string, data: Uint8Array | string): Promise<any> {
    let loaded: unknown;
    try {
      // Without an `"lc"` key there is nothing for upstream's (async, per-node) reviver to revive: LangChain
      // objects, constructors, undefined and delta snapshots are all `lc` records. A plain parse is
      // several times faster on large values and returns the same data.
      if (type === "json" && !(typeof data === "string" ? data.includes(LC_KEY) : containsAscii(data, LC_KEY_BYTES))) {
        return JSON.parse(typeof data === "string" ? data : utf8.decode(data)) as unknown;
      }
      loaded = await this.upstream.loadsTyped(type, data);
    } catch (err) {
      throw new SerializationError(SOURCE, `Stored value of type "${type}" cannot be deserialised: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (type !== "json") return loaded;
    // Only walk the result when the payload can contain a tagged Date/BigInt at all.
    const text = typeof data === "string" ? data : undefined;
    if (text !== undefined ? !text.includes('"lc":2') : !containsAscii(data as Uint8Array, LC2)) return loaded;
    return decodeSpecial(loaded, new WeakSet());
  }
}

const LC2 = new TextEncoder().encode('"lc":2');

/** What the upstream serializer writes when `JSON.stringify` throws, instead of raising. */
const UPSTREAM_PLACEHOLDER = "[unable to serialize, circular reference is too complex to analyze]";
const UPSTREAM_PLACEHOLDER_JSON = new TextEncoder().encode(JSON.stringify(UPSTREAM_PLACEHOLDER));

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const LC_KEY = '"lc"';
const LC_KEY_BYTES = new TextEncoder().encode(LC_KEY);
const utf8 = new TextDecoder();

function containsAscii(hay: Uint8Array, needle: Uint8Array): boolean {
  // Buffer#indexOf searches natively (memmem), an order of magnitude faster than a JS loop on large values.
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle) !== -1;
}

/** A fresh upstream `JsonPlusSerializer`, taken from the upstream `MemorySaver` default. */
export function createUpstreamSerializer(): SerializerProtocol {
  const Ctor = new MemorySaver().serde.constructor as new () => SerializerProtocol;
  return new Ctor();
}
