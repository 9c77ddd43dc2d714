export * from "./harness.js";
export * from "./fakes.js";
export { conformanceTest, conformanceGroup, uniqueId } from "./define.js";
export { runCheckpointerConformance, checkpointerGroups } from "./checkpointer/index.js";
export { runStoreConformance, storeGroups } from "./store/index.js";
export { runGraphConformance, graphGroups } from "./graph/index.js";
export { runConformanceCli } from "./conformance-cli.js";
export { runVitest, summarize, table, type TestOutcome, type GroupSummary } from "./runner.js";
export { FakeMemoryChatModel, nameFromMessages } from "./fake-chat-model.js";
