import { registerConformance } from "./conformance-harness.js";

// A regular pool shared by every instance of the suite.
registerConformance("pool", { max: 10 });
