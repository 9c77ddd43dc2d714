import { describe } from "vitest";
import type { SaverHarness } from "../harness.js";
import { badInputGroup } from "./bad-input.js";
import { concurrencyGroup } from "./concurrency.js";
import { deleteThreadGroup } from "./delete-thread.js";
import { deltaHistoryGroup } from "./delta-history.js";
import { copyThreadGroup, deleteForRunsGroup, pruneGroup } from "./extended.js";
import { getTupleGroup } from "./get-tuple.js";
import { idsGroup } from "./ids.js";
import { lifecycleGroup } from "./lifecycle.js";
import { linearStorageGroup } from "./linear.js";
import { listThreadsGroup } from "./list-threads.js";
import { listGroup } from "./list.js";
import { putWritesGroup } from "./put-writes.js";
import { putGroup } from "./put.js";
import { serializationGroup } from "./serialization.js";
import { ttlGroup } from "./ttl.js";

/**
 * The checkpointer conformance groups. Each registers its own `describe` block; every test creates
 * its savers through the harness and isolates itself with unique thread ids.
 */
export const checkpointerGroups = {
  put: putGroup,
  putWrites: putWritesGroup,
  getTuple: getTupleGroup,
  list: listGroup,
  deleteThread: deleteThreadGroup,
  getDeltaChannelHistory: deltaHistoryGroup,
  linearStorage: linearStorageGroup,
  deleteForRuns: deleteForRunsGroup,
  copyThread: copyThreadGroup,
  prune: pruneGroup,
  listThreads: listThreadsGroup,
  ttl: ttlGroup,
  concurrency: concurrencyGroup,
  serialization: serializationGroup,
  ids: idsGroup,
  badInput: badInputGroup,
  lifecycle: lifecycleGroup,
} satisfies Record<string, (harness: SaverHarness) => void>;

export type CheckpointerGroupName = keyof typeof checkpointerGroups;

/**
 * Registers the checkpointer conformance suite (all groups, or the selected ones) for one harness.
 *
 * @example
 * runCheckpointerConformance({ name: "memory", create: async () => { const s = new MemorySaver(); await s.setup(); return s; }, capabilities });
 */
export function runCheckpointerConformance(harness: SaverHarness, options: { groups?: CheckpointerGroupName[] } = {}): void {
  const selected = options.groups ?? (Object.keys(checkpointerGroups) as CheckpointerGroupName[]);
  describe(`checkpointer conformance: ${harness.name}`, () => {
    for (const name of selected) checkpointerGroups[name](harness);
  });
}
