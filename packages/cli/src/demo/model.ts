import { BaseChatModel, type BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";

const TOLD_NAME = /\bmy name is ([\p{L}\p{N}'-]+)/iu;
/** How a name appears in what the model is given: the user saying it, or a recalled memory. */
const KNOWN_NAME = /\b(?:my|user's|the user's) name is ([\p{L}\p{N}'-]+)/giu;
const ASKS_NAME = /\bwhat(?:'s| is) my name\b|\bwho am i\b|\bdo you know my name\b/iu;

/** The name a user introduces in `text` ("my name is X"), if any. */
export function nameIn(text: string): string | undefined {
  return TOLD_NAME.exec(text)?.[1];
}

/**
 * A deterministic, offline chat model for the demo. It has no memory of its own: its reply depends
 * only on the messages it is given — the conversation the checkpointer restored and the memories the
 * application recalled from the store (in a system message). So whatever it "remembers" across turns,
 * threads and process restarts, the persistence layer gave it.
 */
export class DemoChatModel extends BaseChatModel {
  constructor(fields: BaseChatModelParams = {}) {
    super(fields);
  }

  static override lc_name(): string {
    return "DemoChatModel";
  }

  _llmType(): string {
    return "langgraph-persist-demo";
  }

  /** The reply to `messages` (the last human message is the one being answered). */
  static reply(messages: readonly BaseMessage[]): string {
    let lastHuman = -1;
    messages.forEach((m, i) => {
      if (m.getType() === "human") lastHuman = i;
    });
    const text = lastHuman >= 0 ? messages[lastHuman].text : "";
    const told = nameIn(text);
    if (told) return /\bremember\b/i.test(text) ? `Nice to meet you, ${told}! I'll remember that.` : `Nice to meet you, ${told}!`;
    if (ASKS_NAME.test(text)) {
      let known: string | undefined;
      messages.forEach((m, i) => {
        const type = m.getType();
        if (i === lastHuman || (type !== "human" && type !== "system")) return;
        for (const match of m.text.matchAll(KNOWN_NAME)) known = match[1];
      });
      return known ? `Your name is ${known}.` : "I don't know your name yet. Tell me, and ask me to remember it.";
    }
    return "I'm a small offline model: tell me your name (and ask me to remember it), then ask me what it is.";
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const text = DemoChatModel.reply(messages);
    return { generations: [{ text, message: new AIMessage(text) }] };
  }
}
