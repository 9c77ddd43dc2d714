import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * `pnpm test` runs the suites through turbo, which hands a task only the environment variables
 * turbo.json lets through. A database URL that scripts/services.sh exports, or a REQUIRE_<DB> switch a
 * suite reads, that turbo drops makes that suite skip silently — and REQUIRE_<DB> cannot catch it,
 * since it would be dropped too.
 */
const ROOT = resolve(import.meta.dirname, "../../..");

function passThrough(): RegExp[] {
  const turbo = JSON.parse(readFileSync(join(ROOT, "turbo.json"), "utf8")) as { tasks: Record<string, { passThroughEnv?: string[] }> };
  return (turbo.tasks.test.passThroughEnv ?? []).map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`));
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name === "dist") return [];
    if (statSync(path).isDirectory()) return sourcesUnder(path);
    return /\.(ts|js|mjs)$/.test(name) ? [path] : [];
  });
}

describe("turbo passes the test environment through", () => {
  it("every URL scripts/services.sh exports and every REQUIRE_<DB> a suite reads", () => {
    const urls = [...readFileSync(join(ROOT, "scripts/services.sh"), "utf8").matchAll(/\bemit (TEST_[A-Z_]+_URL)\b/g)].map((m) => m[1]);
    const packages = readdirSync(join(ROOT, "packages")).map((p) => join(ROOT, "packages", p, "test"));
    const required = packages
      .filter((dir) => statSync(dir, { throwIfNoEntry: false })?.isDirectory())
      .flatMap(sourcesUnder)
      .flatMap((file) => [...readFileSync(file, "utf8").matchAll(/\b(REQUIRE_[A-Z_]+)\b/g)].map((m) => m[1]));
    const names = [...new Set([...urls, ...required])];
    expect(urls).toEqual(expect.arrayContaining(["TEST_POSTGRES_URL", "TEST_PGBOUNCER_URL", "TEST_REDIS_URL", "TEST_REDIS_CLUSTER_URL"]));
    expect(required).toEqual(expect.arrayContaining(["REQUIRE_POSTGRES", "REQUIRE_PGBOUNCER", "REQUIRE_REDIS", "REQUIRE_REDIS_CLUSTER", "REQUIRE_MONGODB"]));
    const patterns = passThrough();
    expect(names.filter((n) => !patterns.some((p) => p.test(n))), "not in turbo.json tasks.test.passThroughEnv").toEqual([]);
  });
});
