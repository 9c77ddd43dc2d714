/**
 * The fresh-process cold read: started by the bench as a child process, it opens a saver on data
 * another process wrote (`SaverTarget.attach`) and reads the latest checkpoint of each thread once.
 * Prints `{ openMs, firstMs, perReadMs }` as JSON on stdout.
 */
import { saverTargets, type Availability, type Backend, type BenchEnv } from "./targets.js";

interface ChildInput {
  backend: Backend;
  role: "ours" | "official";
  scope: string;
  threads: string[];
  env: BenchEnv;
  available: Availability;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as ChildInput;
  const target = (await saverTargets(input.env, input.available)).find((t) => t.backend === input.backend && t.role === input.role);
  if (!target?.attach) throw new Error(`no cold reader for ${input.backend} ${input.role}`);
  let start = performance.now();
  const handle = await target.attach(input.scope);
  const openMs = performance.now() - start;
  const times: number[] = [];
  for (const thread_id of input.threads) {
    start = performance.now();
    const tuple = await handle.saver.getTuple({ configurable: { thread_id, checkpoint_ns: "" } });
    times.push(performance.now() - start);
    if (!tuple) throw new Error(`thread ${thread_id} not found`);
  }
  await handle.close();
  const rest = times.slice(1);
  process.stdout.write(JSON.stringify({ openMs, firstMs: times[0], perReadMs: rest.reduce((a, b) => a + b, 0) / Math.max(1, rest.length) }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
