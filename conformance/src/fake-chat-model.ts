import { BaseChatModel, type BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";

const NAME_PATTERN = /\bmy name is ([\p{L}\p{N}'-]+)/giu;

/**
 * The name the conversation mentions last ("my name is X"), reading human and system messages only:
 * a system message is how an application hands the model recalled memories.
 */
export function nameFromMessages(messages: readonly BaseMessage[]): string | undefined {
  let name: string | undefined;
  for (const message of messages) {
    const type = message.getType();
    if (type !== "human" && type !== "system") continue;
    for (const match of message.text.matchAll(NAME_PATTERN)) name = match[1];
  }
  return name;
}

/**
 * A deterministic, offline chat model whose reply depends only on the messages it is given: if they
 * say "my name is X" (in a human or system message) it answers "Your name is X.", otherwise
 * "I don't know your name.". Memory tests use it to tell whether a graph handed the model the
 * earlier turns (or recalled memories) without any network access.
 *
 * @example
 * ```ts
 * const model = new FakeMemoryChatModel();
 * await model.invoke([new HumanMessage("Hi, my name is Ada")]); // AIMessage "Your name is Ada."
 * ```
 */
export class FakeMemoryChatModel extends BaseChatModel {
  /** Number of generations so far. */
  calls = 0;
  /** The messages of the latest call. */
  lastMessages: BaseMessage[] = [];

  constructor(fields: BaseChatModelParams = {}) {
    super(fields);
  }

  static override lc_name(): string {
    return "FakeMemoryChatModel";
  }

  _llmType(): string {
    return "fake-memory";
  }

  /** The reply this model gives to `messages`. */
  static reply(messages: readonly BaseMessage[]): string {
    const name = nameFromMessages(messages);
    return name === undefined ? "I don't know your name." : `Your name is ${name}.`;
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    this.calls++;
    this.lastMessages = [...messages];
    const text = FakeMemoryChatModel.reply(messages);
    return { generations: [{ text, message: new AIMessage(text) }] };
  }
}
