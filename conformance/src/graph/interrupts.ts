import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { Annotation, Command, END, INTERRUPT, START, StateGraph, interrupt, isInterrupted } from "@langchain/langgraph";
import { expect } from "vitest";
import type { GraphHarness } from "../harness.js";
import { graphGroup, newThread } from "./context.js";

const ApprovalState = Annotation.Root({
  request: Annotation<string>,
  plan: Annotation<string>,
  decision: Annotation<string>,
  result: Annotation<string>,
});

/** make_plan → approve (two interrupts in one node) → act. */
function approvalGraph(checkpointer: BaseCheckpointSaver, calls: Record<string, number>) {
  const count = (node: string) => {
    calls[node] = (calls[node] ?? 0) + 1;
  };
  return new StateGraph(ApprovalState)
    .addNode("make_plan", (state) => {
      count("make_plan");
      return { plan: `plan for ${state.request}` };
    })
    .addNode("approve", (state) => {
      count("approve");
      const first = interrupt({ question: `Approve ${state.plan}?` });
      const second = interrupt({ question: "Are you sure?", first });
      return { decision: `${String(first)}/${String(second)}` };
    })
    .addNode("act", (state) => {
      count("act");
      return { result: `${state.plan} done after ${state.decision}` };
    })
    .addEdge(START, "make_plan")
    .addEdge("make_plan", "approve")
    .addEdge("approve", "act")
    .addEdge("act", END)
    .compile({ checkpointer });
}

export function interruptsGroup(harness: GraphHarness): void {
  graphGroup("graph: interrupts", harness, (ctx) => {
    ctx.test("interrupt - is persisted and a new graph instance (on a peer saver when the harness has one) resumes it with Command", async () => {
      const saver = await ctx.saver();
      const calls: Record<string, number> = {};
      const thread = newThread();

      const paused = await approvalGraph(saver, calls).invoke({ request: "deploy" }, thread);
      expect(isInterrupted(paused)).toBe(true);
      expect((paused as Record<string, unknown>)[INTERRUPT]).toMatchObject([{ value: { question: "Approve plan for deploy?" } }]);

      // A second process: new saver instance on the same data, new graph instance.
      const peer = await ctx.peerOf(saver);
      const graph = approvalGraph(peer, calls);
      const state = await graph.getState(thread);
      expect(state.next).toEqual(["approve"]);
      expect(state.values).toEqual({ request: "deploy", plan: "plan for deploy" });
      expect(state.tasks).toHaveLength(1);
      expect(state.tasks[0].name).toBe("approve");
      expect(state.tasks[0].interrupts).toHaveLength(1);
      expect(state.tasks[0].interrupts[0].value).toEqual({ question: "Approve plan for deploy?" });
      expect(typeof state.tasks[0].interrupts[0].id).toBe("string");

      // First resume: the node runs again, gets "yes" from the first interrupt and stops at the second.
      await graph.invoke(new Command({ resume: "yes" }), thread);
      // (LangGraph reports `next: []` here: the task already has its first resume value written.)
      const second = await approvalGraph(peer, calls).getState(thread);
      expect(second.tasks.map((t) => t.name)).toEqual(["approve"]);
      expect(second.tasks[0].interrupts.map((i) => i.value)).toEqual([{ question: "Are you sure?", first: "yes" }]);
      expect(second.values.decision).toBeUndefined();

      const done = await approvalGraph(peer, calls).invoke(new Command({ resume: "certain" }), thread);
      expect(done).toEqual({ request: "deploy", plan: "plan for deploy", decision: "yes/certain", result: "plan for deploy done after yes/certain" });
      expect(calls).toEqual({ make_plan: 1, approve: 3, act: 1 });
      const final = await approvalGraph(saver, calls).getState(thread);
      expect(final.next).toEqual([]);
      expect(final.tasks).toEqual([]);
      expect(final.values.result).toBe("plan for deploy done after yes/certain");
    });

    ctx.test("interrupt - interrupts of different threads stay separate", async () => {
      const saver = await ctx.saver();
      const calls: Record<string, number> = {};
      const graph = approvalGraph(saver, calls);
      const a = newThread();
      const b = newThread();
      await graph.invoke({ request: "alpha" }, a);
      await graph.invoke({ request: "beta" }, b);
      expect((await graph.getState(a)).tasks[0].interrupts[0].value).toEqual({ question: "Approve plan for alpha?" });
      expect((await graph.getState(b)).tasks[0].interrupts[0].value).toEqual({ question: "Approve plan for beta?" });

      await graph.invoke(new Command({ resume: "no" }), b);
      await graph.invoke(new Command({ resume: "never" }), b);
      expect((await graph.getState(b)).values.result).toBe("plan for beta done after no/never");
      const stillPaused = await graph.getState(a);
      expect(stillPaused.next).toEqual(["approve"]);
      expect(stillPaused.values.result).toBeUndefined();
    });
  });
}
