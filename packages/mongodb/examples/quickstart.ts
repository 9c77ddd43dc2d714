import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { MongoDBSaver } from "@langgraph-persist/mongodb";

const State = Annotation.Root({
  messages: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

const graph = new StateGraph(State)
  .addNode("echo", (state) => ({ messages: [`echo: ${state.messages.at(-1)}`] }))
  .addEdge(START, "echo")
  .addEdge("echo", END);

// The saver owns the client it creates from the URL and closes it on close().
await using checkpointer = MongoDBSaver.fromConnString("mongodb://localhost:27017/?replicaSet=rs0", { dbName: "agents" });
await checkpointer.setup();

const app = graph.compile({ checkpointer });
const config = { configurable: { thread_id: "conversation-1" } };
await app.invoke({ messages: ["hello"] }, config);
const { values } = await app.getState(config);
console.log(values.messages); // ["hello", "echo: hello"]
