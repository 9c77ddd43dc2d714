import type { BaseCheckpointSaver, CheckpointPendingWrite } from "@langchain/langgraph-checkpoint";
import { Annotation, DeltaChannel, END, START, Send, StateGraph } from "@langchain/langgraph";
import { expect } from "vitest";
import type { GraphHarness } from "../harness.js";
import type { VersionRequirement } from "../versions.js";
import { collect, graphGroup, newThread, type GraphContext } from "./context.js";

/** An order-sensitive batch reducer: a superstep's writes are appended in the order they are applied. */
const append = (state: string[], writes: string[]): string[] => [...state, ...writes];

const FanOutState = Annotation.Root({
  items: Annotation<string[]>,
  // Stored as the writes of each step (plus a snapshot now and then), rebuilt on read by replaying them.
  log: () => new DeltaChannel<string[], string>(append),
});

/**
 * plan → one `Send` per item to `worker` (parallel tasks of one superstep) → END. Each worker writes its
 * item to the delta channel `log`; the first items finish last, so the order writes reach the saver is
 * neither the Send order nor the task-id order.
 */
function fanOutGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(FanOutState)
    .addNode("plan", () => ({}))
    .addNode("worker", async (input: { item: string; delay: number }) => {
      await new Promise((resolve) => setTimeout(resolve, input.delay));
      return { log: input.item };
    })
    .addEdge(START, "plan")
    .addConditionalEdges("plan", (state) => state.items.map((item, i) => new Send("worker", { item, delay: 2 * (state.items.length - i) })), ["worker"])
    .addEdge("worker", END)
    .compile({ checkpointer });
}

const ROUNDS = [
  ["a", "b", "c", "d", "e", "f"],
  ["g", "h", "i", "j", "k", "l"],
];

/** The `log` writes stored on the checkpoint whose fan-out wrote `items`, in the order the saver returns them. */
async function fanOutWrites(saver: BaseCheckpointSaver, thread: ReturnType<typeof newThread>, items: string[]): Promise<CheckpointPendingWrite[]> {
  for await (const tuple of saver.list(thread)) {
    const writes = (tuple.pendingWrites ?? []).filter((w) => w[1] === "log");
    if (writes.length === items.length && writes.every((w) => items.includes(w[2] as string))) return writes;
  }
  throw new Error(`no checkpoint holds the writes of ${items.join(",")}`);
}

/**
 * Runs the rounds live on a new thread, then checks that a saver on the same data rebuilds the live
 * state (getState, getStateHistory), and that each fan-out's stored writes come back in the order the
 * run applied them. With `distinctOrders`, threads are retried until the first fan-out's task-id order
 * differs from the order the run applied its writes in, so a saver that sorts by task id is caught.
 */
async function fanOutRoundTrip(ctx: GraphContext, distinctOrders: boolean): Promise<void> {
  const saver = await ctx.saver();
  const run = async () => {
    const thread = newThread();
    const graph = fanOutGraph(saver);
    const live: string[][] = [];
    for (const items of ROUNDS) live.push((await graph.invoke({ items }, thread)).log);
    return { thread, live };
  };
  let { thread, live } = await run();
  for (let attempt = 1; distinctOrders; attempt++) {
    // Task ids are hashes: in about one run in 720 (6!) they happen to sort like the applied order.
    const byTaskId = [...(await fanOutWrites(saver, thread, ROUNDS[0]))].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((w) => w[2]);
    if (JSON.stringify(byTaskId) !== JSON.stringify(live[0])) break;
    expect(attempt, "a fan-out whose task-id order differs from its applied order").toBeLessThan(5);
    ({ thread, live } = await run());
  }
  expect(live[1].slice(0, ROUNDS[0].length), "the second round appends to the first").toEqual(live[0]);
  expect([...live[1]].sort()).toEqual(ROUNDS.flat());

  for (const reader of [saver, await ctx.peerOf(saver)]) {
    for (const [round, items] of ROUNDS.entries()) {
      const applied = live[round].slice(round === 0 ? 0 : live[round - 1].length);
      expect((await fanOutWrites(reader, thread, items)).map((w) => w[2]), `round ${round}: pending writes in the order they were applied`).toEqual(applied);
    }
    const graph = fanOutGraph(reader);
    expect((await graph.getState(thread)).values.log, "getState").toEqual(live[1]);
    const history = await collect(graph.getStateHistory(thread));
    expect(history[0].values.log, "getStateHistory, latest").toEqual(live[1]);
    const seen = history.map((s) => (s.values as { log?: string[] }).log ?? []);
    for (const log of seen) expect([[], live[0], live[1]], "every checkpoint holds a state the run had").toContainEqual(log);
    expect(seen, "the checkpoint after the first fan-out").toContainEqual(live[0]);
  }
}

const PATH_ORDER: VersionRequirement = {
  package: "@langchain/langgraph",
  range: ">=1.7.0",
  reason: "earlier LangGraph passes no task path to putWrites and applies a superstep's DeltaChannel writes in task-id order",
};

export function deltaChannelGroup(harness: GraphHarness): void {
  graphGroup("graph: DeltaChannel", harness, (ctx) => {
    ctx.test("DeltaChannel - a Send fan-out writing to one delta channel: the state rebuilt from history on another instance equals the live state", () =>
      fanOutRoundTrip(ctx, false),
    );

    ctx.test(
      "DeltaChannel - parallel tasks whose task-id order differs from their task-path order: history replays their writes in the order the run applied them",
      () => fanOutRoundTrip(ctx, true),
      { versions: [PATH_ORDER] },
    );
  });
}
