import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { DeltaValue, END, MessagesAnnotation, MessagesDeltaValue, START, StateGraph, StateSchema, messagesDeltaReducer } from "@langchain/langgraph";
import { expect } from "vitest";
import { FakeMemoryChatModel } from "../fake-chat-model.js";
import type { GraphHarness } from "../harness.js";
import { collect, graphGroup, newThread, texts, types } from "./context.js";

/** START → chat → END over `MessagesAnnotation`: the model sees the whole thread. */
export function chatGraph(checkpointer: BaseCheckpointSaver, model = new FakeMemoryChatModel()) {
  return new StateGraph(MessagesAnnotation)
    .addNode("chat", async (state) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, "chat")
    .addEdge("chat", END)
    .compile({ checkpointer });
}

/**
 * The same graph with its messages in a `DeltaChannel`: checkpoints keep only per-step writes (plus a
 * snapshot every `snapshotFrequency` updates), and reads rebuild the list through the saver's
 * `getDeltaChannelHistory`.
 */
function deltaChatGraph(checkpointer: BaseCheckpointSaver, snapshotFrequency: number | undefined, model = new FakeMemoryChatModel()) {
  const messages = new DeltaValue(MessagesDeltaValue.valueSchema, {
    inputSchema: MessagesDeltaValue.inputSchema,
    reducer: messagesDeltaReducer,
    snapshotFrequency,
  });
  return new StateGraph(new StateSchema({ messages }))
    .addNode("chat", async (state) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, "chat")
    .addEdge("chat", END)
    .compile({ checkpointer });
}

const TURNS = 30;

/** What a `TURNS`-turn conversation that starts with "my name is Ada" looks like. */
function expectedConversation(turns: number): string[] {
  const out: string[] = [];
  for (let i = 1; i <= turns; i++) {
    out.push(i === 1 ? "Hi, my name is Ada" : `Message number ${i}`);
    out.push("Your name is Ada.");
  }
  return out;
}

export function messagesGroup(harness: GraphHarness): void {
  graphGroup("graph: messages state", harness, (ctx) => {
    ctx.test("messages graph - remembers within a thread and forgets across threads", async () => {
      const saver = await ctx.saver();
      const model = new FakeMemoryChatModel();
      const threadA = newThread();
      const threadB = newThread();

      const first = await chatGraph(saver, model).invoke({ messages: [new HumanMessage("Hi, my name is Ada")] }, threadA);
      expect(texts(first.messages)).toEqual(["Hi, my name is Ada", "Your name is Ada."]);

      // A freshly compiled graph: the earlier turn can only come from the checkpointer.
      const second = await chatGraph(saver, model).invoke({ messages: [new HumanMessage("What is my name?")] }, threadA);
      expect(texts(second.messages)).toEqual(["Hi, my name is Ada", "Your name is Ada.", "What is my name?", "Your name is Ada."]);
      expect(types(second.messages)).toEqual(["human", "ai", "human", "ai"]);
      expect(second.messages[1]).toBeInstanceOf(AIMessage);
      expect(texts(model.lastMessages)).toEqual(["Hi, my name is Ada", "Your name is Ada.", "What is my name?"]);
      // Message ids assigned by the reducer survive the round trip unchanged.
      expect(second.messages.slice(0, 2).map((m: BaseMessage) => m.id)).toEqual(first.messages.map((m: BaseMessage) => m.id));
      expect(second.messages.every((m: BaseMessage) => typeof m.id === "string" && m.id.length > 0)).toBe(true);

      const other = await chatGraph(saver, model).invoke({ messages: [new HumanMessage("What is my name?")] }, threadB);
      expect(texts(other.messages)).toEqual(["What is my name?", "I don't know your name."]);
      expect(texts(model.lastMessages)).toEqual(["What is my name?"]);

      const stateA = await chatGraph(saver).getState(threadA);
      expect(texts(stateA.values.messages)).toEqual(texts(second.messages));
      expect(stateA.next).toEqual([]);
      expect(stateA.config.configurable?.thread_id).toBe(threadA.configurable.thread_id);
      const stateB = await chatGraph(saver).getState(threadB);
      expect(texts(stateB.values.messages)).toEqual(["What is my name?", "I don't know your name."]);
    });

    ctx.test("messages graph - a thread id the saver has never seen starts empty", async () => {
      const saver = await ctx.saver();
      const graph = chatGraph(saver);
      const thread = newThread();
      const state = await graph.getState(thread);
      expect(state.values).toEqual({});
      expect(state.next).toEqual([]);
      expect(await collect(graph.getStateHistory(thread))).toEqual([]);
    });
  });
}

export function longConversationGroup(harness: GraphHarness): void {
  graphGroup("graph: long conversations", harness, (ctx) => {
    ctx.test(
      `long conversation - ${TURNS} turns read back in full and in order`,
      async () => {
        const saver = await ctx.saver();
        const model = new FakeMemoryChatModel();
        const graph = chatGraph(saver, model);
        const thread = newThread();
        for (let i = 1; i <= TURNS; i++) {
          const text = i === 1 ? "Hi, my name is Ada" : `Message number ${i}`;
          const out = await graph.invoke({ messages: [new HumanMessage(text)] }, thread);
          expect(out.messages).toHaveLength(2 * i);
        }
        expect(model.lastMessages).toHaveLength(2 * TURNS - 1);

        const state = await chatGraph(saver).getState(thread);
        expect(texts(state.values.messages)).toEqual(expectedConversation(TURNS));
        expect(types(state.values.messages)).toEqual(Array.from({ length: 2 * TURNS }, (_, i) => (i % 2 === 0 ? "human" : "ai")));
        expect(new Set(state.values.messages.map((m: BaseMessage) => m.id)).size).toBe(2 * TURNS);

        // Every turn checkpoints its input, the applied input and the chat step.
        const history = await collect(graph.getStateHistory(thread));
        expect(history).toHaveLength(3 * TURNS);
        expect(history[0].values.messages).toHaveLength(2 * TURNS);
        const lengths = history.map((s) => (s.values.messages ?? []).length);
        expect(lengths).toEqual([...lengths].sort((a, b) => b - a));
        const limited = await collect(graph.getStateHistory(thread, { limit: 5 }));
        expect(limited.map((s) => s.config.configurable?.checkpoint_id)).toEqual(history.slice(0, 5).map((s) => s.config.configurable?.checkpoint_id));
      },
      { timeout: 60_000 },
    );

    for (const snapshotFrequency of [undefined, 4]) {
      const label = snapshotFrequency === undefined ? "replayed from writes" : `snapshotted every ${snapshotFrequency} updates`;
      ctx.test(
        `delta messages channel - ${TURNS} turns ${label} read back in full`,
        async () => {
          const saver = await ctx.saver();
          const model = new FakeMemoryChatModel();
          const graph = deltaChatGraph(saver, snapshotFrequency, model);
          const thread = newThread();
          for (let i = 1; i <= TURNS; i++) {
            const text = i === 1 ? "Hi, my name is Ada" : `Message number ${i}`;
            const out = await graph.invoke({ messages: [new HumanMessage(text)] }, thread);
            expect(out.messages).toHaveLength(2 * i);
            // Each turn rebuilt the earlier ones from the saver before calling the model.
            expect(model.lastMessages).toHaveLength(2 * i - 1);
          }
          const state = await deltaChatGraph(saver, snapshotFrequency).getState(thread);
          expect(texts(state.values.messages)).toEqual(expectedConversation(TURNS));
          expect(types(state.values.messages)).toEqual(Array.from({ length: 2 * TURNS }, (_, i) => (i % 2 === 0 ? "human" : "ai")));
        },
        { timeout: 60_000 },
      );
    }

    ctx.test("delta messages channel - a fork from an earlier checkpoint replays only its own branch", async () => {
      const saver = await ctx.saver();
      const graph = deltaChatGraph(saver, undefined);
      const thread = newThread();
      for (let i = 1; i <= 6; i++) {
        const text = i === 1 ? "Hi, my name is Ada" : `Message number ${i}`;
        await graph.invoke({ messages: [new HumanMessage(text)] }, thread);
      }
      const history = await collect(graph.getStateHistory(thread));
      // The checkpoint that closed turn 3: six messages, nothing left to run.
      const turn3 = history.find((s) => s.values.messages?.length === 6 && s.next.length === 0);
      expect(turn3).toBeDefined();
      expect(texts(turn3!.values.messages)).toEqual(expectedConversation(3));

      const forked = await graph.invoke({ messages: [new HumanMessage("Actually, my name is Grace")] }, turn3!.config);
      expect(texts(forked.messages)).toEqual([...expectedConversation(3), "Actually, my name is Grace", "Your name is Grace."]);

      const head = await deltaChatGraph(saver, undefined).getState(thread);
      expect(texts(head.values.messages)).toEqual(texts(forked.messages));
      // The abandoned branch still reads back as it was.
      const oldHead = history[0];
      const oldState = await graph.getState(oldHead.config);
      expect(texts(oldState.values.messages)).toEqual(expectedConversation(6));
    });
  });
}
