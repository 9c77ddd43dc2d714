/**
 * BSON field names are NUL-terminated C strings: an object key containing U+0000 cannot be stored
 * (the serializer refuses it on the client), while string values can hold any character. A store value
 * with such a key is therefore stored with its keys escaped, and the item document says so
 * (`keys_escaped: true`); every other value is stored exactly as given.
 *
 * The escape maps `\u0000` → `\u0001\u0001` and `\u0001` → `\u0001\u0002` in object keys (at every
 * depth), every other character unchanged: a prefix-free code, so it is reversible and distinct keys
 * stay distinct. It never introduces `.` or `$`, so keys keep whatever they had of those (MongoDB 5.0+
 * stores them through `$literal`, and filters read fields with `$getField`, never as dotted paths).
 * Filter paths that contain either character look the segment up escaped in escaped documents and as
 * is in the others (see `query.ts`).
 */

/** Item document field marking a value whose keys went through `escapeKeys`. */
export const KEYS_ESCAPED = "keys_escaped";

/** Characters the key escape rewrites; a key or path segment without them is the same escaped. */
export const ESCAPED_CHARS = /[\u0000\u0001]/;
const ESCAPED_CHARS_G = /[\u0000\u0001]/g;
const ESCAPE_SEQUENCE_G = /\u0001([\u0001\u0002])/g;

export function escapeKey(key: string): string {
  return ESCAPED_CHARS.test(key) ? key.replace(ESCAPED_CHARS_G, (c) => (c === "\u0000" ? "\u0001\u0001" : "\u0001\u0002")) : key;
}

export function unescapeKey(key: string): string {
  return key.includes("\u0001") ? key.replace(ESCAPE_SEQUENCE_G, (_m, c: string) => (c === "\u0001" ? "\u0000" : "\u0001")) : key;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof Date);
}

/** Whether some object key of `value`, at any depth, contains U+0000 (which BSON cannot hold). */
export function hasNulKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasNulKey);
  if (!isRecord(value)) return false;
  for (const [k, v] of Object.entries(value)) {
    if (k.includes("\u0000") || hasNulKey(v)) return true;
  }
  return false;
}

function mapKeys(value: unknown, f: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapKeys(v, f));
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = f(k);
    // An own "__proto__" key stays a key, never becomes the prototype.
    if (key === "__proto__") Object.defineProperty(out, key, { value: mapKeys(v, f), enumerable: true, writable: true, configurable: true });
    else out[key] = mapKeys(v, f);
  }
  return out;
}

/**
 * The value as stored: unchanged unless a key contains U+0000, else with every key escaped (`escaped`
 * is then true and the document gets `keys_escaped: true`).
 */
export function storedValue<T>(value: T): { value: T; escaped: boolean } {
  if (!hasNulKey(value)) return { value, escaped: false };
  return { value: mapKeys(value, escapeKey) as T, escaped: true };
}

/** The value of an item document as it was put. */
export function readValue<T>(doc: { value: T; [KEYS_ESCAPED]?: unknown }): T {
  return doc[KEYS_ESCAPED] === true ? (mapKeys(doc.value, unescapeKey) as T) : doc.value;
}
