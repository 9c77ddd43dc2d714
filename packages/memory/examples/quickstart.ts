import { AIMessage } from "@langchain/core/messages";
import { MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { InMemoryStore, MemorySaver } from "@langgraph-persist/memory";

/** The root README's quick start: returns how many messages thread-1 holds after two turns. */
export async function quickstart(): Promise<number> {
  const checkpointer = new MemorySaver();
  const store = new InMemoryStore();

  const graph = new StateGraph(MessagesAnnotation)
    .addNode("chat", async (state) => ({ messages: [new AIMessage(`You said ${state.messages.length} things so far`)] }))
    .addEdge(START, "chat")
    .compile({ checkpointer, store });

  const config = { configurable: { thread_id: "thread-1" } };
  await graph.invoke({ messages: [{ role: "user", content: "Hi! I'm Bob" }] }, config);
  const result = await graph.invoke({ messages: [{ role: "user", content: "What's my name?" }] }, config);
  await Promise.all([checkpointer.close(), store.close()]);
  return result.messages.length; // 4: the thread remembered the first turn
}
