import * as checkpoint from "@langchain/langgraph-checkpoint";
import { describe, expect, it } from "vitest";
import { compareStringsByCodePoint, compareWritesSortKeys, sortWrites, writesSortKey, type WritesSortKey } from "../src/index.js";

/** The reference order: arrays of code points (an unpaired surrogate is its own code point), element by element. */
function byCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return Math.sign(x.length - y.length);
}

const ALPHABET = ["a", "b", "~", "\u00e9", "\ud7ff", "\ue000", "\uff5e", "\u{1F600}", "\u{10FFFF}", "\ud800", "\udc00"];

function randomString(random: () => number): string {
  let s = "";
  for (let n = Math.floor(random() * 4); n > 0; n--) s += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return s;
}

function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

describe("write order", () => {
  it("compares strings by code point, not by UTF-16 unit", () => {
    expect(compareStringsByCodePoint("\uff5e", "\u{1F600}")).toBe(-1);
    expect("\uff5e" < "\u{1F600}", "UTF-16 units order them the other way").toBe(false);
    expect(compareStringsByCodePoint("\ud800", "\ue000"), "an unpaired surrogate is its own code point").toBe(-1);
    expect(compareStringsByCodePoint("x", "x")).toBe(0);
    expect(compareStringsByCodePoint("", "a")).toBe(-1);
    const random = seeded(7);
    for (let i = 0; i < 2000; i++) {
      const [a, b] = [randomString(random), randomString(random)];
      expect(compareStringsByCodePoint(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(byCodePoints(a, b));
    }
  });

  it("uses upstream's writesSortKey and compareWritesSortKeys when the installed checkpoint package has them", () => {
    const upstream = checkpoint as Partial<{ writesSortKey: unknown; compareWritesSortKeys: unknown }>;
    if (typeof upstream.compareWritesSortKeys === "function") {
      expect(compareWritesSortKeys).toBe(upstream.compareWritesSortKeys);
      expect(writesSortKey).toBe(upstream.writesSortKey);
    } else {
      expect(writesSortKey("p")).toEqual(["p", "", 0]);
    }
    // Same semantics either way: task path, then task id, by code point; then idx numerically.
    const random = seeded(11);
    for (let i = 0; i < 1000; i++) {
      const a: WritesSortKey = [randomString(random), randomString(random), Math.floor(random() * 5) - 4];
      const b: WritesSortKey = [randomString(random), randomString(random), Math.floor(random() * 5) - 4];
      const expected = byCodePoints(a[0], b[0]) || byCodePoints(a[1], b[1]) || Math.sign(a[2] - b[2]);
      expect(compareWritesSortKeys(a, b), JSON.stringify([a, b])).toBe(expected);
    }
  });

  it("sortWrites orders by (task_path, task_id, idx); a missing task path counts as empty and comes first", () => {
    const writes = [
      { taskId: "a", idx: 1, taskPath: "~__pregel_push, 0000000002" },
      { taskId: "a", idx: 0, taskPath: "~__pregel_push, 0000000002" },
      { taskId: "b", idx: 0, taskPath: "~__pregel_push, 0000000001" },
      { taskId: "b", idx: -3, taskPath: "~__pregel_push, 0000000001" },
      { taskId: "c", idx: 0, taskPath: "x\u{1F600}" },
      { taskId: "d", idx: 0, taskPath: "x\uff5e" },
      { taskId: "z", idx: 0, taskPath: "" },
      { taskId: "y", idx: 0 },
    ];
    const input = [...writes];
    expect(sortWrites(writes).map((w) => `${w.taskId}${w.idx}`)).toEqual(["y0", "z0", "d0", "c0", "b-3", "b0", "a0", "a1"]);
    expect(writes, "the input is left as it was").toEqual(input);
    expect(sortWrites([])).toEqual([]);
    const one = [writes[0]];
    expect(sortWrites(one)).not.toBe(one);
  });
});
