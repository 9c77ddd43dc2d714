import { describe } from "vitest";
import type { GraphHarness } from "../harness.js";
import { deltaChannelGroup } from "./delta-channel.js";
import { functionalGroup } from "./functional.js";
import { historyGroup } from "./history.js";
import { interruptsGroup } from "./interrupts.js";
import { longConversationGroup, messagesGroup } from "./messages.js";
import { parallelGroup } from "./parallel.js";
import { storeMemoryGroup } from "./store-memory.js";
import { subgraphsGroup } from "./subgraphs.js";

/**
 * Real LangGraph graphs (StateGraph, the functional API, subgraphs, interrupts, Send) run against a
 * backend's checkpointer and store, with a deterministic offline chat model and embeddings.
 */
export const graphGroups = {
  messages: messagesGroup,
  storeMemory: storeMemoryGroup,
  functional: functionalGroup,
  subgraphs: subgraphsGroup,
  interrupts: interruptsGroup,
  history: historyGroup,
  parallel: parallelGroup,
  deltaChannel: deltaChannelGroup,
  longConversation: longConversationGroup,
} satisfies Record<string, (harness: GraphHarness) => void>;

export interface GraphConformanceOptions {
  /** Run only these groups. @default every group */
  groups?: Array<keyof typeof graphGroups>;
}

/**
 * Registers the graph conformance suite for a backend's saver and store.
 *
 * @example
 * ```ts
 * runGraphConformance({ name: "postgres", saver: saverHarness, store: storeHarness });
 * ```
 */
export function runGraphConformance(harness: GraphHarness, options: GraphConformanceOptions = {}): void {
  const selected = options.groups ?? (Object.keys(graphGroups) as Array<keyof typeof graphGroups>);
  describe(`graph conformance: ${harness.name}`, () => {
    for (const name of selected) graphGroups[name](harness);
  });
}
