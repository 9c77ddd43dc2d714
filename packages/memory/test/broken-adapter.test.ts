import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { runVitest, type TestOutcome } from "@langgraph-persist/conformance";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("the conformance suite can fail", () => {
  let outcomes: TestOutcome[] = [];

  const failedIn = (suite: string) => outcomes.filter((o) => o.path[0] === suite && o.status === "failed").map((o) => o.title);
  const passedIn = (suite: string) => outcomes.filter((o) => o.path[0] === suite && o.status === "passed").map((o) => o.title);

  it("runs the suite against deliberately broken adapters", async () => {
    const run = await runVitest(root, ["test/fixtures/broken.conformance.ts"], {
      config: join(root, "test/fixtures/vitest.broken.config.ts"),
      log: () => {},
    });
    outcomes = run.outcomes;
    expect(run.exitCode).not.toBe(0);
    expect(outcomes.length).toBeGreaterThan(20);
  }, 180_000);

  it("catches a saver that drops pending writes", () => {
    const failed = failedIn("checkpointer conformance: broken: drops pending writes");
    expect(failed).toContain("putWrites - writes read back as (task_id, channel, value) on their checkpoint");
    expect(failed).toContain("putWrites - special channels (error, interrupt, resume, scheduled) replace: the last write wins");
    // Tests that do not involve writes still pass: the suite pins down the broken behaviour, not everything.
    expect(passedIn("checkpointer conformance: broken: drops pending writes")).toContain("putWrites - an empty list of writes is a no-op");
  });

  it("catches a saver that ignores before", () => {
    const failed = failedIn("checkpointer conformance: broken: ignores before");
    expect(failed).toContain("list - before returns only strictly older checkpoints");
    expect(failed).toContain("list - returns newest first and honours before + limit");
    expect(failed).not.toContain("list - an unknown thread yields nothing");
  });

  it("catches a store that prefix-matches across segments", () => {
    const failed = failedIn("store conformance: broken: prefix-matches across segments");
    expect(failed).toContain("search - a prefix matches whole labels only: ['a'] never matches ['ab']");
    expect(failed).not.toContain("search - an offset past the end returns []");
  });
});
