import { SerializationError } from "@langgraph-persist/core";
import { SOURCE } from "./client.js";

/**
 * Checkpoint rows hold the checkpoint without its id and channel values: a short JSON object whose
 * field names and version prefixes are the same in every row (`{"v":4,"ts":"`, `"channel_versions"`,
 * `"versions_seen"`, `"000000000` ...). Stored as is they are most of the row. JSON text never contains
 * the bytes 0x00-0x1F (JSON escapes control characters), so each of these fixed strings is stored as
 * one such byte: exact, reversible, and a few string replacements per row (no compression library).
 *
 * The table is part of the stored format (`checkpoint_type` NULL marks a packed row): never change or
 * reorder it; a new table needs a new marker.
 */
const TOKENS = [
  '{"v":4,"ts":"',
  '","channel_versions":{',
  '},"versions_seen":{',
  '"__input__":{}',
  '"__start__":',
  '"branch:to:',
  '"messages":',
  '"000000000',
  ".000Z",
  '"},"',
  '":{',
  '","',
  '"}}}',
  '"}',
  '":"',
];

/** Control bytes used as codes: 0x01-0x1F except tab, line feed and carriage return. */
const CODES = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18].map((c) => String.fromCharCode(c));
const EXPAND = new Map(CODES.map((code, i) => [code, TOKENS[i]]));
const CONTROL = /[\u0000-\u001f]/;
const CODE_G = /[\u0001-\u001f]/g;

const latin1 = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1");

/**
 * The packed form of a JSON text (UTF-8 bytes), or `undefined` when it holds bytes below 0x20 (not the
 * compact JSON a serializer writes) and must be stored as is. Works on the bytes as Latin-1 text, so
 * multi-byte UTF-8 sequences (never containing ASCII bytes) pass through untouched.
 */
export function packJson(data: Uint8Array): Buffer | undefined {
  let text = latin1(data);
  if (CONTROL.test(text)) return undefined;
  for (let i = 0; i < TOKENS.length; i++) if (text.includes(TOKENS[i])) text = text.replaceAll(TOKENS[i], CODES[i]);
  return Buffer.from(text, "latin1");
}

/** The JSON bytes a packed value stands for. */
export function unpackJson(data: Uint8Array): Buffer {
  const text = latin1(data).replace(CODE_G, (code) => {
    const token = EXPAND.get(code);
    if (token === undefined) throw new SerializationError(SOURCE, `a packed checkpoint holds the unknown code 0x${code.charCodeAt(0).toString(16)}`);
    return token;
  });
  return Buffer.from(text, "latin1");
}
