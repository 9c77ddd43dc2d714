import { MemorySaver, type SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { load } from "@langchain/core/load";
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
      if (!(obj instanceof Uint8Array)) {
        const json = toJsonTree(obj, "", 0);
        if (json !== UNSUPPORTED) return ["json", utf8Bytes(JSON.stringify(json))];
      }
      const out = await this.upstream.dumpsTyped(encodeSpecial(obj, new WeakSet()));
      // Upstream swallows JSON.stringify failures and stores a placeholder string instead of the value.
      if (out[0] === "json" && obj !== UPSTREAM_PLACEHOLDER && sameBytes(out[1], UPSTREAM_PLACEHOLDER_JSON)) {
        throw new Error(hasCycle(obj, new Set()) ? CYCLE_MESSAGE : "JSON.stringify rejected it (e.g. a BigInt inside a class instance)");
      }
      // ... and writes a cycle as the string "[Circular]". Only a value whose bytes hold that string is
      // walked, to tell a cycle from the same text stored on purpose.
      if (out[0] === "json" && containsAscii(out[1], CIRCULAR_PLACEHOLDER_JSON) && hasCycle(obj, new Set())) throw new Error(CYCLE_MESSAGE);
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
      if (type === "json") {
        const revived = await reviveLangChain(JSON.parse(typeof data === "string" ? data : utf8.decode(data)));
        if (revived !== UNSUPPORTED) return revived;
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

/**
 * UTF-8 bytes of `text` in a `Uint8Array` of its own (not a view into a shared pool). Several times
 * faster than `TextEncoder#encode` on large strings (it sizes the buffer first instead of growing it),
 * the same on short ones.
 */
export function utf8Bytes(text: string): Uint8Array {
  // Allocating a buffer of its own costs more than it saves on short strings.
  if (text.length < 2048) return smallEncoder.encode(text);
  const length = Buffer.byteLength(text, "utf8");
  const buf = Buffer.allocUnsafeSlow(length);
  buf.write(text, 0, length, "utf8");
  return new Uint8Array(buf.buffer, buf.byteOffset, length);
}

const smallEncoder = new TextEncoder();

/** Returned by the fast paths for a value they do not handle: the general (upstream) path takes it. */
const UNSUPPORTED: unique symbol = Symbol("unsupported");

/** Deeper than this, the fast paths step aside (a cycle also ends up here). */
const FAST_DEPTH = 40;

/**
 * What upstream's serializer would hand to `JSON.stringify` for `value` — `toJSON()` applied (LangChain
 * messages), `undefined` as its tagged record, `Date`/`BigInt` as ours — for trees of plain objects,
 * arrays and primitives; `UNSUPPORTED` for anything upstream treats specially or that could be cyclic
 * (maps, sets, typed arrays, errors, `Send`, other class instances, functions, very deep trees).
 * `JSON.stringify` of the result has the same bytes as upstream's replacer-driven stringify, without a
 * JavaScript callback per node. Containers are copied only where something was replaced.
 */
function toJsonTree(value: unknown, key: string, depth: number, inToJson = false): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return value;
    case "undefined":
      return UNDEFINED_RECORD;
    case "bigint":
      // Inside a toJSON() result upstream would see it (and fail): let the general path report it.
      return inToJson ? UNSUPPORTED : record("BigInt", value.toString());
    case "object":
      break;
    default:
      return UNSUPPORTED;
  }
  if (depth > FAST_DEPTH) return UNSUPPORTED;
  let v = value as object;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const item = v[i] as unknown;
      const enc = toJsonTree(item, String(i), depth + 1, inToJson);
      if (enc === UNSUPPORTED) return UNSUPPORTED;
      if (enc !== item) (out ??= v.slice())[i] = enc;
    }
    return out ?? v;
  }
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (!isPlain(v)) {
    // Dates become our tagged record, but only where the general path tags them (outside toJSON() results).
    if (v instanceof Date) return inToJson ? UNSUPPORTED : record("Date", Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString());
    if (typeof toJSON !== "function" || isSpecialClass(v)) return UNSUPPORTED;
    const replaced = toJSON.call(v, key) as unknown;
    if (replaced === null || typeof replaced !== "object" || Array.isArray(replaced)) return toJsonTree(replaced, key, depth + 1, true);
    if (!isPlain(replaced)) return UNSUPPORTED;
    v = replaced;
    inToJson = true;
  } else if (typeof toJSON === "function") {
    return UNSUPPORTED;
  }
  const rec = v as Record<string, unknown>;
  if (rec.lg_name === "Send") return UNSUPPORTED;
  let out: Record<string, unknown> | undefined;
  for (const k in rec) {
    if (!Object.prototype.hasOwnProperty.call(rec, k)) continue;
    const item = rec[k];
    const enc = toJsonTree(item, k, depth + 1, inToJson);
    if (enc === UNSUPPORTED) return UNSUPPORTED;
    if (enc !== item) (out ??= { ...rec })[k] = enc;
  }
  return out ?? rec;
}

const UNDEFINED_RECORD = Object.freeze({ lc: 2, type: "undefined" });

function isSpecialClass(v: object): boolean {
  return v instanceof Map || v instanceof Set || v instanceof RegExp || v instanceof Error || ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
}

/** Constructors of LangChain classes by serialised id, learned from upstream `load` (see `reviveLangChain`). */
const builders = new Map<string, new (fields: Record<string, unknown>) => object>();
const aliasMaps = new Map<unknown, Record<string, string>>();

/**
 * Revives the LangChain objects (e.g. messages) of a parsed JSON value the way upstream's reviver does
 * — `new Class(kwargs with camelCased / aliased keys)` — without its per-node promises and the
 * stringify + parse round trip per object. Only constructor records of `langchain_core` classes whose
 * kwargs hold plain data qualify; the class is learned from upstream `load` on its first occurrence.
 * Anything else (other `lc` records, escaped objects, deep kwargs) returns `UNSUPPORTED`, before
 * anything is built, so the upstream path reads the whole value.
 */
async function reviveLangChain(parsed: unknown): Promise<unknown> {
  const found: Array<Record<string, unknown>> = [];
  if (!collectLangChain(parsed, found, 0)) return UNSUPPORTED;
  for (const rec of found) {
    const id = (rec.id as string[]).join("\u0000");
    if (builders.has(id)) continue;
    const instance = (await load(JSON.stringify(rec))) as object | null;
    const ctor = instance?.constructor as (new (fields: Record<string, unknown>) => object) | undefined;
    if (typeof ctor !== "function" || Object.getPrototypeOf(instance) !== ctor.prototype) return UNSUPPORTED;
    builders.set(id, ctor);
  }
  return build(parsed);
}

function collectLangChain(value: unknown, found: Array<Record<string, unknown>>, depth: number): boolean {
  if (value === null || typeof value !== "object") return true;
  if (depth > FAST_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!collectLangChain(item, found, depth + 1)) return false;
    return true;
  }
  const rec = value as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(rec, "lc")) {
    if (!isCoreConstructor(rec) || !isPlainData(rec.kwargs, 0)) return false;
    found.push(rec);
    return true;
  }
  for (const k in rec) if (!collectLangChain(rec[k], found, depth + 1)) return false;
  return true;
}

function isCoreConstructor(rec: Record<string, unknown>): boolean {
  const { id, kwargs } = rec;
  return (
    rec.lc === 1 &&
    rec.type === "constructor" &&
    Array.isArray(id) &&
    id.length >= 3 &&
    id[0] === "langchain_core" &&
    id.every((p) => typeof p === "string") &&
    kwargs !== null &&
    typeof kwargs === "object" &&
    !Array.isArray(kwargs)
  );
}

/** JSON data with nothing for upstream's revivers to act on (no `lc` record, no escaped object). */
function isPlainData(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== "object") return true;
  if (depth > FAST_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isPlainData(item, depth + 1)) return false;
    return true;
  }
  const rec = value as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(rec, "lc") || Object.prototype.hasOwnProperty.call(rec, "__lc_escaped__")) return false;
  for (const k in rec) if (!isPlainData(rec[k], depth + 1)) return false;
  return true;
}

function build(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = build(value[i]);
    return value;
  }
  const rec = value as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(rec, "lc")) {
    const ids = rec.id as string[];
    const Builder = builders.get(ids.join("\u0000"))!;
    const aliases = aliasesOf(Builder);
    const kwargs = rec.kwargs as Record<string, unknown>;
    const fields: Record<string, unknown> = {};
    for (const k in kwargs) if (Object.prototype.hasOwnProperty.call(kwargs, k)) fields[aliases[k] || camelCase(k)] = kwargs[k];
    const instance = new Builder(fields);
    // As upstream's `load` does for every revived object.
    Object.defineProperty(instance.constructor, "name", { value: ids[ids.length - 1] });
    return instance;
  }
  for (const k in rec) {
    const item = rec[k];
    if (item !== null && typeof item === "object") rec[k] = build(item);
  }
  return rec;
}

/** `lc_aliases` of a class and its ancestors, inverted (serialised name → field name), as upstream `load` reads them. */
function aliasesOf(ctor: unknown): Record<string, string> {
  let inverted = aliasMaps.get(ctor);
  if (inverted) return inverted;
  const aliases: Record<string, string> = {};
  for (let c = ctor as { prototype?: object } | null; c && c.prototype; c = Object.getPrototypeOf(c) as { prototype?: object } | null) {
    Object.assign(aliases, Reflect.get(c.prototype, "lc_aliases"));
  }
  inverted = {};
  for (const [k, v] of Object.entries(aliases)) inverted[v] = k;
  aliasMaps.set(ctor, inverted);
  return inverted;
}

const camelCache = new Map<string, string>();

/** Upstream's `keyFromJson` without an alias (`@langchain/core` does not export it): snake_case → camelCase. */
function camelCase(key: string): string {
  let out = camelCache.get(key);
  if (out !== undefined) return out;
  const trimmed = key.trim();
  out = !/[-_\s]/.test(trimmed)
    ? trimmed
    : trimmed
        .replace(/[-_\s]+/g, "_")
        .toLowerCase()
        .replace(/_+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  if (camelCache.size < 1000) camelCache.set(key, out);
  return out;
}

/** What the upstream serializer writes when `JSON.stringify` throws, instead of raising. */
const UPSTREAM_PLACEHOLDER = "[unable to serialize, circular reference is too complex to analyze]";
const UPSTREAM_PLACEHOLDER_JSON = new TextEncoder().encode(JSON.stringify(UPSTREAM_PLACEHOLDER));

const CYCLE_MESSAGE = "it contains a circular reference (an object that contains itself), which cannot be stored";

/** What upstream's safe-stringify writes in place of a reference back to an enclosing object. */
const CIRCULAR_PLACEHOLDER_JSON = new TextEncoder().encode(JSON.stringify("[Circular]"));

/** Whether `value` reaches one of its own ancestors (through object keys, array items, map and set entries). */
function hasCycle(value: unknown, ancestors: Set<object>): boolean {
  if (value === null || typeof value !== "object") return false;
  if (ancestors.has(value)) return true;
  ancestors.add(value);
  let found = false;
  if (Array.isArray(value)) {
    for (const item of value) if ((found = hasCycle(item, ancestors))) break;
  } else if (value instanceof Map) {
    for (const [k, v] of value) if ((found = hasCycle(k, ancestors) || hasCycle(v, ancestors))) break;
  } else if (value instanceof Set) {
    for (const item of value) if ((found = hasCycle(item, ancestors))) break;
  } else {
    for (const k of Object.keys(value)) if ((found = hasCycle((value as Record<string, unknown>)[k], ancestors))) break;
  }
  ancestors.delete(value);
  return found;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const LC_KEY = '"lc"';
const LC_KEY_BYTES = new TextEncoder().encode(LC_KEY);
const utf8 = new TextDecoder();

/**
 * Whether core's serializer reads these JSON bytes back as exactly `JSON.parse` would: nothing in them
 * can be a LangChain record or a tagged value (no `"lc"` key).
 */
export function readsAsPlainJson(data: Uint8Array): boolean {
  return !containsAscii(data, LC_KEY_BYTES);
}

function containsAscii(hay: Uint8Array, needle: Uint8Array): boolean {
  // Buffer#indexOf searches natively (memmem), an order of magnitude faster than a JS loop on large values.
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle) !== -1;
}

/** A fresh upstream `JsonPlusSerializer`, taken from the upstream `MemorySaver` default. */
export function createUpstreamSerializer(): SerializerProtocol {
  const Ctor = new MemorySaver().serde.constructor as new () => SerializerProtocol;
  return new Ctor();
}
