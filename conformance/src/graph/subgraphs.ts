import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { Annotation, Command, END, START, StateGraph, interrupt, type StateSnapshot } from "@langchain/langgraph";
import { expect } from "vitest";
import type { GraphHarness } from "../harness.js";
import { collect, concat, graphGroup, newThread } from "./context.js";

const ReviewState = Annotation.Root({
  question: Annotation<string>,
  draft: Annotation<string>,
  answer: Annotation<string>,
});

/** parent: prepare → reviewer (subgraph: write → approve, which interrupts) → finish. */
function reviewGraph(checkpointer: BaseCheckpointSaver, calls: Record<string, number>) {
  const count = (node: string) => {
    calls[node] = (calls[node] ?? 0) + 1;
  };
  const reviewer = new StateGraph(ReviewState)
    .addNode("write", (state) => {
      count("write");
      return { draft: `draft about ${state.question}` };
    })
    .addNode("approve", (state) => {
      count("approve");
      const verdict = interrupt({ draft: state.draft });
      return { answer: `${state.draft} (${String(verdict)})` };
    })
    .addEdge(START, "write")
    .addEdge("write", "approve")
    .addEdge("approve", END)
    .compile();
  return new StateGraph(ReviewState)
    .addNode("prepare", (state) => {
      count("prepare");
      return { question: state.question.toUpperCase() };
    })
    .addNode("reviewer", reviewer)
    .addNode("finish", (state) => {
      count("finish");
      return { answer: `${state.answer}!` };
    })
    .addEdge(START, "prepare")
    .addEdge("prepare", "reviewer")
    .addEdge("reviewer", "finish")
    .addEdge("finish", END)
    .compile({ checkpointer });
}

const ChildState = Annotation.Root({ seen: Annotation<string[]>({ reducer: concat, default: () => [] }) });
const ParentState = Annotation.Root({ item: Annotation<string>, childSeen: Annotation<string[]> });

/** A parent whose node calls a child graph; the child either keeps its own thread memory or starts fresh each call. */
function callerGraph(checkpointer: BaseCheckpointSaver, childCheckpointer: true | undefined) {
  const child = new StateGraph(ChildState)
    .addNode("record", () => ({}))
    .addEdge(START, "record")
    .addEdge("record", END)
    .compile({ checkpointer: childCheckpointer, name: "child" });
  return new StateGraph(ParentState)
    .addNode("call_child", async (state) => {
      const out = await child.invoke({ seen: [state.item] });
      return { childSeen: out.seen };
    })
    .addEdge(START, "call_child")
    .addEdge("call_child", END)
    .compile({ checkpointer });
}

export function subgraphsGroup(harness: GraphHarness): void {
  graphGroup("graph: subgraphs", harness, (ctx) => {
    ctx.test("subgraph - checkpoints under the parent's saver, shows in getState({ subgraphs }) and resumes inside the subgraph", async () => {
      const saver = await ctx.saver();
      const calls: Record<string, number> = {};
      const thread = newThread();
      await reviewGraph(saver, calls).invoke({ question: "tides" }, thread);

      const graph = reviewGraph(saver, calls);
      const parentState = await graph.getState(thread, { subgraphs: true });
      expect(parentState.next).toEqual(["reviewer"]);
      expect(parentState.values).toEqual({ question: "TIDES" });
      expect(parentState.tasks).toHaveLength(1);
      const reviewerTask = parentState.tasks[0];
      expect(reviewerTask.name).toBe("reviewer");
      expect(reviewerTask.interrupts.map((i) => i.value)).toEqual([{ draft: "draft about TIDES" }]);
      const sub = reviewerTask.state as StateSnapshot;
      expect(sub.values).toEqual({ question: "TIDES", draft: "draft about TIDES" });
      expect(sub.next).toEqual(["approve"]);
      const subNs = sub.config.configurable?.checkpoint_ns as string;
      expect(subNs.startsWith("reviewer:")).toBe(true);

      // Without `subgraphs`, the task only carries the config of the subgraph state.
      const shallow = await graph.getState(thread);
      expect((shallow.tasks[0].state as { configurable?: Record<string, unknown> }).configurable?.checkpoint_ns).toBe(subNs);

      // The subgraph's own checkpoints live in the same saver, under its namespace.
      const subCheckpoints = await collect(saver.list({ configurable: { thread_id: thread.configurable.thread_id, checkpoint_ns: subNs } }));
      expect(subCheckpoints.length).toBeGreaterThanOrEqual(2);
      expect(subCheckpoints.every((t) => t.config.configurable?.checkpoint_ns === subNs)).toBe(true);
      const subHistory = await collect(graph.getStateHistory({ configurable: { thread_id: thread.configurable.thread_id, checkpoint_ns: subNs } }));
      expect(subHistory[0].values).toEqual({ question: "TIDES", draft: "draft about TIDES" });
      expect(subHistory.map((s) => s.config.configurable?.checkpoint_id)).toEqual(subCheckpoints.map((t) => t.config.configurable?.checkpoint_id));
      const allNamespaces = new Set((await collect(saver.list({ configurable: { thread_id: thread.configurable.thread_id } }))).map((t) => t.config.configurable?.checkpoint_ns));
      expect(allNamespaces).toEqual(new Set(["", subNs]));

      const done = await graph.invoke(new Command({ resume: "approved" }), thread);
      expect(done).toEqual({ question: "TIDES", draft: "draft about TIDES", answer: "draft about TIDES (approved)!" });
      // The subgraph resumed from its checkpoint: `write` did not run again.
      expect(calls).toEqual({ prepare: 1, write: 1, approve: 2, finish: 1 });
      const final = await graph.getState(thread, { subgraphs: true });
      expect(final.next).toEqual([]);
      expect(final.tasks).toEqual([]);
    });

    ctx.test("subgraph - compiled with checkpointer: true keeps its own memory across parent runs of a thread", async () => {
      const saver = await ctx.saver();
      const thread = newThread();
      const persistent = callerGraph(saver, true);
      expect((await persistent.invoke({ item: "a" }, thread)).childSeen).toEqual(["a"]);
      expect((await persistent.invoke({ item: "b" }, thread)).childSeen).toEqual(["a", "b"]);
      // A fresh graph instance finds the child's memory in the saver.
      expect((await callerGraph(saver, true).invoke({ item: "c" }, thread)).childSeen).toEqual(["a", "b", "c"]);

      // The child's state sits in a stable namespace of the same thread.
      const childHead = await saver.getTuple({ configurable: { thread_id: thread.configurable.thread_id, checkpoint_ns: "call_child" } });
      expect(childHead?.checkpoint.channel_values.seen).toEqual(["a", "b", "c"]);

      // Another thread has its own child memory.
      const other = newThread();
      expect((await persistent.invoke({ item: "z" }, other)).childSeen).toEqual(["z"]);

      // Contrast: a child inheriting the parent's checkpointer per call starts fresh on every parent run.
      const perRun = callerGraph(saver, undefined);
      const third = newThread();
      expect((await perRun.invoke({ item: "a" }, third)).childSeen).toEqual(["a"]);
      expect((await perRun.invoke({ item: "b" }, third)).childSeen).toEqual(["b"]);
    });
  });
}
