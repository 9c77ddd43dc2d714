import { createRequire } from "node:module";

/** The LangChain packages whose installed version decides what a test can expect. */
export type VersionedPackage = "@langchain/langgraph" | "@langchain/langgraph-checkpoint" | "@langchain/core";

/**
 * A test that only applies to some versions of a package: registered as skipped elsewhere, with the
 * range, the installed version and `reason` in its name.
 */
export interface VersionRequirement {
  package: VersionedPackage;
  /** Comparators joined by spaces, all of which must hold, e.g. `">=1.7.0"` or `">=1.4.0 <1.7.0"`. */
  range: string;
  /** Why the test does not apply outside the range. */
  reason: string;
}

const cache = new Map<string, string | undefined>();

function requireHere(): ReturnType<typeof createRequire> {
  // `import.meta.url` in the ESM build (the CJS build gets it shimmed); the working directory as a last resort.
  try {
    return createRequire(import.meta.url);
  } catch {
    return createRequire(`${process.cwd()}/`);
  }
}

/**
 * The version of `name` this suite resolves (read from its package.json, which every LangChain package
 * exports), or `undefined` when it is not installed.
 */
export function installedVersion(name: VersionedPackage): string | undefined {
  if (!cache.has(name)) {
    let version: string | undefined;
    try {
      version = (requireHere()(`${name}/package.json`) as { version?: string }).version;
    } catch {
      version = undefined;
    }
    cache.set(name, version);
  }
  return cache.get(name);
}

type Parsed = [major: number, minor: number, patch: number, prerelease: string];

function parse(version: string): Parsed | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(version.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ?? ""] : undefined;
}

function compare(a: Parsed, b: Parsed): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) < (b[i] as number) ? -1 : 1;
  // A prerelease sorts before its release (1.7.0-rc.1 < 1.7.0); prereleases compare as text.
  if (a[3] === b[3]) return 0;
  if (a[3] === "") return 1;
  if (b[3] === "") return -1;
  return a[3] < b[3] ? -1 : 1;
}

/**
 * Whether `version` satisfies `range`: comparators (`>=`, `>`, `<=`, `<`, `=`, or a bare version)
 * separated by spaces, all of which must hold. Throws on a range it cannot read, so a typo fails loudly.
 */
export function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  if (!v) return false;
  return range
    .trim()
    .split(/\s+/)
    .every((comparator) => {
      const m = /^(>=|<=|>|<|=)?(.+)$/.exec(comparator);
      const bound = m ? parse(m[2]) : undefined;
      if (!m || !bound) throw new Error(`unreadable version range ${JSON.stringify(range)}`);
      const c = compare(v, bound);
      switch (m[1]) {
        case ">=":
          return c >= 0;
        case ">":
          return c > 0;
        case "<=":
          return c <= 0;
        case "<":
          return c < 0;
        default:
          return c === 0;
      }
    });
}

/** The requirements the installed packages do not meet, as text for a skipped test's name. */
export function unmetVersions(requirements: readonly VersionRequirement[] | undefined): string[] {
  return (requirements ?? [])
    .filter((r) => {
      const installed = installedVersion(r.package);
      return installed === undefined || !satisfies(installed, r.range);
    })
    .map((r) => `applies to ${r.package} ${r.range}, installed ${installedVersion(r.package) ?? "none"}: ${r.reason}`);
}
