import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { loadedCheckpoint, loadedParent, loadedRefs, loadedType, refsJson, storedCheckpoint, storedParent, storedRefs, storedType } from "../src/encoding.js";

describe("column encodings", () => {
  it("types: json is stored as NULL, every other type as is", () => {
    expect(storedType("json")).toBeNull();
    expect(loadedType(null)).toBe("json");
    for (const t of ["bytes", "empty", "+abc", "JSON", ""]) {
      expect(storedType(t)).toBe(t);
      expect(loadedType(storedType(t))).toBe(t);
    }
  });

  it("checkpoint JSON is packed into TEXT with the fragment dictionary; anything else stays a BLOB; all read back exactly", () => {
    const utf8 = (t: string) => new TextEncoder().encode(t);
    const json = '{"v":4,"ts":"2025-01-01T00:00:01.000Z","channel_versions":{"messages":"000000000002.abcd1234"},"versions_seen":{"chat":{"messages":"000000000001.abcd1234"}},"é":"\u{1F600}\\u0001"}';
    const packed = storedCheckpoint("json", utf8(json), true);
    expect(packed.type).toBeNull();
    expect(typeof packed.value).toBe("string");
    expect((packed.value as string).length).toBeLessThan(json.length * 0.6);
    expect(new TextDecoder().decode(loadedCheckpoint(packed.type, packed.value).data)).toBe(json);
    expect(loadedCheckpoint(packed.type, packed.value).type).toBe("json");
    // Not compact JSON (a raw control character), another serde type, a UTF-16 database: bytes as they are.
    const cases: Array<[string, Uint8Array, boolean]> = [
      ["json", utf8('{\n  "v": 4\n}'), true],
      ["bytes", new Uint8Array([0, 1, 0xff, 0x7b]), true],
      ["json", utf8(json), false],
    ];
    for (const [type, data, isUtf8] of cases) {
      const stored = storedCheckpoint(type, data, isUtf8);
      expect(Buffer.isBuffer(stored.value)).toBe(true);
      expect(stored.type).toBe(storedType(type));
      const loaded = loadedCheckpoint(stored.type, stored.value);
      expect(loaded.type).toBe(type);
      expect(Array.from(loaded.data)).toEqual(Array.from(data));
    }
  });

  it("parent ids sharing a prefix with the row's id are stored as a shorter BLOB and read back exactly", () => {
    const id = "1f1e53ae-4add-6f43-ffff-665623162297";
    const parent = "1f1e53ae-4add-6f42-ffff-3f93a3fe2c30";
    const stored = storedParent(id, parent);
    expect(Buffer.isBuffer(stored)).toBe(true);
    expect((stored as Buffer).length).toBe(1 + parent.length - 17);
    expect(loadedParent(id, stored)).toBe(parent);
    expect(loadedParent(id, new Uint8Array(stored as Buffer))).toBe(parent);
  });

  it("parent ids without a useful shared prefix, null, equal or odd ids round-trip", () => {
    const cases: Array<[string, string | null]> = [
      ["b", "a"],
      ["ab", "ax"],
      ["abc", "abc"],
      ["abc", "ab"],
      ["ab", "abcdef"],
      ["x", null],
      ["", "p"],
      ["é-1", "é-2"],
      // A shared high surrogate: the pair must not be split.
      ["\u{1F600}a", "\u{1F601}b"],
      ["ab\u{1F600}x", "ab\u{1F600}y"],
      ["a".repeat(400) + "1", "a".repeat(400) + "2"],
    ];
    for (const [id, parent] of cases) {
      const stored = storedParent(id, parent);
      expect(loadedParent(id, stored), JSON.stringify([id, parent])).toBe(parent);
      if (parent !== null && typeof stored !== "string") expect((stored as Buffer).length).toBeLessThan(Buffer.byteLength(parent) + 1);
    }
    expect(storedParent("b", "a")).toBe("a");
  });

  it("blob refs use the compact form when JSON would need no escapes, JSON otherwise; SQL reads both", () => {
    const db = new Database(":memory:");
    const read = (stored: string) =>
      (db.prepare(`SELECT json_group_array(json_array(r.value ->> 0, r.value ->> 1)) AS j FROM json_each(${refsJson("@s")}) r`).get({ s: stored }) as { j: string }).j;
    const cases: Array<Array<[string, string]>> = [
      [["messages", "000000000001.abc~0t~xyz"]],
      [
        ["messages", "1.a~01~b"],
        ["counter", "7"],
        ["branch:to:node", "3.x"],
      ],
      [["with space", "é ü 字 \u{1F600}"]],
      [],
      [["quote\"d", "k"]],
      [["back\\slash", "k"]],
      [["tab\tchannel", "k"]],
      [["c", "key with \u001f unit separator"]],
      [["[bracket", "k"]],
      [["ok", "k"], ["[later bracket", "k2"]],
    ];
    for (const refs of cases) {
      const stored = storedRefs(refs);
      expect(loadedRefs(stored), stored).toEqual(refs);
      expect(JSON.parse(read(stored)), stored).toEqual(refs);
    }
    expect(storedRefs([["messages", "k1"]])).toBe("messages\u001fk1");
    expect(storedRefs([["messages", "k1"]]).length).toBeLessThan(JSON.stringify([["messages", "k1"]]).length);
    expect(storedRefs([["a\"b", "k"]])).toBe(JSON.stringify([["a\"b", "k"]]));
    expect(storedRefs([])).toBe("[]");
    db.close();
  });
});
