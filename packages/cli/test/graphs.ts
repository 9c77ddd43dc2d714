import { Annotation, END, START, StateGraph, interrupt } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";

const State = Annotation.Root({
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/**
 * START fans out to `a` (plain node) and `b` (a subgraph whose node interrupts), then both join into
 * `c`. When `b` interrupts, `a` has already finished in the same superstep, so the checkpoint holds
 * `a`'s pending writes next to the interrupt, and the subgraph has its own checkpoints in a child
 * namespace. Resuming must not run `a` again: `calls.a` counts its runs in this process.
 */
export function interruptingGraph(checkpointer: BaseCheckpointSaver) {
  const calls = { a: 0, ask: 0 };
  const sub = new StateGraph(State)
    .addNode("ask", () => {
      calls.ask++;
      const answer = interrupt({ question: "approve?" }) as string;
      return { log: [`ask:${answer}`] };
    })
    .addEdge(START, "ask")
    .addEdge("ask", END)
    .compile();
  const graph = new StateGraph(State)
    .addNode("a", () => {
      calls.a++;
      return { log: ["a"] };
    })
    .addNode("b", sub)
    .addNode("c", () => ({ log: ["c"] }))
    .addEdge(START, "a")
    .addEdge(START, "b")
    .addEdge(["a", "b"], "c")
    .addEdge("c", END)
    .compile({ checkpointer });
  return { graph, calls };
}
