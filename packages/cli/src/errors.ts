/**
 * A mistake the user can fix (bad flag, unknown URL scheme, missing package): reported as one line,
 * without a stack trace.
 */
export class CliError extends Error {
  override name = "CliError";
  /** Process exit code. 2 for usage errors, 1 otherwise. */
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A command line the parser cannot make sense of. */
export class UsageError extends CliError {
  override name = "UsageError";

  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
};

/** Every error reachable from `err` through `cause` and `AggregateError.errors`, `err` first. */
function errorChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  const queue = [err];
  while (queue.length > 0 && out.length < 20) {
    const e = queue.shift();
    if (e === undefined || e === null || out.includes(e)) continue;
    out.push(e);
    if (typeof e === "object") {
      queue.push((e as { cause?: unknown }).cause);
      const nested = (e as { errors?: unknown }).errors;
      if (Array.isArray(nested)) queue.push(...nested);
    }
  }
  return out;
}

function firstLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
}

/**
 * The one line printed for an error. Typed errors of the adapters already say what went wrong and
 * which package noticed; this adds what the user most likely has to do about it.
 */
export function describeError(err: unknown): string {
  if (err instanceof CliError) return err.message;
  const chain = errorChain(err);
  const head = chain[0];
  const name = head instanceof Error ? head.name : "";
  let message = head instanceof Error ? firstLine(head.message) : firstLine(String(head));
  if (message === "") {
    // e.g. pg's AggregateError when every address of "localhost" refused the connection
    message = chain.map((e) => (e instanceof Error ? firstLine(e.message) : "")).find((m) => m !== "") ?? (name || "unknown error");
  }
  if (name === "NotSetUpError") {
    return `${message} (nothing has been stored here yet, or under another schema/prefix: check the URL)`;
  }
  for (const e of chain) {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === "string" && NETWORK_CODES[code] && !message.includes(code)) {
      return `${message} (${NETWORK_CODES[code]}: ${code}; is the server running and the URL right?)`;
    }
    if (typeof code === "string" && NETWORK_CODES[code]) return `${message} (is the server running and the URL right?)`;
  }
  if (/password authentication failed|role ".*" does not exist|WRONGPASS|NOAUTH|invalid username-password|Authentication failed|AUTH .*without any password/i.test(message)) {
    return `${message} (check the user name and password in the URL)`;
  }
  if (/max retries per request|Server selection timed out|Connection is closed|timeout expired/i.test(message)) {
    return `${message} (could not reach the server: is it running and the URL right?)`;
  }
  return message;
}

/** The full report for `--verbose`: every error of the chain with its stack. */
export function describeErrorVerbose(err: unknown): string {
  return errorChain(err)
    .map((e, i) => `${i === 0 ? "" : "caused by: "}${e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e)}`)
    .join("\n");
}
