import { registerConformance } from "./conformance-harness.js";

// The whole suite through PgBouncer in transaction pooling mode (Debian's 1.18: no protocol-level
// prepared statements), with the default options: consecutive statements of one client connection run
// on whichever server connection is free, so nothing may rely on session state, and the named
// statements the pooler loses must be detected and sent again unnamed.
registerConformance("pgbouncer", { max: 10 }, { via: "pgbouncer" });
