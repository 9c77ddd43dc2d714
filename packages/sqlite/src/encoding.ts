/**
 * Compact column encodings of the checkpoint tables. Each one is lossless, local to its row and
 * readable in both directions without looking at other rows; rows written by earlier versions of the
 * package (plain values) read back unchanged.
 */

import { packJsonText, unpackJsonText, utf8Bytes } from "@langgraph-persist/core";

/** The serde type nearly every value has; stored as NULL. */
const DEFAULT_TYPE = "json";

/** A serde type as stored: NULL for `"json"`. */
export function storedType(type: string): string | null {
  return type === DEFAULT_TYPE ? null : type;
}

/** A stored serde type back. */
export function loadedType(stored: string | null): string {
  return stored ?? DEFAULT_TYPE;
}

const textDecoder = new TextDecoder();

/**
 * The `checkpoint` column. JSON (every row but those of a custom serde) is stored as TEXT with core's
 * fragment dictionary (`packJsonText`: the checkpoint format's keys, channel names and version padding
 * become one control character each); the storage class marks it, so `checkpoint_type` stays NULL and
 * other values keep their BLOB. JSON holding control characters (not compact), and every row of a
 * database whose text encoding is not UTF-8 (where TEXT would take two bytes a character), stay BLOBs.
 */
export function storedCheckpoint(type: string, data: Uint8Array, utf8: boolean): { type: string | null; value: string | Buffer } {
  if (type === DEFAULT_TYPE && utf8) {
    const packed = packJsonText(textDecoder.decode(data));
    if (packed !== undefined) return { type: null, value: packed };
  }
  return { type: storedType(type), value: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}

/** The `checkpoint` column back: its serde type and bytes. */
export function loadedCheckpoint(type: string | null, value: string | Uint8Array): { type: string; data: Uint8Array } {
  if (typeof value === "string") return { type: DEFAULT_TYPE, data: utf8Bytes(unpackJsonText(value)) };
  return { type: loadedType(type), data: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) };
}

/**
 * `parent_checkpoint_id` relative to the row's own `checkpoint_id`: consecutive checkpoint ids (uuid6,
 * time-ordered) share a long prefix, so the parent is stored as a BLOB `[n, ...suffix]` — the length of
 * the shared prefix (UTF-16 code units, at most 255) and the rest of the parent id as UTF-8 — when that
 * is shorter than the id itself. Otherwise (no useful shared prefix) it is stored as TEXT, as is.
 */
export function storedParent(id: string, parent: string | null): string | Buffer | null {
  if (parent === null) return null;
  const max = Math.min(id.length, parent.length, 255);
  let n = 0;
  while (n < max && id.charCodeAt(n) === parent.charCodeAt(n)) n++;
  // Never split a surrogate pair: the suffix must be valid UTF-16 to survive UTF-8.
  if (n > 0 && isHighSurrogate(parent.charCodeAt(n - 1))) n--;
  if (n < 2) return parent;
  const suffix = Buffer.from(parent.slice(n), "utf8");
  const out = Buffer.allocUnsafe(suffix.length + 1);
  out[0] = n;
  suffix.copy(out, 1);
  return out;
}

/** A stored parent id back, given the row's own id. */
export function loadedParent(id: string, stored: unknown): string | null {
  if (stored === null || stored === undefined) return null;
  if (typeof stored === "string") return stored;
  const b = stored as Uint8Array;
  return id.slice(0, b[0]) + Buffer.from(b.buffer, b.byteOffset + 1, b.byteLength - 1).toString("utf8");
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Separates a reference's channel from its key, and one reference from the next, in the compact form. */
const FIELD = "\u001f";
const ENTRY = "\u001e";

/** Characters that would need escaping inside a JSON string. */
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/**
 * `blob_refs` (`[[channel, key], ...]`). The compact form `channel US key RS channel US key ...` is
 * used when no channel or key holds a character JSON would escape (`"`, `\`, control characters) and
 * the text does not start with `[`; it saves the JSON punctuation and turns into exactly that JSON by
 * plain text replacement (see `refsJson`). Anything else is stored as JSON.
 */
export function storedRefs(refs: ReadonlyArray<readonly [string, string]>): string {
  let compact = refs.length > 0 && !refs[0][0].startsWith("[");
  for (let i = 0; compact && i < refs.length; i++) compact = !NEEDS_ESCAPE.test(refs[i][0]) && !NEEDS_ESCAPE.test(refs[i][1]);
  if (!compact) return JSON.stringify(refs);
  let out = "";
  for (let i = 0; i < refs.length; i++) out += (i === 0 ? "" : ENTRY) + refs[i][0] + FIELD + refs[i][1];
  return out;
}

/** Stored `blob_refs` back. */
export function loadedRefs(stored: string): Array<[string, string]> {
  if (stored.startsWith("[")) return JSON.parse(stored) as Array<[string, string]>;
  const out: Array<[string, string]> = [];
  for (const entry of stored.split(ENTRY)) {
    const at = entry.indexOf(FIELD);
    out.push([entry.slice(0, at), entry.slice(at + 1)]);
  }
  return out;
}

/** SQL: a stored `blob_refs` value as the JSON text `[[channel, key], ...]`, for `json_each`. */
export function refsJson(column: string): string {
  return `CASE WHEN substr(${column}, 1, 1) = '[' THEN ${column}
    ELSE '[["' || replace(replace(${column}, char(30), '"],["'), char(31), '","') || '"]]' END`;
}
