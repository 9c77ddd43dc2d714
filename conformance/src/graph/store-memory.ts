import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { BaseCheckpointSaver, BaseStore } from "@langchain/langgraph-checkpoint";
import { END, MessagesAnnotation, START, StateGraph, getStore, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { expect } from "vitest";
import { uniqueId } from "../define.js";
import { FakeMemoryChatModel } from "../fake-chat-model.js";
import type { GraphHarness } from "../harness.js";
import { graphGroup, newThread, texts } from "./context.js";

function userIdOf(config: LangGraphRunnableConfig): string {
  const userId = config.configurable?.user_id;
  if (typeof userId !== "string") throw new Error("configurable.user_id is required");
  return userId;
}

/**
 * START → remember → chat → END. `remember` saves any "my name is ..." message to the user's memories
 * (through `getStore()`); `chat` recalls the user's memories closest to the latest message (through
 * `config.store`, semantic search) and hands them to the model as a system message.
 */
function memoryGraph(checkpointer: BaseCheckpointSaver, store: BaseStore, model: FakeMemoryChatModel) {
  return new StateGraph(MessagesAnnotation)
    .addNode("remember", async (state, config: LangGraphRunnableConfig) => {
      const last = state.messages.at(-1);
      if (last && /\bmy name is\b/i.test(last.text)) {
        const store = getStore();
        if (!store) throw new Error("the graph has no store");
        await store.put(["memories", userIdOf(config)], `memory-${state.messages.length}`, { text: last.text, kind: "name" });
      }
      return {};
    })
    .addNode("chat", async (state, config: LangGraphRunnableConfig) => {
      if (!config.store) throw new Error("the graph has no store");
      const query = state.messages.at(-1)?.text ?? "";
      const recalled = await config.store.search(["memories", userIdOf(config)], { query, limit: 2 });
      const context = recalled.map((item) => String(item.value.text));
      const prompt = context.length > 0 ? [new SystemMessage(`What you remember about the user:\n${context.join("\n")}`), ...state.messages] : state.messages;
      return { messages: [await model.invoke(prompt)] };
    })
    .addEdge(START, "remember")
    .addEdge("remember", "chat")
    .addEdge("chat", END)
    .compile({ checkpointer, store });
}

export function storeMemoryGroup(harness: GraphHarness): void {
  graphGroup("graph: cross-thread memory", harness, (ctx) => {
    ctx.test(
      "store memory - a later thread of the same user recalls a saved memory by semantic search; another user does not",
      async () => {
        const saver = await ctx.saver();
        const store = await ctx.semanticStore();
        const model = new FakeMemoryChatModel();
        const graph = memoryGraph(saver, store, model);
        const ada = uniqueId("user");
        const bob = uniqueId("user");

        const t1 = newThread({ user_id: ada });
        await graph.invoke({ messages: [new HumanMessage("I like hiking in the mountains")] }, t1);
        const intro = await graph.invoke({ messages: [new HumanMessage("Remember this: my name is Ada")] }, t1);
        expect(texts(intro.messages).at(-1)).toBe("Your name is Ada.");

        const saved = await store.search(["memories", ada]);
        expect(saved).toHaveLength(1);
        expect(saved[0].value).toEqual({ text: "Remember this: my name is Ada", kind: "name" });
        expect(saved[0].namespace).toEqual(["memories", ada]);

        // A new thread of the same user: no messages in common, the name comes from the store.
        const t2 = newThread({ user_id: ada });
        const recalled = await graph.invoke({ messages: [new HumanMessage("What is my name?")] }, t2);
        expect(texts(recalled.messages)).toEqual(["What is my name?", "Your name is Ada."]);
        expect(model.lastMessages[0].getType()).toBe("system");
        expect(model.lastMessages[0].text).toContain("my name is Ada");

        // Semantic ranking: the name memory is closer to the question than an unrelated one.
        await store.put(["memories", ada], "hobby", { text: "Enjoys hiking in the mountains on weekends", kind: "hobby" });
        const ranked = await store.search(["memories", ada], { query: "what is my name", limit: 1 });
        expect(ranked.map((r) => r.value.kind)).toEqual(["name"]);
        const both = await store.search(["memories", ada], { query: "hiking in the mountains" });
        expect(both.map((r) => r.value.kind)).toEqual(["hobby", "name"]);
        expect(both[0].score).toBeGreaterThan(both[1].score ?? Number.POSITIVE_INFINITY);

        // Another user sees none of it.
        const t3 = newThread({ user_id: bob });
        const stranger = await graph.invoke({ messages: [new HumanMessage("What is my name?")] }, t3);
        expect(texts(stranger.messages)).toEqual(["What is my name?", "I don't know your name."]);
        expect(model.lastMessages.map((m) => m.getType())).toEqual(["human"]);
        expect(await store.search(["memories", bob])).toEqual([]);

        // Threads stay separate in the checkpointer even though they share a user.
        const state2 = await graph.getState(t2);
        expect(texts(state2.values.messages)).toEqual(["What is my name?", "Your name is Ada."]);
      },
      { requires: [["vectorSearch", harness.store.capabilities.vectorSearch]] },
    );
  });
}
