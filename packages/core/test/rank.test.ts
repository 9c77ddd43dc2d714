import { describe, expect, it } from "vitest";
import { topRanked } from "../src/index.js";

interface C {
  key: string;
  updatedAt: number;
  score?: number;
}

/** The reference order, by a full sort. */
function sorted(cs: C[], byScore: boolean): C[] {
  return [...cs].sort((a, b) => {
    if (byScore) {
      if (a.score !== undefined && b.score !== undefined && a.score !== b.score) return b.score - a.score;
      if (a.score !== undefined && b.score === undefined) return -1;
      if (a.score === undefined && b.score !== undefined) return 1;
    }
    return b.updatedAt - a.updatedAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  });
}

describe("topRanked", () => {
  it("selects exactly the first `count` of a full sort, ties included, with and without scores", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const cs: C[] = Array.from({ length: 3000 }, (_, i) => ({
      key: `k${String(i).padStart(5, "0")}`,
      updatedAt: Math.floor(rand() * 50),
      score: rand() < 0.1 ? undefined : Math.floor(rand() * 40) / 40,
    }));
    for (const byScore of [true, false]) {
      for (const count of [0, 1, 10, 37, 256, 400, 3000, 5000]) {
        const top = topRanked(cs, count, (c) => c.score, (c) => c.updatedAt, (c) => c.key, byScore);
        expect(top.map((c) => c.key), `count ${count}, byScore ${byScore}`).toEqual(sorted(cs, byScore).slice(0, count).map((c) => c.key));
      }
    }
  });
});
