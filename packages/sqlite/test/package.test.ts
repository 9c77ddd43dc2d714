import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
};

describe("package.json", () => {
  it("declares @types/better-sqlite3 as an optional peer: the published types import better-sqlite3's", () => {
    expect(pkg.peerDependencies?.["@types/better-sqlite3"]).toBeDefined();
    expect(pkg.peerDependenciesMeta?.["@types/better-sqlite3"]?.optional).toBe(true);
    // The declared range admits the version the package is built and tested with.
    const dev = pkg.devDependencies?.["@types/better-sqlite3"]?.replace(/^\^/, "");
    expect(dev).toBeDefined();
    expect(pkg.peerDependencies?.["@types/better-sqlite3"]).toBe(">=7.6.0");
    const [major] = dev!.split(".").map(Number);
    expect(major).toBeGreaterThanOrEqual(7);
  });
});
