import { describe, expect, it } from "vitest";
import { JSON_FRAGMENTS, SerializationError, packJsonBytes, packJsonText, unpackJsonBytes, unpackJsonText } from "../src/index.js";

const samples = [
  '{"v":4,"ts":"2025-01-01T00:00:01.000Z","channel_versions":{"messages":"000000000002.abcdefgh","__start__":"000000000001.x"},"versions_seen":{"__input__":{},"chat":{"messages":"000000000001.y"}}}',
  '{"source":"loop","step":3,"parents":{},"run_id":"r-1"}',
  '{"source":"input","step":-1,"parents":{"":"1f0"}}',
  '{"text":"ключ 😀 \\u0001 escaped","n":[1,2,3]}',
  JSON_FRAGMENTS.join(""),
  JSON_FRAGMENTS.join("ключ 😀"),
  "",
];

describe("JSON fragment packing", () => {
  it("round-trips text and bytes exactly, and shrinks checkpoint rows", () => {
    for (const s of samples) {
      expect(unpackJsonText(packJsonText(s)!)).toBe(s);
      const bytes = Buffer.from(s, "utf8");
      expect(Buffer.compare(unpackJsonBytes(packJsonBytes(bytes)!), bytes)).toBe(0);
    }
    expect(packJsonText(samples[0])!.length).toBeLessThan(samples[0].length * 0.7);
    expect(packJsonText(samples[1])!.length).toBeLessThan(samples[1].length / 2);
  });

  it("refuses text with control characters (stored unpacked) and reports unknown codes", () => {
    expect(packJsonText('{"a":\n1}')).toBeUndefined();
    expect(packJsonBytes(Uint8Array.from([0x7b, 0x00, 0x7d]))).toBeUndefined();
    expect(() => unpackJsonText("\u001f")).toThrow(SerializationError);
  });

  it("packs a view into a larger buffer without reading outside it", () => {
    const big = Buffer.from(`xx${samples[1]}yy`);
    const view = big.subarray(2, big.length - 2);
    expect(unpackJsonBytes(packJsonBytes(view)!).toString("utf8")).toBe(samples[1]);
  });
});
