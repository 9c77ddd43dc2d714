import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import {
  uuid6,
  type BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointMetadata,
  type PendingWrite,
} from "@langchain/langgraph-checkpoint";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { PersistSerializer } from "@langgraph-persist/core";

/** Steps of the chat thread: one message appended to `messages` per step. */
export const CHAT_STEPS = 200;

const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];

function text(i: number, length: number): string {
  let s = `Message ${i}:`;
  for (let k = 0; s.length < length; k++) s += ` ${WORDS[(i * 7 + k * 3) % WORDS.length]}`;
  return s.slice(0, length);
}

/**
 * How the thread's messages are represented:
 * - `plain`: JSON objects (`{ role, content, id }`) of about 200 serialised bytes, so the numbers measure
 *   the adapters, not LangChain's message reviver;
 * - `langchain`: `HumanMessage` / `AIMessage` instances as `MessagesAnnotation` holds them (reviving 200 of
 *   them costs milliseconds, the same for every adapter).
 */
export type MessageKind = "plain" | "langchain";

export type ChatMessage = BaseMessage | { role: string; content: string; id: string };

/** Alternating user / assistant messages of about 200 serialised bytes each. */
export function chatMessages(count: number, kind: MessageKind = "plain"): ChatMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `msg-${String(i).padStart(6, "0")}`;
    if (kind === "plain") return { role: i % 2 === 0 ? "user" : "assistant", content: text(i, 150), id };
    return i % 2 === 0 ? new HumanMessage({ content: text(i, 30), id }) : new AIMessage({ content: text(i, 12), id });
  });
}

export interface ChatStep {
  checkpoint: Checkpoint;
  metadata: CheckpointMetadata;
  newVersions: ChannelVersions;
}

/**
 * The chat thread as a saver sees it from a graph: step `i` stores the checkpoint whose `messages`
 * channel holds the first `i` messages (one new version per step). Versions come from the saver's own
 * `getNextVersion`, ids are increasing uuid6 as LangGraph makes them.
 */
export class ChatThread {
  readonly steps: ChatStep[] = [];
  readonly messages: ChatMessage[];

  constructor(saver: BaseCheckpointSaver, kind: MessageKind = "plain", steps = CHAT_STEPS) {
    this.messages = chatMessages(steps, kind);
    let version: string | number | undefined;
    let previous: string | number | undefined;
    for (let i = 1; i <= steps; i++) {
      previous = version;
      version = saver.getNextVersion(version as never) as string | number;
      const checkpoint: Checkpoint = {
        v: 4,
        id: uuid6(-1),
        ts: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
        channel_values: { messages: this.messages.slice(0, i) },
        channel_versions: { messages: version },
        versions_seen: previous === undefined ? {} : { chat: { messages: previous } },
      };
      this.steps.push({ checkpoint, metadata: { source: "loop", step: i, parents: {} }, newVersions: { messages: version } });
    }
  }

  /** Stores steps `from`..`to` (1-based, inclusive) of the thread; returns the number of puts. */
  async put(saver: BaseCheckpointSaver, threadId: string, from = 1, to = this.steps.length): Promise<number> {
    let parent: string | undefined = from > 1 ? this.steps[from - 2].checkpoint.id : undefined;
    for (let i = from; i <= to; i++) {
      const step = this.steps[i - 1];
      await saver.put({ configurable: { thread_id: threadId, checkpoint_ns: "", checkpoint_id: parent } }, step.checkpoint, step.metadata, step.newVersions);
      parent = step.checkpoint.id;
    }
    return to - from + 1;
  }

  get last(): ChatStep {
    return this.steps[this.steps.length - 1];
  }
}

/** The three writes of one task: a new message, a routing value and a counter. */
export function threeWrites(i: number): PendingWrite[] {
  return [
    ["messages", [{ role: "assistant", content: text(i, 150), id: `write-${i}` }]],
    ["route", "chat"],
    ["turns", i],
  ];
}

const serde = new PersistSerializer();

/** Bytes of the thread's messages serialised once, as one array: the yardstick for storage. */
export async function messagesBytes(messages: unknown[]): Promise<number> {
  const [, data] = await serde.dumpsTyped(messages);
  return data.length;
}

/** Serialised bytes of a whole checkpoint (values included) and of a set of writes: the floors' payloads. */
export async function checkpointBytes(step: ChatStep): Promise<Uint8Array> {
  const [, data] = await serde.dumpsTyped({ checkpoint: step.checkpoint, metadata: step.metadata });
  return data;
}

export async function writesBytes(writes: PendingWrite[]): Promise<Uint8Array> {
  const [, data] = await serde.dumpsTyped(writes);
  return data;
}

/** A one-node chat graph on plain `MessagesAnnotation`: each invoke appends the user message and a reply. */
export function chatGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(MessagesAnnotation)
    .addNode("chat", (state) => {
      const last = state.messages[state.messages.length - 1];
      return { messages: [new AIMessage(`Reply to: ${String(last?.content ?? "").slice(0, 40)}`)] };
    })
    .addEdge(START, "chat")
    .addEdge("chat", END)
    .compile({ checkpointer: checkpointer as never });
}

export function userMessage(i: number): HumanMessage {
  return new HumanMessage(text(i, 60));
}
