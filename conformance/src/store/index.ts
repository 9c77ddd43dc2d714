import { describe } from "vitest";
import type { StoreHarness } from "../harness.js";
import { badInputGroup } from "./bad-input.js";
import { batchGroup } from "./batch.js";
import { concurrencyGroup } from "./concurrency.js";
import { filtersGroup } from "./filters.js";
import { itemsGroup } from "./items.js";
import { lifecycleGroup } from "./lifecycle.js";
import { listNamespacesGroup } from "./list-namespaces.js";
import { namespacesGroup } from "./namespaces.js";
import { searchGroup } from "./search.js";
import { semanticGroup } from "./semantic.js";
import { ttlGroup } from "./ttl.js";
import { valuesGroup } from "./values.js";

/**
 * The store suite, one group per area. Each group registers its own vitest blocks, creates a fresh
 * store per test and scopes every assertion under a namespace root of its own, so all groups can
 * share one database.
 */
export const storeGroups = {
  batch: batchGroup,
  items: itemsGroup,
  namespaces: namespacesGroup,
  search: searchGroup,
  filters: filtersGroup,
  listNamespaces: listNamespacesGroup,
  semanticSearch: semanticGroup,
  ttl: ttlGroup,
  concurrency: concurrencyGroup,
  lifecycle: lifecycleGroup,
  badInput: badInputGroup,
  values: valuesGroup,
} satisfies Record<string, (harness: StoreHarness) => void>;

export type StoreGroupName = keyof typeof storeGroups;

/**
 * Registers the store conformance suite for `harness`.
 *
 * @example
 * runStoreConformance({
 *   name: "memory",
 *   async create(options) {
 *     const store = new InMemoryStore(options);
 *     await store.setup();
 *     return store;
 *   },
 *   capabilities: { ttl: true, vectorSearch: true, multiProcess: false },
 * });
 */
export function runStoreConformance(harness: StoreHarness, options: { groups?: StoreGroupName[] } = {}): void {
  const names = options.groups ?? (Object.keys(storeGroups) as StoreGroupName[]);
  describe(`store conformance: ${harness.name}`, () => {
    for (const name of names) storeGroups[name](harness);
  });
}
