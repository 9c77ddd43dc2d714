import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { SqliteSaver } from "@langgraph-persist/sqlite";

export async function quickstart(filename = ".data/agent.db"): Promise<number> {
  // #region quickstart
  const checkpointer = SqliteSaver.fromConnString(filename);
  await checkpointer.setup(); // creates or migrates the tables; safe to call from every process

  const graph = new StateGraph(MessagesAnnotation)
    .addNode("reply", (state) => ({ messages: [new AIMessage(`You have sent ${state.messages.length} message(s)`)] }))
    .addEdge(START, "reply")
    .addEdge("reply", END)
    .compile({ checkpointer });

  const config = { configurable: { thread_id: "user-42" } };
  await graph.invoke({ messages: [new HumanMessage("hi")] }, config);
  const result = await graph.invoke({ messages: [new HumanMessage("still there?")] }, config);
  console.log(result.messages.length); // 4: the second run continued the thread

  await checkpointer.close();
  // #endregion quickstart
  return result.messages.length;
}
