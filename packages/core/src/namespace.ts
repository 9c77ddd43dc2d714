import { InvalidNamespaceError } from "./errors.js";

/**
 * Namespaces are stored as their labels joined by `.`. Labels may not contain `.` (the LangGraph rule),
 * so the encoding is injective: no label content — `%`, `_`, `*`, `\`, newlines — can make two
 * namespaces collide, and a segment-boundary prefix match is a plain string comparison.
 */
export const NAMESPACE_SEPARATOR = ".";

const SOURCE = "@langgraph-persist/core";

/**
 * Which of the two namespace-wide restrictions a check lifts; the label rule always applies. The
 * same options as upstream's `validateNamespace` in `@langchain/langgraph-checkpoint`.
 */
export interface NamespaceRuleOptions {
  /** Accept `[]`: for reads and deletes, where `[]` means "every namespace" or addresses nothing. */
  allowEmpty?: boolean;
  /** Accept `langgraph` as the first label, which only `put` reserves. */
  allowReservedRoot?: boolean;
}

/** The rule for get, search, delete and the listNamespaces prefix and suffix. */
export const READ_NAMESPACE_RULE: Readonly<NamespaceRuleOptions> = Object.freeze({ allowEmpty: true, allowReservedRoot: true });

/**
 * The namespace rule, equal to upstream's `validateNamespace` (`@langchain/langgraph-checkpoint` 1.2):
 * a namespace is an array of labels, each a non-empty string containing no `.`, no `:` and no NUL;
 * it is not empty and its first label is not `langgraph`, unless `options` allow either. `put`
 * uses the strict rule; get, search, delete and listNamespaces match paths use
 * {@link READ_NAMESPACE_RULE}. `*` is an ordinary label here (a wildcard only in listNamespaces).
 *
 * @throws InvalidNamespaceError, raised under `source`.
 */
export function validateNamespace(namespace: unknown, source = SOURCE, options: NamespaceRuleOptions = {}): asserts namespace is string[] {
  if (!Array.isArray(namespace)) {
    throw new InvalidNamespaceError(source, `Namespace must be an array of strings, got ${typeof namespace}`);
  }
  if (namespace.length === 0) {
    if (options.allowEmpty) return;
    throw new InvalidNamespaceError(source, "Namespace cannot be empty");
  }
  for (const label of namespace) {
    if (typeof label !== "string") {
      throw new InvalidNamespaceError(source, `Namespace labels must be strings, got ${typeof label} in ${show(namespace)}`);
    }
    if (label.includes(".")) throw new InvalidNamespaceError(source, `Namespace labels cannot contain '.': ${JSON.stringify(label)}`);
    if (label.includes(":")) throw new InvalidNamespaceError(source, `Namespace labels cannot contain ':': ${JSON.stringify(label)}`);
    if (label.includes("\u0000")) throw new InvalidNamespaceError(source, `Namespace labels cannot contain NUL: ${JSON.stringify(label)}`);
    if (label === "") throw new InvalidNamespaceError(source, `Namespace labels cannot be empty strings: ${show(namespace)}`);
  }
  if (namespace[0] === "langgraph" && !options.allowReservedRoot) {
    throw new InvalidNamespaceError(source, `Root label for namespace cannot be "langgraph": ${show(namespace)}`);
  }
}

/** Validates a search prefix (`[]` means every namespace): the read rule. */
export function validateNamespacePrefix(prefix: unknown, source = SOURCE): asserts prefix is string[] {
  validateNamespace(prefix, source, READ_NAMESPACE_RULE);
}

/** Validates a listNamespaces match path, where `*` is a one-segment wildcard: the read rule. */
export function validateMatchPath(path: unknown, source = SOURCE): asserts path is string[] {
  validateNamespace(path, source, READ_NAMESPACE_RULE);
}

function show(namespace: readonly unknown[]): string {
  try {
    return JSON.stringify(namespace);
  } catch {
    return String(namespace);
  }
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
