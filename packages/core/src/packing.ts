import { SerializationError } from "./errors.js";

/**
 * A fixed dictionary of JSON fragments every LangGraph checkpoint row and its metadata repeat: the keys
 * of the checkpoint format, the metadata `source` / `step` / `parents` keys, the framework's channel
 * names and the zero padding of core's channel versions. JSON text never contains the bytes 0x01-0x1F
 * unescaped, so a backend can store each fragment as one such byte: exact, reversible, a few string
 * replacements per row, no compression library. The list is part of the adapters' storage layouts:
 * entries may only be appended (at most 31), never changed or reordered.
 */
export const JSON_FRAGMENTS: readonly string[] = [
  '{"v":4,"ts":"',
  '","channel_versions":{',
  '},"versions_seen":{',
  '"000000000',
  '"__start__":',
  '"messages":',
  '"branch:to:',
  '{"source":"loop","step":',
  '{"source":"input","step":',
  '{"source":"update","step":',
  '{"source":"fork","step":',
  ',"parents":{}}',
  ',"parents":{',
  '"__input__":{}',
  '"__pregel_tasks":',
  ',"run_id":"',
  ".000Z",
  '"},"',
  '":{',
  '","',
  '"}}}',
  '"}',
  '":"',
];

const FRAGMENT_RE = new RegExp(
  [...JSON_FRAGMENTS]
    .sort((a, b) => b.length - a.length)
    .map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("|"),
  "g",
);
const FRAGMENT_CODE = new Map(JSON_FRAGMENTS.map((f, i) => [f, String.fromCharCode(i + 1)]));
const CONTROL_RE = /[\u0000-\u001f]/;
const CODE_RE = /[\u0001-\u001f]/g;

function expandCode(code: string): string {
  const fragment = JSON_FRAGMENTS[code.charCodeAt(0) - 1];
  if (fragment === undefined) {
    throw new SerializationError("@langgraph-persist/core", `packed JSON holds the unknown code 0x${code.charCodeAt(0).toString(16)}`);
  }
  return fragment;
}

/**
 * JSON text with every dictionary fragment replaced by its one-byte code, or `undefined` when the text
 * holds a character below 0x20 (not compact JSON: store it as is, marked as unpacked).
 */
export function packJsonText(text: string): string | undefined {
  if (CONTROL_RE.test(text)) return undefined;
  return text.replace(FRAGMENT_RE, (f) => FRAGMENT_CODE.get(f)!);
}

/** Inverse of `packJsonText`. Throws `SerializationError` on a code the dictionary does not have. */
export function unpackJsonText(packed: string): string {
  return packed.replace(CODE_RE, expandCode);
}

const latin1 = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1");

/**
 * `packJsonText` on UTF-8 bytes (read as Latin-1, so multi-byte sequences, which never contain ASCII
 * bytes, pass through untouched).
 */
export function packJsonBytes(data: Uint8Array): Buffer | undefined {
  const packed = packJsonText(latin1(data));
  return packed === undefined ? undefined : Buffer.from(packed, "latin1");
}

/** Inverse of `packJsonBytes`. */
export function unpackJsonBytes(data: Uint8Array): Buffer {
  return Buffer.from(unpackJsonText(latin1(data)), "latin1");
}
