import { afterAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { JSON_FRAGMENTS, luaFragmentTable, packJson, packList, unpackJson, unpackList } from "../src/keys.js";
import { REDIS_URL, missingServer } from "./support.js";

const stored = (text: string, encoding: "utf8" | "latin1") => Buffer.from(packJson(text), encoding);

describe("packed lists", () => {
  it("round-trip strings and bytes of every length-prefix width, byte-exact", () => {
    const parts: Array<string | Uint8Array> = ["", "a", "ключ 😀", new Uint8Array(0), Uint8Array.from([0, 58, 255])];
    for (const n of [9, 10, 99, 100, 999, 1000, 12345]) parts.push("x".repeat(n), new Uint8Array(n).fill(58));
    const packed = packList(parts);
    expect(packed.subarray(0, 8).toString("latin1")).toBe("0:1:a13:");
    const back = unpackList(packed);
    expect(back).toHaveLength(parts.length);
    parts.forEach((p, i) => expect(Buffer.compare(back[i], typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p)), String(i)).toBe(0));
  });
});

describe("packed lists, nested and with a head", () => {
  it("a nested list packs like packing it first; a head comes before a NUL byte", () => {
    const inner = ["messages", "000000000001.abcdefgh~05~LINK", "ключ", "😀", "x".repeat(60)];
    const parts = ["", "=parent", inner, Uint8Array.from([0, 58, 255]), new Uint8Array(100).fill(7)];
    const flat = packList(["", "=parent", packList(inner), Uint8Array.from([0, 58, 255]), new Uint8Array(100).fill(7)]);
    expect(packList(parts).equals(flat)).toBe(true);
    const row = packList(parts, "id-é");
    expect(row.subarray(0, row.indexOf(0)).toString("utf8")).toBe("id-é");
    expect(row.subarray(row.indexOf(0) + 1).equals(flat)).toBe(true);
    expect(unpackList(unpackList(flat)[2]).map((b) => b.toString("utf8"))).toEqual(inner);
    // Lengths of every width, written digit by digit.
    for (const n of [0, 9, 10, 99, 100, 9999, 10000, 123456]) {
      const packed = packList([new Uint8Array(n).fill(1), "a"]);
      expect(packed.toString("latin1", 0, String(n).length + 1)).toBe(`${n}:`);
      expect(unpackList(packed).map((b) => b.length)).toEqual([n, 1]);
    }
  });

  it("rejects corrupt packed lists", () => {
    for (const bad of ["5:abc", "x:abc", ":abc", "3abc", "1234567890123456:a", "-1:"]) {
      expect(() => unpackList(Buffer.from(bad, "latin1")), bad).toThrow(/corrupt packed list/);
    }
    expect(unpackList(Buffer.alloc(0))).toEqual([]);
  });
});

describe("stored JSON text", () => {
  it("replaces each dictionary fragment by one byte and restores the exact text", () => {
    const checkpoint = '{"v":4,"ts":"2025-01-01T00:00:01.000Z","channel_versions":{"messages":"000000000002.abcdefgh"},"versions_seen":{"__input__":{},"__start__":{"__start__":"000000000001.abcdefgh"}}}';
    const metadata = '{"source":"loop","step":3,"parents":{},"run_id":"r-1"}';
    for (const text of [checkpoint, metadata]) {
      const packed = stored(text, "latin1");
      expect(packed.length).toBeLessThan(Buffer.byteLength(text) / 2);
      expect(unpackJson(packed, "latin1")).toBe(text);
    }
    expect(stored(metadata, "utf8").toString("latin1")).toBe("\u0008" + "3" + "\u000d" + "}" + "\u0010" + "r-1" + "\u0016");
  });

  it("keeps text with control bytes, multi-byte characters and every fragment side by side byte-exact", () => {
    const texts = [
      "",
      "\u0000",
      "\u0001raw",
      '{\n  "pretty": true\n}',
      JSON_FRAGMENTS.join(""),
      JSON_FRAGMENTS.join("ключ 😀"),
      '"0000000000000000000"',
      "\u00ff\u0080é",
    ];
    for (const text of texts) {
      expect(unpackJson(stored(text, "utf8"), "utf8")).toBe(text);
      const bytes = Buffer.from(text, "utf8").toString("latin1");
      expect(Buffer.from(unpackJson(stored(bytes, "latin1"), "latin1"), "latin1").toString("utf8")).toBe(text);
    }
  });
});

if (!REDIS_URL) {
  missingServer("stored JSON text in Lua", "TEST_REDIS_URL");
} else {
  describe("stored JSON text in Lua", () => {
    const redis = new Redis(REDIS_URL!);
    afterAll(async () => {
      await redis.quit();
    });

    it("the scripts' fragment table maps each byte to the same fragment as TypeScript", async () => {
      const lua = `local F = ${luaFragmentTable()}\nlocal out = {}\nfor i = 1, 31 do out[i] = F[string.char(i)] or '' end\nreturn out`;
      const got = (await redis.eval(lua, 0)) as string[];
      expect(got.slice(0, JSON_FRAGMENTS.length)).toEqual([...JSON_FRAGMENTS]);
      expect(got.slice(JSON_FRAGMENTS.length).every((x) => x === "")).toBe(true);
    });
  });
}
