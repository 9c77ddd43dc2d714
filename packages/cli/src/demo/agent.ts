import { SystemMessage } from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { END, MessagesAnnotation, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import type { BaseCheckpointSaver, BaseStore } from "@langchain/langgraph-checkpoint";
import { nameIn } from "./model.js";

/** What the agent does with the store, reported so the demo can show it. */
export type MemoryEvent =
  | { kind: "search"; namespace: string[]; query: string; results: Array<{ text: string; score?: number }> }
  | { kind: "put"; namespace: string[]; key: string; text: string };

/**
 * The chatbot of the LangGraph persistence guides: a `StateGraph` over `MessagesState`, with a
 * checkpointer (the conversation of each thread) and a store (memories shared by every thread of a
 * user, under `["memories", userId]`, found again by semantic search).
 */
export function buildAgent(options: { model: BaseChatModel; checkpointer: BaseCheckpointSaver; store: BaseStore; onMemory?: (event: MemoryEvent) => void }) {
  const { model, onMemory = () => {} } = options;

  const callModel = async (state: typeof MessagesAnnotation.State, config: LangGraphRunnableConfig) => {
    const store = config.store!;
    const userId = String(config.configurable?.user_id);
    const namespace = ["memories", userId];
    const last = state.messages[state.messages.length - 1];
    const query = last.text;

    const memories = await store.search(namespace, { query, limit: 3 });
    onMemory({ kind: "search", namespace, query, results: memories.map((m) => ({ text: String(m.value.data), score: m.score })) });
    const known = memories.map((m) => `- ${String(m.value.data)}`).join("\n");
    const system = `You are a helpful assistant.${known ? `\nWhat you remember about this user:\n${known}` : ""}`;

    // Store a new memory when the user asks the model to remember something.
    const name = nameIn(query);
    if (name && /\bremember\b/i.test(query)) {
      const text = `User's name is ${name}`;
      await store.put(namespace, "name", { data: text });
      onMemory({ kind: "put", namespace, key: "name", text });
    }

    const response = await model.invoke([new SystemMessage(system), ...state.messages]);
    return { messages: [response] };
  };

  return new StateGraph(MessagesAnnotation)
    .addNode("call_model", callModel)
    .addEdge(START, "call_model")
    .addEdge("call_model", END)
    .compile({ checkpointer: options.checkpointer, store: options.store });
}
