import { createInterface } from "node:readline/promises";
import { CliError, UsageError } from "./errors.js";

/** Where a command writes: data to `out`, progress and diagnostics to `err`. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether `err` is an interactive terminal (progress bars redraw in place only then). */
  errIsTty: boolean;
  /** Whether stdin is an interactive terminal: destructive commands ask before they change anything only then. */
  inIsTty: boolean;
  /** Asks a yes/no question on the terminal; true only for an answer of y or yes. */
  confirm: (question: string) => Promise<boolean>;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  errIsTty: process.stderr.isTTY === true,
  inIsTty: process.stdin.isTTY === true,
  confirm: async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^\s*y(es)?\s*$/i.test(await rl.question(`${question} [y/N] `));
    } finally {
      rl.close();
    }
  },
};

/**
 * The confirmation of a destructive command: nothing to do with `--yes`; a question on a terminal
 * (declining is an error: nothing was changed); without a terminal, a usage error asking for `--yes`.
 * `preview` is shown (on stderr) before the question.
 */
export async function confirmDestructive(io: Io, options: { command: string; yes: boolean; question: string; preview?: string; nonInteractive: string }): Promise<void> {
  if (options.yes) return;
  if (!io.inIsTty) throw new UsageError(`${options.command}: ${options.nonInteractive}`);
  if (options.preview) io.err(options.preview);
  if (!(await io.confirm(options.question))) throw new CliError(`${options.command}: not confirmed; nothing was changed`);
}

/** Renders rows as an aligned text table; cells longer than `maxWidth` are shortened with an ellipsis. */
export function table(header: string[], rows: string[][], maxWidth = 60): string {
  const clip = (c: string) => {
    const flat = c.replace(/\s+/g, " ");
    return flat.length > maxWidth ? `${flat.slice(0, maxWidth - 1)}…` : flat;
  };
  const cells = rows.map((r) => r.map(clip));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (cs: string[]) => cs.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n") + "\n";
}

/** JSON for `--json`: Dates as ISO strings, bigints as strings, byte arrays as base64. */
export function toJson(value: unknown): string {
  return (
    JSON.stringify(
      value,
      (_k, v) => {
        if (typeof v === "bigint") return v.toString();
        if (v instanceof Uint8Array) return { base64: Buffer.from(v).toString("base64") };
        return v;
      },
      2,
    ) + "\n"
  );
}

/** A short, single-line rendering of any value for a table cell. */
export function preview(value: unknown, max = 60): string {
  let text: string;
  if (typeof value === "string") text = value;
  else {
    try {
      text = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  text = text.replace(/\s+/g, " ");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Duration units by every spelling accepted. A month is 30 days, a year 365 days. */
const UNITS: Record<string, number> = {
  s: SECOND, sec: SECOND, secs: SECOND, second: SECOND, seconds: SECOND,
  min: MINUTE, mins: MINUTE, minute: MINUTE, minutes: MINUTE,
  h: HOUR, hr: HOUR, hrs: HOUR, hour: HOUR, hours: HOUR,
  d: DAY, day: DAY, days: DAY,
  w: 7 * DAY, wk: 7 * DAY, wks: 7 * DAY, week: 7 * DAY, weeks: 7 * DAY,
  mo: 30 * DAY, mos: 30 * DAY, month: 30 * DAY, months: 30 * DAY,
  y: 365 * DAY, yr: 365 * DAY, yrs: 365 * DAY, year: 365 * DAY, years: 365 * DAY,
};

const DURATION_UNITS = "s, min, h, d, w, mo or y (e.g. 30s, 15min, 12h, 7d, 2w, 3mo, 1y, 1d12h)";

/**
 * Parses `30s`, `15min`, `12h`, `7d`, `2w`, `3mo`, `1y` (or combinations like `1d12h`) into
 * milliseconds. A bare `m` is refused: it could mean minutes or months.
 */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)\s*([a-z]*)\s*/gy;
  let total = 0;
  let pos = 0;
  const s = text.trim().toLowerCase();
  const invalid = (why: string) => new UsageError(`invalid duration ${JSON.stringify(text)}: ${why}`);
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) break;
    const [, amount, unit] = m;
    if (unit === "m") throw invalid(`"m" is ambiguous: write ${amount}min for minutes or ${amount}mo for months`);
    if (unit === "") throw invalid(`${amount} needs a unit: ${DURATION_UNITS}`);
    if (!Object.hasOwn(UNITS, unit)) throw invalid(`unknown unit ${JSON.stringify(unit)}: use ${DURATION_UNITS}`);
    total += Number(amount) * UNITS[unit];
    pos = re.lastIndex;
  }
  if (s === "" || pos !== s.length || !(total > 0)) {
    throw invalid(`use a number with a unit ${DURATION_UNITS}`);
  }
  return total;
}

/** `3 threads`, `1 thread`. */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/**
 * Progress on stderr: a redrawn bar with counts and rate on a terminal, a plain line every few seconds
 * (and at the end) otherwise, so logs stay readable.
 */
export class Progress {
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;
  private done = 0;
  private total: number | undefined;
  private detail = "";
  private fraction: number | undefined;

  constructor(
    private readonly io: Io,
    private readonly label: string,
    private readonly unit: string,
  ) {}

  /** Sets the number of units expected, when it is known. */
  setTotal(total: number): void {
    this.total = total;
  }

  /**
   * Counts `n` more units done; `detail` is shown after the counts (e.g. `thread 2/5`), `fraction`
   * (0..1) fills the bar when the total number of units is not known up front.
   */
  tick(n = 1, detail?: string, fraction?: number): void {
    this.done += n;
    if (detail !== undefined) this.detail = detail;
    if (fraction !== undefined) this.fraction = fraction;
    const now = Date.now();
    const interval = this.io.errIsTty ? 80 : 5_000;
    if (now - this.lastDraw >= interval) this.draw(now);
  }

  /** Prints the final line. */
  finish(): void {
    this.draw(Date.now(), true);
  }

  private rate(now: number): string {
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const r = this.done / seconds;
    return `${r >= 10 ? Math.round(r) : r.toFixed(1)}/s`;
  }

  private draw(now: number, final = false): void {
    this.lastDraw = now;
    const counts = this.total !== undefined ? `${this.done}/${plural(this.total, this.unit)}` : plural(this.done, this.unit);
    const detail = this.detail ? ` · ${this.detail}` : "";
    if (this.io.errIsTty) {
      const width = 20;
      const ratio = final ? 1 : this.total ? Math.min(this.done / this.total, 1) : (this.fraction ?? 0);
      const filled = Math.round(ratio * width);
      const bar = `[${"█".repeat(filled)}${"░".repeat(width - filled)}] `;
      const text = `${this.label} ${bar}${counts} (${this.rate(now)})${detail}`;
      const cols = (process.stderr.columns ?? 100) - 1;
      this.io.err(`\r\x1b[2K${text.length > cols ? text.slice(0, cols) : text}${final ? "\n" : ""}`);
      this.drawn = !final;
    } else {
      this.io.err(`${this.label}: ${counts} (${this.rate(now)})${detail}\n`);
    }
  }

  /** Clears an in-place bar before other output is written to stderr. */
  clear(): void {
    if (this.drawn && this.io.errIsTty) this.io.err("\r\x1b[2K");
    this.drawn = false;
  }
}
