/**
 * Every error thrown by a langgraph-persist adapter is a `PersistenceError`, so callers can catch
 * the whole family with one `instanceof` while still telling the causes apart by subclass.
 * Messages are prefixed with the package that raised them.
 */
export class PersistenceError extends Error {
  override name = "PersistenceError";
  /** Package that raised the error, e.g. `@langgraph-persist/postgres`. */
  readonly source: string;

  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super(`[${source}] ${message}`, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.source = source;
  }
}

/** A namespace (or namespace prefix) that breaks the namespace rules. */
export class InvalidNamespaceError extends PersistenceError {
  override name = "InvalidNamespaceError";
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

/** A configured capability needs something the backend lacks (e.g. pgvector). */
export class CapabilityError extends PersistenceError {
  override name = "CapabilityError";
}

/** Wraps anything that is not already a `PersistenceError` into a `BackendError`. */
export function toPersistenceError(source: string, action: string, err: unknown): PersistenceError {
  if (err instanceof PersistenceError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new BackendError(source, `${action} failed: ${detail}`, { cause: err });
}

/**
 * Re-issues a `PersistenceError` raised by shared core code under the package that called it, so the
 * message prefix names the adapter the caller used. Other errors pass through unchanged.
 */
export function reissue(err: unknown, source: string): unknown {
  if (!(err instanceof PersistenceError) || err.source === source) return err;
  const Ctor = err.constructor as new (s: string, m: string, o?: { cause?: unknown }) => PersistenceError;
  return new Ctor(source, err.message.replace(/^\[[^\]]+\] /, ""), { cause: err.cause ?? err });
}
