import { AIMessage } from "@langchain/core/messages";
import { MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { RedisSaver } from "@langgraph-persist/redis";

/** The quick start: returns how many messages the thread holds after two turns. */
export async function quickStart(url = "redis://127.0.0.1:6379", keyPrefix = "lgp"): Promise<number> {
  // Creates its own ioredis client and quits it on close().
  const checkpointer = RedisSaver.fromConnString(url, { keyPrefix });
  await checkpointer.setup(); // safe from many processes at once

  const graph = new StateGraph(MessagesAnnotation)
    .addNode("echo", async (state) => ({ messages: [new AIMessage(`You said: ${String(state.messages.at(-1)?.content)}`)] }))
    .addEdge(START, "echo")
    .compile({ checkpointer });

  const config = { configurable: { thread_id: "conversation-1" } };
  await graph.invoke({ messages: [{ role: "user", content: "hello" }] }, config);
  const result = await graph.invoke({ messages: [{ role: "user", content: "still there?" }] }, config);

  await checkpointer.close();
  return result.messages.length; // 4: the first turn was restored from Redis
}
