import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { HashEmbeddings } from "@langgraph-persist/conformance";
import { SaverKeys } from "../src/keys.js";
import { clusterClient, existingClient } from "../examples/existing-client.js";
import { quickStart } from "../examples/quick-start.js";
import { semanticStore } from "../examples/store.js";
import { CLUSTER_URL, REDIS_URL, adminClient, deleteKeys, testPrefix, missingServer } from "./support.js";

describe("README", () => {
  it("shows each example file exactly as it is type-checked and run", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const linked = [...readme.matchAll(/\[`(examples\/[\w-]+\.ts)`\]\(examples\/[\w-]+\.ts\)\)?:\n\n```ts\n([\s\S]*?)```/g)];
    expect(linked.map((m) => m[1]).sort()).toEqual(["examples/existing-client.ts", "examples/quick-start.ts", "examples/store.ts"]);
    for (const [, file, code] of linked) expect(code, file).toBe(readFileSync(new URL(`../${file}`, import.meta.url), "utf8"));
  });
});

if (!REDIS_URL) {
  missingServer("README examples", "TEST_REDIS_URL");
} else {
  const url = REDIS_URL;
  describe("README examples run as written", () => {
    const keyPrefix = testPrefix("ex");
    afterAll(async () => {
      const admin = new Redis(url);
      for (const prefix of [keyPrefix, "support-bot"]) await deleteKeys(admin, new SaverKeys(prefix).allPattern());
      await admin.quit();
      if (CLUSTER_URL) {
        const cluster = adminClient(CLUSTER_URL, true);
        await deleteKeys(cluster, new SaverKeys("support-bot").allPattern());
        await cluster.quit();
      }
    });

    it("quick start: the second turn sees the first one", async () => {
      expect(await quickStart(url, keyPrefix)).toBe(4);
    });

    it("existing client: close() leaves the caller's client open", async () => {
      expect(await existingClient(url)).toBe("PONG");
    });

    it.skipIf(!CLUSTER_URL)("cluster client: a Cluster client works the same way", async () => {
      const u = new URL(CLUSTER_URL!);
      expect(await clusterClient({ host: u.hostname, port: Number(u.port) })).toBe("PONG");
    });

    it("semantic store: the filtered query finds the fact with a cosine score", async () => {
      const hits = await semanticStore(new HashEmbeddings(64), 64, url, keyPrefix);
      expect(hits.map((h) => h.key)).toEqual(["m2"]);
      expect(hits[0].score).toBeGreaterThan(0);
    });
  });
}
