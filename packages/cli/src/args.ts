import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  help: { type: "boolean", short: "h" },
  verbose: { type: "boolean" },
} as const satisfies Options;

/** `node:util` parseArgs with strict checking, reporting mistakes as one-line usage errors. */
export function parse<T extends Options>(
  argv: string[],
  options: T,
  command: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: typeof GLOBAL_OPTIONS & T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new UsageError(`${command}: ${message.replace(/\. To specify a positional argument.*$/, "")} (see langgraph-persist ${command} --help)`);
  }
}

/** A positive integer flag value. */
export function intOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** `a,b , c` → ["a","b","c"]. */
export function listOption(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return items;
}

/** A store namespace written as `a/b/c` (or `a.b.c`); `""` or `/` is the root (every namespace). */
export function namespaceOption(value: string | undefined): string[] {
  if (value === undefined) return [];
  const trimmed = value.trim().replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return [];
  return trimmed.split(trimmed.includes("/") ? "/" : ".").map((s) => s.trim());
}
