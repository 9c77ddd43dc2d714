import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { Annotation, Command, END, START, Send, StateGraph, interrupt } from "@langchain/langgraph";
import { expect } from "vitest";
import type { GraphHarness } from "../harness.js";
import { concat, graphGroup, newThread } from "./context.js";

const FanState = Annotation.Root({
  topic: Annotation<string>,
  results: Annotation<string[]>({ reducer: concat, default: () => [] }),
  summary: Annotation<string>,
});

/**
 * start → (left ∥ right) → join. Both branches run in one superstep and write to the `results`
 * reducer; `right` asks for input first when `askRight` is set.
 */
function branchesGraph(checkpointer: BaseCheckpointSaver, calls: Record<string, number>, askRight: boolean) {
  const count = (node: string) => {
    calls[node] = (calls[node] ?? 0) + 1;
  };
  return new StateGraph(FanState)
    .addNode("start", () => ({ results: ["start"] }))
    .addNode("left", (state) => {
      count("left");
      return { results: [`left:${state.topic}`] };
    })
    .addNode("right", (state) => {
      count("right");
      const note = askRight ? String(interrupt("note for right?")) : "auto";
      return { results: [`right:${state.topic}:${note}`] };
    })
    .addNode("join", (state) => {
      count("join");
      return { summary: state.results.join(" | ") };
    })
    .addEdge(START, "start")
    .addEdge("start", "left")
    .addEdge("start", "right")
    .addEdge(["left", "right"], "join")
    .addEdge("join", END)
    .compile({ checkpointer });
}

const MapState = Annotation.Root({
  items: Annotation<string[]>,
  results: Annotation<string[]>({ reducer: concat, default: () => [] }),
});

/** One `Send` per item to `worker`; `failOnce` makes that item's worker throw on its first run. */
function sendGraph(checkpointer: BaseCheckpointSaver, calls: Record<string, number>, failOnce: Set<string>) {
  const failing = new Set(failOnce);
  let othersDone = 0;
  let release: () => void = () => undefined;
  const othersFinished = new Promise<void>((resolve) => {
    release = resolve;
  });
  return new StateGraph(MapState)
    .addNode("plan", () => ({}))
    .addNode("worker", async (input: { item: string; total: number }) => {
      calls[input.item] = (calls[input.item] ?? 0) + 1;
      if (failing.has(input.item) && failOnce.has(input.item)) {
        failOnce.delete(input.item);
        // Fail only after every other worker of the superstep has returned, so their writes are saved first.
        await othersFinished;
        await new Promise((resolve) => setImmediate(resolve));
        throw new Error(`worker ${input.item} failed`);
      }
      othersDone++;
      if (othersDone === input.total - failing.size) release();
      return { results: [`${input.item.toUpperCase()}`] };
    })
    .addEdge(START, "plan")
    .addConditionalEdges("plan", (state) => state.items.map((item) => new Send("worker", { item, total: state.items.length })), ["worker"])
    .addEdge("worker", END)
    .compile({ checkpointer });
}

export function parallelGroup(harness: GraphHarness): void {
  graphGroup("graph: parallel branches and Send", harness, (ctx) => {
    ctx.test("parallel branches - a finished branch's writes survive while the other waits on an interrupt", async () => {
      const saver = await ctx.saver();
      const calls: Record<string, number> = {};
      const thread = newThread();
      await branchesGraph(saver, calls, true).invoke({ topic: "rust" }, thread);
      expect(calls).toEqual({ left: 1, right: 1 });

      const graph = branchesGraph(saver, calls, true);
      const paused = await graph.getState(thread);
      // `left` already finished: its write is a pending write of the checkpoint, which getState applies.
      expect(paused.next).toEqual(["right"]);
      expect(paused.values.results).toEqual(["start", "left:rust"]);
      expect(paused.tasks.map((t) => t.name)).toEqual(["left", "right"]);
      const leftTask = paused.tasks.find((t) => t.name === "left")!;
      const rightTask = paused.tasks.find((t) => t.name === "right")!;
      expect(leftTask.interrupts).toEqual([]);
      expect(leftTask.result).toEqual({ results: ["left:rust"] });
      expect(rightTask.interrupts.map((i) => i.value)).toEqual(["note for right?"]);

      const done = await graph.invoke(new Command({ resume: "checked" }), thread);
      expect(calls).toEqual({ left: 1, right: 2, join: 1 });
      expect(done.results).toEqual(["start", "left:rust", "right:rust:checked"]);
      expect(done.summary).toBe("start | left:rust | right:rust:checked");

      // Same result as a run that never paused: the reducer order does not depend on timing.
      const straight = await branchesGraph(saver, {}, false).invoke({ topic: "rust" }, newThread());
      expect(straight.results).toEqual(["start", "left:rust", "right:rust:auto"]);
    });

    ctx.test("Send fan-out - results are deterministic and only the failed send runs again", async () => {
      const saver = await ctx.saver();
      const calls: Record<string, number> = {};
      const thread = newThread();
      const items = ["a", "b", "c", "d", "e"];
      const failOnce = new Set(["c"]);
      await expect(sendGraph(saver, calls, failOnce).invoke({ items }, thread)).rejects.toThrow("worker c failed");
      expect(calls).toEqual({ a: 1, b: 1, c: 1, d: 1, e: 1 });

      const graph = sendGraph(saver, calls, failOnce);
      const failed = await graph.getState(thread);
      // Four sends finished and their writes are pending on the checkpoint; only the failed one is next.
      expect(failed.next).toEqual(["worker"]);
      expect(failed.values.results).toEqual(["A", "B", "D", "E"]);
      expect(failed.tasks).toHaveLength(5);
      const errors = failed.tasks.filter((t) => t.error !== undefined && t.error !== null);
      expect(errors).toHaveLength(1);
      expect(String((errors[0].error as { message?: string }).message ?? errors[0].error)).toContain("worker c failed");
      expect(failed.tasks.filter((t) => t.result !== undefined).map((t) => t.result)).toEqual([
        { results: ["A"] },
        { results: ["B"] },
        { results: ["D"] },
        { results: ["E"] },
      ]);

      const done = await graph.invoke(null, thread);
      expect(done.results).toEqual(["A", "B", "C", "D", "E"]);
      expect(calls).toEqual({ a: 1, b: 1, c: 2, d: 1, e: 1 });

      const straight = await sendGraph(saver, {}, new Set()).invoke({ items }, newThread());
      expect(straight.results).toEqual(["A", "B", "C", "D", "E"]);
    });
  });
}
