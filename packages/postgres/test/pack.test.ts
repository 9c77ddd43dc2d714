import { describe, expect, it } from "vitest";
import { packJson, unpackJson } from "../src/pack.js";

const bytes = (s: string) => Buffer.from(s, "utf8");

describe("packJson", () => {
  it("round-trips checkpoint JSON exactly and stores the fixed strings as one byte each", () => {
    const samples = [
      '{"v":4,"ts":"2025-01-01T00:03:20.000Z","channel_versions":{"messages":"000000000200.5hjtdesx"},"versions_seen":{"chat":{"messages":"000000000199.4tcv0c3q"}}}',
      '{"v":4,"ts":"2026-11-20T23:55:23.910Z","channel_versions":{"__start__":"000000000010.crbinkuv","branch:to:chat":"000000000011.biffdlw6"},"versions_seen":{"__input__":{},"__start__":{"__start__":"000000000009.mb7wew7e"}}}',
      '{"v":1,"ts":"x","channel_versions":{},"versions_seen":{},"pending_sends":[]}',
      '{"ünïcödé 😀":"\\u0001 \\"}}}\\" \\n","000000000":"","":{}}',
      "{}",
      "",
    ];
    for (const s of samples) {
      const packed = packJson(bytes(s));
      expect(packed, s).toBeDefined();
      expect(unpackJson(packed!).toString("utf8")).toBe(s);
      expect(Buffer.compare(unpackJson(packed!), bytes(s))).toBe(0);
    }
    expect(packJson(bytes(samples[0]))!.length).toBeLessThan(samples[0].length / 2);
  });

  it("leaves text holding bytes below 0x20 alone (undefined: store as is)", () => {
    expect(packJson(bytes('{"a":\n1}'))).toBeUndefined();
    expect(packJson(bytes("\u0001"))).toBeUndefined();
    expect(packJson(Uint8Array.from([0x7b, 0x00, 0x7d]))).toBeUndefined();
  });

  it("works on a view into a larger buffer", () => {
    const whole = bytes('xx{"v":4,"ts":"1"}yy');
    const view = whole.subarray(2, whole.length - 2);
    expect(unpackJson(packJson(view)!).toString()).toBe('{"v":4,"ts":"1"}');
  });

  it("rejects a code it does not know", () => {
    expect(() => unpackJson(Uint8Array.from([0x1f]))).toThrow(/unknown code 0x1f/);
  });
});
