import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { skipReasonLines } from "../../../scripts/skip-reasons.mjs";
import { SKIP_REASON } from "./support/server.js";

const PACKAGE = fileURLToPath(new URL("..", import.meta.url));

describe("skip reasons in the test output", () => {
  it("one line per reason, counting the tests and naming the files; tests without a reason are left out", () => {
    expect(
      skipReasonLines([
        { file: "test/a.test.ts", names: ["needs a server", "mongodb conformance [skipped: TEST_MONGODB_URL is not set]"] },
        { file: "test/b.test.ts", names: ["x", "inner", "round trips [skipped: TEST_MONGODB_URL is not set]"] },
        { file: "test/b.test.ts", names: ["y [skipped: needs util-linux script(1)]", "cli"] },
        { file: "test/c.test.ts", names: ["skipped without a reason"] },
      ]),
    ).toEqual(["skipped 2 tests in test/a.test.ts, test/b.test.ts: TEST_MONGODB_URL is not set", "skipped 1 test in test/b.test.ts: needs util-linux script(1)"]);
  });

  it("vitest run on this package without TEST_MONGODB_URL prints why the server suites were skipped", () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
    for (const name of ["TEST_MONGODB_URL", "REQUIRE_MONGODB", "VITEST", "VITEST_MODE", "VITEST_POOL_ID", "VITEST_WORKER_ID", "TEST"]) delete env[name];
    const run = spawnSync(process.execPath, [join(PACKAGE, "node_modules/vitest/vitest.mjs"), "run", "test/roundtrips.test.ts", "test/conformance.test.ts"], {
      cwd: PACKAGE,
      env,
      encoding: "utf8",
      timeout: 120_000,
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, output).toBe(0);
    expect(output).toContain(`skipped 2 tests in test/conformance.test.ts, test/roundtrips.test.ts: ${SKIP_REASON}`);
  }, 150_000);
});
