import { InvalidNamespaceError } from "./errors.js";

/**
 * Namespaces are stored as their labels joined by `.`. Labels may not contain `.` (the LangGraph rule),
 * so the encoding is injective: no label content — `:`, `%`, `_`, `*`, `\`, newlines — can make two
 * namespaces collide, and a segment-boundary prefix match is a plain string comparison.
 */
export const NAMESPACE_SEPARATOR = ".";

const SOURCE = "@langgraph-persist/core";

function checkLabels(namespace: unknown, what: string, source: string): asserts namespace is string[] {
  if (!Array.isArray(namespace)) {
    throw new InvalidNamespaceError(source, `${what} must be an array of strings, got ${typeof namespace}`);
  }
  for (const label of namespace) {
    if (typeof label !== "string") {
      throw new InvalidNamespaceError(source, `${what} labels must be strings, got ${typeof label} in ${JSON.stringify(namespace)}`);
    }
    if (label === "") {
      throw new InvalidNamespaceError(source, `${what} labels cannot be empty strings: ${JSON.stringify(namespace)}`);
    }
    if (label.includes(NAMESPACE_SEPARATOR)) {
      throw new InvalidNamespaceError(source, `${what} labels cannot contain '.': ${JSON.stringify(label)}`);
    }
  }
}

/** Validates a namespace an item is written to or read from. */
export function validateNamespace(namespace: unknown, source = SOURCE): asserts namespace is string[] {
  checkLabels(namespace, "Namespace", source);
  if (namespace.length === 0) throw new InvalidNamespaceError(source, "Namespace cannot be empty");
  if (namespace[0] === "langgraph") {
    throw new InvalidNamespaceError(source, `Root label for namespace cannot be "langgraph": ${JSON.stringify(namespace)}`);
  }
}

/** Validates a search prefix (`[]` means every namespace). */
export function validateNamespacePrefix(prefix: unknown, source = SOURCE): asserts prefix is string[] {
  checkLabels(prefix, "Namespace prefix", source);
}

/** Validates a listNamespaces match path, where `*` is a one-segment wildcard. */
export function validateMatchPath(path: unknown, source = SOURCE): asserts path is string[] {
  checkLabels(path, "Namespace match path", source);
}

export function encodeNamespace(namespace: readonly string[]): string {
  return namespace.join(NAMESPACE_SEPARATOR);
}

export function decodeNamespace(encoded: string): string[] {
  return encoded === "" ? [] : encoded.split(NAMESPACE_SEPARATOR);
}

/** True when `namespace` starts with every segment of `prefix` (segment boundaries respected). */
export function hasNamespacePrefix(namespace: readonly string[], prefix: readonly string[]): boolean {
  if (prefix.length > namespace.length) return false;
  for (let i = 0; i < prefix.length; i++) if (namespace[i] !== prefix[i]) return false;
  return true;
}

/**
 * Key range of encoded namespaces under `prefix`, for index range scans: an encoded namespace `n` is
 * under the prefix when `n === exact` or `lower <= n < upper`. `/` is the code point after `.`.
 * `prefix = []` has no range: everything matches.
 */
export function namespacePrefixRange(prefix: readonly string[]): { exact: string; lower: string; upper: string } | null {
  if (prefix.length === 0) return null;
  const exact = encodeNamespace(prefix);
  return { exact, lower: exact + NAMESPACE_SEPARATOR, upper: exact + "/" };
}

export function namespaceMatchesPath(namespace: readonly string[], path: readonly string[], matchType: "prefix" | "suffix"): boolean {
  if (path.length > namespace.length) return false;
  const offset = matchType === "prefix" ? 0 : namespace.length - path.length;
  for (let i = 0; i < path.length; i++) {
    if (path[i] !== "*" && path[i] !== namespace[offset + i]) return false;
  }
  return true;
}

export interface NamespaceMatch {
  matchType: "prefix" | "suffix";
  path: string[];
}

/** The labels before the first wildcard of every prefix condition: what a backend can push down as a range. */
export function literalPrefix(conditions: readonly NamespaceMatch[] | undefined): string[] {
  let best: string[] = [];
  for (const c of conditions ?? []) {
    if (c.matchType !== "prefix") continue;
    const lit: string[] = [];
    for (const label of c.path) {
      if (label === "*") break;
      lit.push(label);
    }
    if (lit.length > best.length) best = lit;
  }
  return best;
}

export function compareNamespaces(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * The one listNamespaces algorithm every adapter shares: filter the live namespaces by the match
 * conditions, truncate to `maxDepth`, de-duplicate, sort, then page.
 */
export function selectNamespaces(
  namespaces: Iterable<readonly string[]>,
  options: { matchConditions?: readonly NamespaceMatch[]; maxDepth?: number; limit: number; offset: number },
): string[][] {
  const { matchConditions = [], maxDepth } = options;
  const seen = new Map<string, string[]>();
  for (const ns of namespaces) {
    if (!matchConditions.every((c) => namespaceMatchesPath(ns, c.path, c.matchType))) continue;
    const truncated = maxDepth !== undefined ? ns.slice(0, maxDepth) : [...ns];
    const key = encodeNamespace(truncated);
    if (!seen.has(key)) seen.set(key, truncated);
  }
  const sorted = [...seen.values()].sort(compareNamespaces);
  return sorted.slice(options.offset, options.offset + options.limit);
}
