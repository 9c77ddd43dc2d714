import { AIMessage } from "@langchain/core/messages";
import { MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { PostgresSaver, PostgresStore } from "@langgraph-persist/postgres";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

// Each creates its own pool and ends it on close().
const checkpointer = PostgresSaver.fromConnString(url);
const store = PostgresStore.fromConnString(url);
await checkpointer.setup(); // creates or migrates the tables; safe from many processes at once
await store.setup();

const graph = new StateGraph(MessagesAnnotation)
  .addNode("chat", async (state) => ({ messages: [new AIMessage(`You said ${state.messages.length} things so far`)] }))
  .addEdge(START, "chat")
  .compile({ checkpointer, store });

const config = { configurable: { thread_id: "thread-1" } };
await graph.invoke({ messages: [{ role: "user", content: "Hi! I'm Bob" }] }, config);
const result = await graph.invoke({ messages: [{ role: "user", content: "What's my name?" }] }, config);
console.log(result.messages.length); // 4: the thread remembered the first turn

await checkpointer.close();
await store.close();
