import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { BackendError } from "@langgraph-persist/core";
import { RedisSaver, RedisStore } from "../src/index.js";

/** A port no other test uses; this file starts and kills its own redis-server there. */
const PORT = Number(process.env.TEST_REDIS_SCRATCH_PORT ?? 6390);
const hasServerBinary = spawnSync("redis-server", ["--version"]).status === 0;

async function waitFor(predicate: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function ping(): Promise<boolean> {
  const probe = new Redis({ port: PORT, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

const exited = (p: ChildProcess) => new Promise<void>((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve() : p.once("exit", () => resolve())));

if (!hasServerBinary) {
  describe.skip("connection loss [skipped: redis-server is not installed; apt-get install redis-server]", () => {
    it("needs redis-server", () => {});
  });
} else {
  describe("connection loss (a redis-server this test starts and kills)", () => {
    let dir: string;
    let server: ChildProcess | undefined;

    async function start(): Promise<void> {
      server = spawn("redis-server", ["--port", String(PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
      await waitFor(ping, `redis-server on port ${PORT}`);
    }

    async function kill(): Promise<void> {
      const s = server!;
      s.kill("SIGKILL");
      await exited(s);
      server = undefined;
    }

    beforeAll(async () => {
      if (await ping()) throw new Error(`port ${PORT} is already in use; set TEST_REDIS_SCRATCH_PORT to a free port`);
      dir = mkdtempSync(join(tmpdir(), "lgp-redis-loss-"));
      await start();
    }, 30_000);

    afterAll(async () => {
      if (server) await kill();
      rmSync(dir, { recursive: true, force: true });
    });

    const config = (thread: string) => ({ configurable: { thread_id: thread, checkpoint_ns: "" } });
    const metadata = { source: "loop" as const, step: 0, parents: {} };

    it("an operation in flight when the server dies rejects with BackendError; once it is back, the next call works", async () => {
      const url = `redis://127.0.0.1:${PORT}`;
      const redisOptions = { maxRetriesPerRequest: 2, retryStrategy: () => 100 };
      const saver = RedisSaver.fromConnString(url, { redisOptions });
      const store = RedisStore.fromConnString(url, { redisOptions });
      await saver.setup();
      await store.setup();
      const thread = `loss-${uuid6(-1)}`;
      const cp = emptyCheckpoint();
      cp.id = uuid6(-1);
      await saver.put(config(thread), cp, metadata, {});
      await store.put(["loss"], "k", { v: 1 });

      // Freeze the server so the next commands are certainly in flight, then kill it.
      server!.kill("SIGSTOP");
      const inFlight = [saver.getTuple(config(thread)), store.get(["loss"], "k")];
      const outcomes = Promise.allSettled(inFlight);
      await new Promise((r) => setTimeout(r, 100));
      await kill();
      for (const outcome of await outcomes) {
        expect(outcome.status).toBe("rejected");
        const reason = (outcome as PromiseRejectedResult).reason as Error;
        expect(reason).toBeInstanceOf(BackendError);
        expect(reason.message).toMatch(/^\[@langgraph-persist\/redis\] /);
      }
      // While it is down, calls fail fast with the same typed error instead of hanging.
      const whileDown = await Promise.allSettled([saver.getTuple(config(thread)), store.get(["loss"], "k")]);
      for (const o of whileDown) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(BackendError);

      // Back (empty: the scratch server keeps no data, and has none of the scripts cached).
      await start();
      const cp2 = emptyCheckpoint();
      cp2.id = uuid6(-1);
      await waitFor(async () => saver.client.status === "ready", "the saver to reconnect");
      await saver.put(config(thread), cp2, metadata, {});
      expect((await saver.getTuple(config(thread)))?.checkpoint.id).toBe(cp2.id);
      await waitFor(async () => store.client.status === "ready", "the store to reconnect");
      await store.put(["loss"], "k", { v: 2 });
      expect((await store.get(["loss"], "k"))?.value).toEqual({ v: 2 });

      await saver.close();
      await store.close();
    }, 60_000);
  });
}
