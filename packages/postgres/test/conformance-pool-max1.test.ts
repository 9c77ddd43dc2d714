import { registerConformance } from "./conformance-harness.js";

// The whole suite again through a single connection (what a transaction-mode pooler or a tiny pool
// gives you) with a statement timeout set by the user: nothing may hold one connection while waiting
// for another, and nothing may rely on session state.
registerConformance("max1", { max: 1, statement_timeout: 10_000 });
