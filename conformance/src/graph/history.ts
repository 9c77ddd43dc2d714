import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { Annotation, END, START, StateGraph, type StateSnapshot } from "@langchain/langgraph";
import { expect } from "vitest";
import type { GraphHarness } from "../harness.js";
import { checkpointIdOf, collect, concat, graphGroup, newThread } from "./context.js";

const StepsState = Annotation.Root({ steps: Annotation<string[]>({ reducer: concat, default: () => [] }) });

/** a → b → c, each appending its name. */
function stepsGraph(checkpointer: BaseCheckpointSaver, calls: Record<string, number> = {}) {
  const node = (name: string) => () => {
    calls[name] = (calls[name] ?? 0) + 1;
    return { steps: [name] };
  };
  return new StateGraph(StepsState)
    .addNode("a", node("a"))
    .addNode("b", node("b"))
    .addNode("c", node("c"))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile({ checkpointer });
}

/** Follows parentConfig links from `from` back to the root, returning checkpoint ids newest first. */
async function ancestry(graph: ReturnType<typeof stepsGraph>, from: StateSnapshot): Promise<string[]> {
  const ids: string[] = [];
  let snapshot: StateSnapshot | undefined = from;
  while (snapshot) {
    ids.push(checkpointIdOf(snapshot.config)!);
    snapshot = snapshot.parentConfig ? await graph.getState(snapshot.parentConfig) : undefined;
  }
  return ids;
}

export function historyGroup(harness: GraphHarness): void {
  graphGroup("graph: state history and time travel", harness, (ctx) => {
    ctx.test("getStateHistory - lists every checkpoint newest first with its values, next node and parent", async () => {
      const saver = await ctx.saver();
      const graph = stepsGraph(saver);
      const thread = newThread();
      const out = await graph.invoke({ steps: ["start"] }, thread);
      expect(out.steps).toEqual(["start", "a", "b", "c"]);

      const history = await collect(graph.getStateHistory(thread));
      expect(history.map((s) => s.metadata?.step)).toEqual([3, 2, 1, 0, -1]);
      expect(history.map((s) => s.metadata?.source)).toEqual(["loop", "loop", "loop", "loop", "input"]);
      expect(history.map((s) => s.next)).toEqual([[], ["c"], ["b"], ["a"], ["__start__"]]);
      expect(history.slice(0, 4).map((s) => s.values.steps)).toEqual([
        ["start", "a", "b", "c"],
        ["start", "a", "b"],
        ["start", "a"],
        ["start"],
      ]);
      const ids = history.map((s) => checkpointIdOf(s.config)!);
      expect([...ids].sort().reverse()).toEqual(ids);
      for (let i = 0; i < history.length - 1; i++) expect(checkpointIdOf(history[i].parentConfig)).toBe(ids[i + 1]);
      expect(history.at(-1)!.parentConfig).toBeUndefined();

      const limited = await collect(graph.getStateHistory(thread, { limit: 2 }));
      expect(limited.map((s) => checkpointIdOf(s.config))).toEqual(ids.slice(0, 2));
      const before = await collect(graph.getStateHistory(thread, { before: history[1].config }));
      expect(before.map((s) => checkpointIdOf(s.config))).toEqual(ids.slice(2));
      const filtered = await collect(graph.getStateHistory(thread, { filter: { source: "input" } }));
      expect(filtered.map((s) => checkpointIdOf(s.config))).toEqual([ids[4]]);
    });

    ctx.test("time travel - invoking an earlier checkpoint's config re-runs from there on a new branch", async () => {
      const saver = await ctx.saver();
      const calls: Record<string, number> = {};
      const graph = stepsGraph(saver, calls);
      const thread = newThread();
      await graph.invoke({ steps: ["start"] }, thread);
      const original = await collect(graph.getStateHistory(thread));
      const afterA = original.find((s) => s.next[0] === "b")!;
      expect(afterA.values.steps).toEqual(["start", "a"]);

      const replayed = await stepsGraph(saver, calls).invoke(null, afterA.config);
      expect(replayed.steps).toEqual(["start", "a", "b", "c"]);
      expect(calls).toEqual({ a: 1, b: 2, c: 2 });

      // The new branch: a "fork" copy of the checkpoint we travelled to, then b and c again.
      const after = await collect(graph.getStateHistory(thread));
      expect(after).toHaveLength(original.length + 3);
      const [head, afterB, fork] = after;
      expect(head.values.steps).toEqual(["start", "a", "b", "c"]);
      expect(afterB.values.steps).toEqual(["start", "a", "b"]);
      expect(fork.metadata?.source).toBe("fork");
      expect(fork.values.steps).toEqual(["start", "a"]);
      expect(fork.next).toEqual(["b"]);
      const lineage = await ancestry(graph, head);
      expect(lineage).toEqual([
        checkpointIdOf(head.config),
        checkpointIdOf(afterB.config),
        checkpointIdOf(fork.config),
        ...original.slice(2).map((s) => checkpointIdOf(s.config)),
      ]);
      // The old branch is untouched and still reads back.
      expect(after.slice(3).map((s) => checkpointIdOf(s.config))).toEqual(original.map((s) => checkpointIdOf(s.config)));
      const oldHead = await graph.getState(original[0].config);
      expect(oldHead.values.steps).toEqual(["start", "a", "b", "c"]);
      expect(oldHead.next).toEqual([]);
    });

    ctx.test("updateState - forks an earlier checkpoint and the fork runs on with the edited values", async () => {
      const saver = await ctx.saver();
      const calls: Record<string, number> = {};
      const graph = stepsGraph(saver, calls);
      const thread = newThread();
      await graph.invoke({ steps: ["start"] }, thread);
      const original = await collect(graph.getStateHistory(thread));
      const afterA = original.find((s) => s.next[0] === "b")!;

      // Written as if node "a" produced it, so "b" is next on the fork.
      const forkConfig = await graph.updateState(afterA.config, { steps: ["edited"] }, "a");
      expect(forkConfig.configurable?.thread_id).toBe(thread.configurable.thread_id);
      const fork = await graph.getState(forkConfig);
      expect(fork.values.steps).toEqual(["start", "a", "edited"]);
      expect(fork.next).toEqual(["b"]);
      expect(fork.metadata?.source).toBe("update");
      expect(checkpointIdOf(fork.parentConfig)).toBe(checkpointIdOf(afterA.config));

      const out = await stepsGraph(saver, calls).invoke(null, forkConfig);
      expect(out.steps).toEqual(["start", "a", "edited", "b", "c"]);
      expect((await graph.getState(thread)).values.steps).toEqual(["start", "a", "edited", "b", "c"]);
      // The original branch still reads back unchanged.
      expect((await graph.getState(original[0].config)).values.steps).toEqual(["start", "a", "b", "c"]);
      expect((await graph.getState(afterA.config)).values.steps).toEqual(["start", "a"]);
      expect(calls).toEqual({ a: 1, b: 2, c: 2 });
    });

    ctx.test("updateState - on the latest checkpoint adds a checkpoint the next run builds on", async () => {
      const saver = await ctx.saver();
      const graph = stepsGraph(saver);
      const thread = newThread();
      await graph.invoke({ steps: ["start"] }, thread);
      const before = await graph.getState(thread);
      await graph.updateState(thread, { steps: ["note"] });
      const after = await stepsGraph(saver).getState(thread);
      expect(after.values.steps).toEqual(["start", "a", "b", "c", "note"]);
      expect(after.metadata?.source).toBe("update");
      expect(checkpointIdOf(after.parentConfig)).toBe(checkpointIdOf(before.config));

      const next = await graph.invoke({ steps: ["again"] }, thread);
      expect(next.steps).toEqual(["start", "a", "b", "c", "note", "again", "a", "b", "c"]);
    });
  });
}
