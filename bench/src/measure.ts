import { diff, snapshot, type Counts } from "./counters.js";
import type { Backend, Role } from "./targets.js";

export type WorkloadId =
  | "put"
  | "putWrites"
  | "getTuple"
  | "getTupleLangchain"
  | "list10"
  | "listAll"
  | "invoke"
  | "coldGetTuple"
  | "coldList10"
  | "coldGetState"
  | "coldGetStateHistory"
  | "storePut"
  | "storeGet"
  | "storeSearchFilter"
  | "storeSearchSemantic";

export const WORKLOADS: Record<WorkloadId, string> = {
  put: "put (200-step chat thread)",
  putWrites: "putWrites (3 writes)",
  getTuple: "getTuple (latest, step 200)",
  getTupleLangchain: "getTuple (latest, 200 LangChain messages)",
  list10: "list (limit 10)",
  listAll: "list () fully consumed (200)",
  invoke: "graph.invoke (100 sequential)",
  coldGetTuple: "cold getTuple (latest; another instance wrote the thread)",
  coldList10: "cold list (limit 10; another instance wrote the thread)",
  coldGetState: "cold graph.getState (another instance wrote the thread)",
  coldGetStateHistory: "cold graph.getStateHistory, first 10 (another instance wrote the thread)",
  storePut: "store put (10k items)",
  storeGet: "store get",
  storeSearchFilter: "store search, filter (limit 10)",
  storeSearchSemantic: "store search, semantic (limit 10)",
};

export interface Measurement {
  backend: Backend;
  workload: WorkloadId;
  role: Role;
  label: string;
  /** Operations per second: median, min and max over the repetitions. */
  median: number;
  min: number;
  max: number;
  samples: number[];
  /** Driver work per operation over the recorded repetitions. */
  perOp?: Counts;
  /** Share of the recorded time spent in driver calls (0–1). */
  driverShare?: number;
}

export interface Contender {
  role: Role;
  label: string;
  /** Runs some operations and returns how many. */
  op: () => Promise<number>;
  /** Runs after each repetition, untimed: removes what the repetition wrote so later ones start alike. */
  cleanup?: () => Promise<void>;
}

export interface MeasureConfig {
  /** Recorded repetitions (after one warm-up repetition). */
  reps: number;
  /** A repetition repeats `op` until at least this much time has passed. */
  minMs: number;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const gc = (globalThis as { gc?: () => void }).gc;

async function repetition(c: Contender, minMs: number): Promise<{ ops: number; ms: number; counts: Counts }> {
  gc?.();
  const before = snapshot();
  const start = process.hrtime.bigint();
  let ops = 0;
  let ms = 0;
  do {
    ops += await c.op();
    ms = Number(process.hrtime.bigint() - start) / 1e6;
  } while (ms < minMs);
  const counts = diff(before);
  await c.cleanup?.();
  return { ops, ms, counts };
}

/**
 * Measures contenders of one workload side by side: one warm-up repetition each, then `reps` rounds
 * in which every contender runs one repetition, the order rotating each round so that drift in the machine's speed spreads over all of them.
 */
export async function measure(
  backend: Backend,
  workload: WorkloadId,
  contenders: Contender[],
  config: MeasureConfig,
  onError: (c: Contender, err: unknown) => void,
): Promise<Measurement[]> {
  type Entry = { c: Contender; samples: number[]; ops: number; ms: number; counts: Counts };
  const alive: Entry[] = [];
  for (const c of contenders) {
    try {
      await repetition(c, config.minMs);
      alive.push({ c, samples: [], ops: 0, ms: 0, counts: { queries: 0, prepares: 0, roundTrips: 0, driverMs: 0 } });
    } catch (err) {
      onError(c, err);
    }
  }
  for (let r = 0; r < config.reps; r++) {
    const order = alive.map((_, i) => alive[(i + r) % alive.length]);
    for (const entry of order) {
      if (!alive.includes(entry)) continue;
      try {
        const { ops, ms, counts } = await repetition(entry.c, config.minMs);
        entry.samples.push((ops * 1000) / ms);
        entry.ops += ops;
        entry.ms += ms;
        for (const k of Object.keys(counts) as Array<keyof Counts>) entry.counts[k] += counts[k];
      } catch (err) {
        onError(entry.c, err);
        alive.splice(alive.indexOf(entry), 1);
      }
    }
  }
  const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
  return alive.map(({ c, samples, ops, ms, counts }) => ({
    backend,
    workload,
    role: c.role,
    label: c.label,
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples,
    perOp: {
      queries: round(counts.queries / ops),
      prepares: round(counts.prepares / ops),
      roundTrips: round(counts.roundTrips / ops),
      driverMs: round(counts.driverMs / ops, 4),
    },
    driverShare: ms > 0 ? round(counts.driverMs / ms, 3) : undefined,
  }));
}
