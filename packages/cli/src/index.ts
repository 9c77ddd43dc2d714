export { resolveBackend, parseBackendUrl, redactUrl, SUPPORTED_URLS, type Backend, type BackendKind, type BackendSpec, type ResolveOptions } from "./backends.js";
export { allThreads, checkpointRefs, copyThreadAcross, verifyThread, type CheckpointRef, type ThreadCopyResult, type ThreadVerification } from "./threads.js";
export { HashEmbeddings, loadIndexConfig } from "./embeddings.js";
export { CliError, UsageError, describeError } from "./errors.js";
export { DemoChatModel } from "./demo/model.js";
export { buildAgent, type MemoryEvent } from "./demo/agent.js";
export { main } from "./main.js";
