import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the PostgreSQL server the tests use; empty when none is available. */
    postgresUrl: string;
    /** Why there is no server, for the skip message. */
    postgresSkipReason: string;
    /** URL of a PgBouncer in transaction pooling mode in front of that server; empty when none. */
    pgbouncerUrl: string;
    /** Why there is no PgBouncer, for the skip message. */
    pgbouncerSkipReason: string;
  }
}

const SERVICES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../scripts/services.sh");

/**
 * `TEST_POSTGRES_URL` wins. Otherwise `scripts/services.sh` provides a server: it starts the local
 * cluster and builds pgvector when missing (Debian, root), then prints `export TEST_POSTGRES_URL=...`,
 * and `export TEST_PGBOUNCER_URL=...` when it could start PgBouncer in front of it.
 */
export default function setup(project: TestProject): void {
  let url = process.env.TEST_POSTGRES_URL ?? "";
  let reason = "";
  let pgbouncerUrl = process.env.TEST_PGBOUNCER_URL ?? "";
  let pgbouncerReason = "";
  if (url === "") {
    if (!existsSync(SERVICES)) {
      reason = "TEST_POSTGRES_URL is not set and scripts/services.sh is missing";
    } else {
      const run = spawnSync("bash", [SERVICES], { encoding: "utf8", timeout: 900_000 });
      const match = /^export TEST_POSTGRES_URL='([^']*)'$/m.exec(run.stdout ?? "");
      if (match) url = match[1];
      const bouncer = /^export TEST_PGBOUNCER_URL='([^']*)'$/m.exec(run.stdout ?? "");
      if (bouncer && pgbouncerUrl === "") pgbouncerUrl = bouncer[1];
      else if (pgbouncerUrl === "") pgbouncerReason = "TEST_PGBOUNCER_URL is not set and scripts/services.sh could not provide PgBouncer (see its output)";
      else {
        reason = "TEST_POSTGRES_URL is not set and scripts/services.sh could not provide PostgreSQL (see its output above)";
        process.stderr.write(run.stderr ?? "");
      }
    }
  }
  project.provide("postgresUrl", url);
  project.provide("postgresSkipReason", reason);
  project.provide("pgbouncerUrl", pgbouncerUrl);
  project.provide("pgbouncerSkipReason", pgbouncerReason);
}
