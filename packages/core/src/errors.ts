import { InvalidNamespaceError as UpstreamInvalidNamespaceError } from "@langchain/langgraph-checkpoint";

/**
 * Every error thrown by a langgraph-persist adapter is a `PersistenceError`, so callers can catch
 * the whole family with one `instanceof` while still telling the causes apart by subclass.
 * Messages are prefixed with the package that raised them.
 *
 * `InvalidNamespaceError` extends upstream's class instead (see there); `instanceof PersistenceError`
 * still recognises it, and so does {@link isPersistenceError}.
 */
export class PersistenceError extends Error {
  override name = "PersistenceError";
  /** Package that raised the error, e.g. `@langgraph-persist/postgres`. */
  readonly source: string;

  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super(`[${source}] ${message}`, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.source = source;
  }

  /**
   * Ordinary `instanceof`, plus: `x instanceof PersistenceError` is true for our `InvalidNamespaceError`,
   * whose prototype chain is upstream's. Subclasses (`x instanceof BackendError`) are not affected.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === PersistenceError && value instanceof InvalidNamespaceError;
  }
}

/**
 * A namespace (or namespace prefix, or listNamespaces match path) that breaks the namespace rules.
 *
 * It extends upstream's `InvalidNamespaceError` from `@langchain/langgraph-checkpoint`, so code written
 * against the official stores (`e instanceof InvalidNamespaceError` with upstream's import) catches it,
 * and it is still `instanceof PersistenceError` with the same `source`, `cause` and `[source] ` message
 * prefix as every other error of this package.
 */
export class InvalidNamespaceError extends UpstreamInvalidNamespaceError {
  override name = "InvalidNamespaceError";
  /** Package that raised the error, e.g. `@langgraph-persist/postgres`. */
  readonly source: string;

  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super(`[${source}] ${message}`);
    this.source = source;
    if (options?.cause !== undefined) {
      Object.defineProperty(this, "cause", { value: options.cause, writable: true, configurable: true, enumerable: false });
    }
  }
}

/**
 * True for every error a langgraph-persist package raises: a `PersistenceError` or our
 * `InvalidNamespaceError` (which extends upstream's class). The same test as `instanceof PersistenceError`,
 * as a type guard that narrows to both.
 *
 * @example
 * try {
 *   await store.put(namespace, key, value);
 * } catch (e) {
 *   if (isPersistenceError(e)) console.error(e.source, e.message);
 *   else throw e;
 * }
 */
export function isPersistenceError(err: unknown): err is PersistenceError | InvalidNamespaceError {
  return err instanceof PersistenceError;
}

/** A store filter that uses an unknown operator or a malformed operand. */
export class InvalidFilterError extends PersistenceError {
  override name = "InvalidFilterError";
}

/** Options, configs or arguments that cannot be honoured (missing thread_id, bad TTL, ...). */
export class InvalidArgumentError extends PersistenceError {
  override name = "InvalidArgumentError";
}

/** An operation ran before `setup()` created the schema. */
export class NotSetUpError extends PersistenceError {
  override name = "NotSetUpError";
}

/** An operation ran after `close()`, or on a client the caller already closed. */
export class ClientClosedError extends PersistenceError {
  override name = "ClientClosedError";
}

/** A value could not be serialised or deserialised; nothing was written. */
export class SerializationError extends PersistenceError {
  override name = "SerializationError";
}

/** The backend failed (connection lost, constraint violated, disk full, ...); see `cause`. */
export class BackendError extends PersistenceError {
  override name = "BackendError";
}

/** What timed out: opening a connection (including the server's first answer), or one command / query. */
export type TimeoutPhase = "connect" | "command";

export interface TimeoutErrorOptions {
  cause?: unknown;
  /** `"connect"`: no connection (or no answer to the handshake) in time; `"command"`: one command or query. */
  phase?: TimeoutPhase;
  /** Where the adapter was talking to, as `host:port` (several, comma-separated, for a cluster or replica set). */
  target?: string;
  /** The limit that ran out, in milliseconds. */
  timeoutMs?: number;
}

/**
 * A network backend did not answer in time: `phase` says what timed out (connecting or a command),
 * `target` where (`host:port`), `timeoutMs` after how long. It is a `BackendError`, so handlers of
 * backend failures catch it too. The client stays usable: the next call tries again.
 */
export class TimeoutError extends BackendError {
  override name = "TimeoutError";
  readonly phase: TimeoutPhase;
  readonly target: string;
  readonly timeoutMs: number | undefined;

  constructor(source: string, message: string, options: TimeoutErrorOptions = {}) {
    super(source, message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.phase = options.phase ?? "command";
    this.target = options.target ?? "unknown";
    this.timeoutMs = options.timeoutMs;
  }
}

/**
 * A `TimeoutError` with the message every adapter uses: the action, what timed out, where, after how
 * long, and the setting that controls it.
 *
 * @example
 * timeoutError("@langgraph-persist/postgres", "setup()", { phase: "connect", backend: "PostgreSQL", target: "db:5432", timeoutMs: 10000, setting: "connectTimeoutMs" })
 * // [@langgraph-persist/postgres] setup() failed: connecting to PostgreSQL at db:5432 timed out after 10000 ms (connectTimeoutMs)
 */
export function timeoutError(
  source: string,
  action: string,
  details: { phase: TimeoutPhase; backend: string; target: string; timeoutMs?: number; setting: string; cause?: unknown },
): TimeoutError {
  const after = details.timeoutMs !== undefined ? ` after ${details.timeoutMs} ms` : "";
  const what =
    details.phase === "connect"
      ? `connecting to ${details.backend} at ${details.target} timed out${after}`
      : `a command to ${details.backend} at ${details.target} got no answer${after}`;
  return new TimeoutError(source, `${action} failed: ${what} (${details.setting})`, {
    cause: details.cause,
    phase: details.phase,
    target: details.target,
    timeoutMs: details.timeoutMs,
  });
}

/** A configured capability needs something the backend lacks (e.g. pgvector). */
export class CapabilityError extends PersistenceError {
  override name = "CapabilityError";
}

/**
 * Wraps anything that is not already one of our errors (a `PersistenceError` or our
 * `InvalidNamespaceError`) into a `BackendError`.
 */
export function toPersistenceError(source: string, action: string, err: unknown): PersistenceError {
  if (isPersistenceError(err)) return err as PersistenceError;
  return new BackendError(source, `${action} failed: ${describeCause(err)}`, { cause: err });
}

/**
 * The text an error adds to a wrapping message: its message, or — for an error without one, such as
 * the `AggregateError` of a connection refused on every address — the messages of the errors it holds.
 */
export function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message !== "") return err.message;
  const nested = (err as { errors?: unknown }).errors;
  if (Array.isArray(nested)) {
    const parts = [...new Set(nested.map((e) => (e instanceof Error ? e.message : String(e))).filter((m) => m !== ""))];
    if (parts.length > 0) return parts.join("; ");
  }
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? `${err.name} ${code}` : err.name;
}

/**
 * Re-issues a `PersistenceError` raised by shared core code under the package that called it, so the
 * message prefix names the adapter the caller used. Other errors pass through unchanged.
 */
export function reissue(err: unknown, source: string): unknown {
  if (!isPersistenceError(err) || err.source === source) return err;
  const Ctor = err.constructor as new (s: string, m: string, o?: { cause?: unknown }) => PersistenceError | InvalidNamespaceError;
  // The same error under another name: its cause (if any) stays the cause, and its stack (where core
  // raised it) is kept. Making the original the cause would only repeat the message.
  const again = new Ctor(source, err.message.replace(/^\[[^\]]+\] /, ""), err.cause !== undefined ? { cause: err.cause } : undefined);
  for (const key of Object.keys(err)) {
    if (key !== "source" && key !== "name" && key !== "message") (again as unknown as Record<string, unknown>)[key] = (err as unknown as Record<string, unknown>)[key];
  }
  const at = err.stack?.indexOf("\n    at ") ?? -1;
  if (at >= 0) Object.defineProperty(again, "stack", { value: `${again.name}: ${again.message}${err.stack!.slice(at)}`, writable: true, configurable: true });
  return again;
}
