import { InvalidArgumentError } from "./errors.js";

/** TTL is always expressed in minutes, for savers and stores alike. */
export interface TtlConfig {
  /** Minutes until an item (or a thread) expires when no per-write TTL is given. `undefined` = never. */
  defaultTtl?: number;
  /**
   * Whether reads extend the expiry by the item's TTL again.
   * @default true
   */
  refreshOnRead?: boolean;
  /**
   * How often a background sweep deletes expired rows, in minutes. Expired rows are hidden from every
   * read before they are swept. Backends with native expiry (Redis, MongoDB TTL indexes) ignore it.
   * @default 5
   */
  sweepIntervalMinutes?: number;
}

const MINUTE_MS = 60_000;

export function validateTtlMinutes(ttl: unknown, source: string, what = "ttl"): number | null | undefined {
  if (ttl === undefined || ttl === null) return ttl as null | undefined;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl <= 0) {
    throw new InvalidArgumentError(source, `${what} must be a positive number of minutes, got ${String(ttl)}`);
  }
  return ttl;
}

export function validateTtlConfig(config: TtlConfig | undefined, source: string): Required<Pick<TtlConfig, "refreshOnRead" | "sweepIntervalMinutes">> & TtlConfig {
  const defaultTtl = validateTtlMinutes(config?.defaultTtl, source, "ttl.defaultTtl") ?? undefined;
  const sweep = validateTtlMinutes(config?.sweepIntervalMinutes ?? 5, source, "ttl.sweepIntervalMinutes") as number;
  return { defaultTtl, refreshOnRead: config?.refreshOnRead ?? true, sweepIntervalMinutes: sweep };
}

export function minutesToMs(minutes: number): number {
  return Math.round(minutes * MINUTE_MS);
}

/** Absolute expiry in epoch milliseconds, or `null` for no expiry. */
export function expiresAt(nowMs: number, ttlMinutes: number | null | undefined): number | null {
  return ttlMinutes === null || ttlMinutes === undefined ? null : nowMs + minutesToMs(ttlMinutes);
}

export function isExpired(expiresAtMs: number | null | undefined, nowMs: number): boolean {
  return expiresAtMs !== null && expiresAtMs !== undefined && expiresAtMs <= nowMs;
}

/**
 * Starts a periodic sweep that never keeps the process alive. Returns a stopper.
 * Errors are reported to `onError` and the timer keeps running.
 */
export function startSweeper(intervalMinutes: number, sweep: () => Promise<unknown>, onError: (err: unknown) => void = () => {}): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep().catch(onError).finally(() => {
      running = false;
    });
  }, minutesToMs(intervalMinutes));
  timer.unref?.();
  return () => clearInterval(timer);
}
