import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Operation } from "@langchain/langgraph-checkpoint";
import { FixedEmbeddings, HashEmbeddings } from "@langgraph-persist/conformance";
import { BackendError, CapabilityError, ClientClosedError, InvalidArgumentError, NotSetUpError, SerializationError, matchesFilter, similarity, type PersistenceError } from "@langgraph-persist/core";
import { PostgresSaver, PostgresStore } from "../src/index.js";
import { vectorExtensionError } from "../src/store.js";
import { mapPgError } from "../src/client.js";
import { LATEST_VERSIONS } from "../src/migrations.js";
import { POSTGRES_URL, adminPool, countingPool, describePg, dropSchemasAfterAll, uniqueSchema } from "./helpers.js";

const schema = uniqueSchema("store");
const extraSchemas: string[] = [];
dropSchemasAfterAll(schema, () => extraSchemas);

let seq = 0;
const root = () => `root-${Date.now().toString(36)}-${++seq}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The plan of a statement as PostgreSQL makes it when it must use an index wherever it can. */
async function planWithIndexesForced(text: string, values: unknown[] | undefined): Promise<string> {
  const admin = await adminPool().connect();
  try {
    await admin.query("BEGIN");
    await admin.query("SET LOCAL enable_seqscan = off");
    await admin.query("SET LOCAL enable_sort = off");
    await admin.query("SET LOCAL enable_bitmapscan = off");
    return (await admin.query<{ "QUERY PLAN": string }>(`EXPLAIN ${text}`, values)).rows.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await admin.query("ROLLBACK");
    admin.release();
  }
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

describePg("PostgresStore", () => {
  const { pool, log } = countingPool({ max: 4 });
  let store: PostgresStore;

  beforeAll(async () => {
    store = new PostgresStore(pool, { schema });
    await store.setup();
  });
  afterAll(async () => {
    await store.close();
    await pool.end();
  });

  it("batch - one statement for all gets, one per search, one per listNamespaces, one for all puts", async () => {
    const ns = [root()];
    await store.batch(Array.from({ length: 10 }, (_, i) => ({ namespace: [...ns, `s${i % 3}`], key: `k${i}`, value: { i } })));
    log.reset();
    const ops: Operation[] = [
      ...Array.from({ length: 5 }, (_, i) => ({ namespace: [...ns, `s${i % 3}`], key: `k${i}` })),
      { namespacePrefix: ns, filter: { i: { $gte: 3 } }, limit: 3, offset: 0 },
      { namespacePrefix: [...ns, "s1"], limit: 10, offset: 0 },
      { namespacePrefix: ns, filter: { i: 7 }, limit: 10, offset: 0 },
      { matchConditions: [{ matchType: "prefix", path: ns }], limit: 100, offset: 0 },
      { matchConditions: [{ matchType: "suffix", path: ["s2"] }], limit: 100, offset: 0 },
      ...Array.from({ length: 10 }, (_, i) => ({ namespace: [...ns, "new"], key: `n${i}`, value: { i } })),
      { namespace: [...ns, "s0"], key: "k0", value: null },
    ];
    const results = await store.batch(ops);
    expect(log.count).toBe(1 + 3 + 2 + 1);
    expect(results.slice(0, 5).map((r) => (r as { key: string }).key)).toEqual(["k0", "k1", "k2", "k3", "k4"]);
    expect((results[5] as Array<{ value: { i: number } }>).every((r) => r.value.i >= 3)).toBe(true);
    expect(results[5]).toHaveLength(3);
    expect((results[7] as Array<{ key: string }>).map((r) => r.key)).toEqual(["k7"]);
    expect(results[8]).toEqual([
      [ns[0], "s0"],
      [ns[0], "s1"],
      [ns[0], "s2"],
    ]);
    expect(await store.get([...ns, "s0"], "k0")).toBeNull();
    expect(await store.search([...ns, "new"], { limit: 100 })).toHaveLength(10);
  });

  it("prepared statements - gets are named (one text for one key, one for several); preparedStatements: false sends them unnamed", async () => {
    const ns = [root()];
    await store.batch([{ namespace: ns, key: "a", value: { n: 1 } }, { namespace: ns, key: "b", value: { n: 2 } }]);
    log.reset();
    expect((await store.get(ns, "a"))?.value).toEqual({ n: 1 });
    expect(await store.get(ns, "missing")).toBeNull();
    const [b, missing, a] = await store.batch([{ namespace: ns, key: "b" }, { namespace: ns, key: "c" }, { namespace: ns, key: "a" }]);
    expect((b as { value: unknown }).value).toEqual({ n: 2 });
    expect(missing).toBeNull();
    expect((a as { value: unknown }).value).toEqual({ n: 1 });
    expect(log.names).toHaveLength(3);
    expect(log.names.every((name) => typeof name === "string" && name.startsWith("lgp_"))).toBe(true);
    expect(log.names[1], "the same statement for every single get").toBe(log.names[0]);
    expect(log.names[2]).not.toBe(log.names[0]);
    const unnamed = new PostgresStore(pool, { schema, preparedStatements: false });
    log.reset();
    expect((await unnamed.get(ns, "a"))?.value).toEqual({ n: 1 });
    expect(log.names).toEqual([undefined]);
    await unnamed.close();
  });

  it("filters - pushed into SQL and applied before limit/offset, same answers as core matchesConditions", async () => {
    const ns = [root()];
    const values: Array<Record<string, unknown>> = [
      { n: 1, s: "apple", b: true, tags: ["a", "b"], nested: { x: 1, y: [1, 2] } },
      { n: 2, s: "banana", b: false, tags: ["b"], nested: { x: 2 } },
      { n: 10, s: "Cherry", b: true, tags: [], nested: { x: "1" } },
      { n: "10", s: "date", nested: null },
      { n: 9.5, s: "éclair", b: null, tags: ["a"], nested: { x: 1, y: [1, 2] } },
      { n: -3, s: "fig\u0000tree", arr: [{ k: 1 }, { k: 2 }] },
      { s: "fig", n: 1e21, arr: [{ k: 2 }] },
      { n: 0, s: "", "0": "zero-key", list: ["first", "second"] },
      { n: 3, s: "grape", "a.b": 1, weird: { "%_\\": 1 } },
      { n: 4, s: "\u0001x", deep: { a: { b: { c: 5 } } } },
    ];
    await store.batch(values.map((value, i) => ({ namespace: ns, key: `k${i}`, value })));
    const filters: Array<Record<string, unknown>> = [
      { n: 1 },
      { n: { $gt: 2 } },
      { n: { $gte: 10 } },
      { n: { $lt: 1 } },
      { n: { $lte: -3 } },
      { n: "10" },
      { n: { $gt: "1" } },
      { s: { $gt: "b" } },
      { s: { $lte: "fig" } },
      { s: { $gt: "fig" } },
      { s: { $lt: "fig\u0001" } },
      { s: "fig\u0000tree" },
      { s: "\u0001x" },
      { b: true },
      { b: { $ne: true } },
      { b: null },
      { b: { $exists: false } },
      { b: { $exists: true } },
      { tags: ["a", "b"] },
      { tags: { $in: [["b"], ["a"]] } },
      { tags: { $nin: [["b"], []] } },
      { nested: { x: 1, y: [1, 2] } },
      { "nested.x": 1 },
      { "nested.x": { $in: [1, "1"] } },
      { "nested.x": { $nin: [1] } },
      { "nested.y.1": 2 },
      { "nested.y.01": 2 },
      { "nested.y.-1": 2 },
      { "arr.0.k": { $gte: 2 } },
      { "arr.1.k": 2 },
      { "list.0": "first" },
      { "0": "zero-key" },
      { "deep.a.b.c": { $gt: 4, $lt: 6 } },
      { "deep.a": { b: { c: 5 } } },
      { n: { $in: [1, 2, "10"] } },
      { n: { $nin: [1, 2] } },
      { n: { $ne: 1 } },
      { s: { $in: [] } },
      { s: { $nin: [] } },
      { n: { $gt: 1 }, b: true },
      { missing: { $ne: 1 } },
      { missing: { $exists: false }, n: { $lt: 3 } },
      { nested: null },
    ];
    for (const filter of filters) {
      const expected = values.map((v, i) => [v, `k${i}`] as const).filter(([v]) => matchesFilter(v, filter)).map(([, k]) => k).sort();
      log.reset();
      const got = (await store.search(ns, { filter, limit: 100 })).map((i) => i.key).sort();
      expect(got, JSON.stringify(filter)).toEqual(expected);
      expect(log.count, "one statement").toBe(1);
      expect(log.statements[0], "the filter is in the SQL").toMatch(/->|#>/);
      if (expected.length > 1) {
        const page = await store.search(ns, { filter, limit: 1, offset: expected.length - 1 });
        expect(page, `${JSON.stringify(filter)}: the last match is on the last page`).toHaveLength(1);
      }
    }
  });

  it("filters - an equality filter is served by the value index when the planner prefers it", async () => {
    const ns = [root()];
    const category = (i: number) => `${ns[0]}-c${i % 4}`;
    await store.batch(Array.from({ length: 40 }, (_, i) => ({ namespace: ns, key: `k${i}`, value: { meta: { category: category(i) }, i } })));
    log.reset();
    // Across every namespace: only the filter narrows the search down.
    const found = await store.search([], { filter: { "meta.category": category(1), i: { $lt: 30 } }, limit: 100 });
    expect(found.map((it) => it.value.i).sort((a, b) => a - b)).toEqual([1, 5, 9, 13, 17, 21, 25, 29]);
    const [text] = log.statements;
    const [values] = log.values;
    expect(text).toContain("@>");
    const admin = await adminPool().connect();
    try {
      await admin.query("BEGIN");
      await admin.query("SET LOCAL enable_seqscan = off");
      const plan = (await admin.query<{ "QUERY PLAN": string }>(`EXPLAIN ${text}`, values)).rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(plan, plan).toContain("lgp_store_value_idx");
      await admin.query("ROLLBACK");
    } finally {
      admin.release();
    }
    // Keys JSON must escape, and object / array / null operands, go through the containment test too.
    const odd = 'we"ird\\key}';
    await store.batch([
      { namespace: ns, key: "odd", value: { [odd]: { a: [1, "x"] }, nil: null } },
      { namespace: ns, key: "near", value: { [odd]: { a: [1, "x", 2] }, nil: 0 } },
    ]);
    expect((await store.search(ns, { filter: { [odd]: { a: [1, "x"] } } })).map((it) => it.key)).toEqual(["odd"]);
    expect((await store.search(ns, { filter: { [`${odd}.a`]: [1, "x", 2] } })).map((it) => it.key)).toEqual(["near"]);
    expect((await store.search(ns, { filter: { nil: null } })).map((it) => it.key)).toEqual(["odd"]);
  });

  it("filters - operands jsonb cannot represent are re-checked exactly before paging", async () => {
    const ns = [root()];
    const values = [{ s: "\uFFFF" }, { s: "\u{1F600}" }, { s: "a" }, { s: "\uE000z" }, { d: "2020-01-01T00:00:00.000Z" }];
    await store.batch(values.map((value, i) => ({ namespace: ns, key: `k${i}`, value })));
    const filters: Array<Record<string, unknown>> = [
      { s: { $gt: "\uE000" } },
      { s: { $lt: "\u{1F600}" } },
      { s: { $gte: "\uFFFF" } },
      { d: new Date("2020-01-01T00:00:00.000Z") },
      { d: { $ne: new Date("2020-01-01T00:00:00.000Z") } },
    ];
    for (const filter of filters) {
      const expected = values.map((v, i) => [v, `k${i}`] as const).filter(([v]) => matchesFilter(v, filter)).map(([, k]) => k).sort();
      const got = (await store.search(ns, { filter, limit: 100 })).map((i) => i.key).sort();
      expect(got, JSON.stringify(filter)).toEqual(expected);
      const paged: string[] = [];
      for (let offset = 0; offset < expected.length; offset++) paged.push(...(await store.search(ns, { filter, limit: 1, offset })).map((i) => i.key));
      expect(paged.sort(), `${JSON.stringify(filter)} paged`).toEqual(expected);
    }
  });

  it("namespaces - labels with LIKE metacharacters match segment by segment, through an index range", async () => {
    const r = root();
    const labels = ["a%b", "a_b", "axb", "a\\b", "a", "a%", "ab"];
    await store.batch(labels.map((l) => ({ namespace: [r, l, "leaf"], key: "k", value: { l } })));
    for (const l of labels) {
      log.reset();
      const found = await store.search([r, l], { limit: 100 });
      expect(found.map((i) => i.value.l), l).toEqual([l]);
      expect(log.statements[0]).toMatch(/s\.prefix >= \$\d+ AND s\.prefix < \$\d+/);
      expect(log.statements[0]).not.toMatch(/LIKE/i);
    }
    expect(await store.listNamespaces({ prefix: [r, "a_b"] })).toEqual([[r, "a_b", "leaf"]]);
    expect(await store.listNamespaces({ prefix: [r, "a%"] })).toEqual([[r, "a%", "leaf"]]);
    expect((await store.listNamespaces({ prefix: [r], maxDepth: 2 })).length).toBe(labels.length);
  });

  it("values - NUL characters round-trip and compare like the originals", async () => {
    const ns = [root()];
    const value = { "k\u0000ey": "a\u0000b", "\u0001": ["\u0001\u0002", "\u0000"], plain: "x" };
    await store.put(ns, "nul", value);
    await store.put(ns, "other", { "k\u0000ey": "a\u0001" });
    expect((await store.get(ns, "nul"))?.value).toEqual(value);
    expect((await store.search(ns, { filter: { "k\u0000ey": "a\u0000b" } })).map((i) => i.key)).toEqual(["nul"]);
    expect((await store.search(ns, { filter: { "k\u0000ey": { $lt: "a\u0001" } } })).map((i) => i.key)).toEqual(["nul"]);
    expect((await store.search(ns, { filter: { "k\u0000ey": { $gte: "a\u0001" } } })).map((i) => i.key)).toEqual(["other"]);
  });

  it("values - unpaired surrogates (which jsonb cannot hold) are SerializationError and NUL in keys InvalidArgumentError, nothing is written", async () => {
    const ns = [root()];
    await expect(store.batch([{ namespace: ns, key: "ok", value: { v: 1 } }, { namespace: ns, key: "bad", value: { s: "\uD800" } }])).rejects.toBeInstanceOf(SerializationError);
    await expect(store.put(ns, "k\u0000", { v: 1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await store.search(ns)).toEqual([]);
  });

  it("ttl - expired items are hidden before the sweep, sweep() deletes them, reads refresh the expiry", async () => {
    const ttlStore = new PostgresStore(pool, { schema, ttl: { defaultTtl: 0.005, refreshOnRead: true } });
    await ttlStore.setup();
    const ns = [root()];
    await ttlStore.put(ns, "read", { v: 1 });
    await ttlStore.put(ns, "unread", { v: 2 });
    await ttlStore.put(ns, "forever", { v: 3 }, undefined, { ttl: null });
    for (let i = 0; i < 5; i++) {
      await sleep(120);
      expect(await ttlStore.get(ns, "read")).not.toBeNull();
    }
    expect(await ttlStore.get(ns, "unread")).toBeNull();
    expect((await store.search(ns, { limit: 10 })).map((i) => i.key).sort()).toEqual(["forever", "read"]);
    const admin = adminPool();
    try {
      const before = await admin.query(`SELECT key FROM "${schema}".lgp_store WHERE prefix = $1 ORDER BY key`, [ns[0]]);
      expect(before.rows.map((r) => r.key)).toEqual(["forever", "read", "unread"]);
      expect(await ttlStore.sweep()).toBeGreaterThanOrEqual(1);
      const after = await admin.query(`SELECT key FROM "${schema}".lgp_store WHERE prefix = $1 ORDER BY key`, [ns[0]]);
      expect(after.rows.map((r) => r.key)).toEqual(["forever", "read"]);
    } finally {
      await admin.end();
      await ttlStore.close();
    }
  });

  it("setup - without an index nothing touches pgvector", async () => {
    const fresh = uniqueSchema("novec");
    extraSchemas.push(fresh);
    const counted = countingPool({ max: 1 });
    const s = new PostgresStore(counted.pool, { schema: fresh });
    await s.setup();
    await s.put(["a"], "k", { v: 1 });
    expect(counted.log.statements.join("\n")).not.toMatch(/vector/i);
    const admin = adminPool();
    try {
      const { rows } = await admin.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [fresh]);
      expect(rows.map((r) => r.table_name)).toEqual(["lgp_migrations", "lgp_store"]);
    } finally {
      await admin.end();
      await s.close();
      await counted.pool.end();
    }
  });

  it("setup - with an index on a server without pgvector, setup() rejects with a CapabilityError saying how to install it", async () => {
    // The only fake in this file: a client that reports pgvector as neither installed nor available.
    class NoVectorClient extends pg.Client {
      override query(...args: unknown[]): never {
        const text = typeof args[0] === "string" ? args[0] : "";
        if (/pg_extension|pg_available_extensions/.test(text)) return Promise.resolve({ rows: [], rowCount: 0 }) as never;
        return (super.query as (...a: unknown[]) => never)(...args);
      }
    }
    const fakePool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1, Client: NoVectorClient });
    const fresh = uniqueSchema("novec2");
    extraSchemas.push(fresh);
    const s = new PostgresStore(fakePool, { schema: fresh, index: { dims: 8, embeddings: new HashEmbeddings(8) } });
    const err = await s.setup().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CapabilityError);
    expect((err as Error).message).toMatch(/pgvector/);
    expect((err as Error).message).toMatch(/CREATE EXTENSION vector/);
    expect((err as Error).message).toMatch(/remove `index`/);
    const plain = new PostgresStore(fakePool, { schema: fresh });
    await plain.setup();
    await plain.put(["a"], "k", { v: 1 });
    expect((await plain.get(["a"], "k"))?.value).toEqual({ v: 1 });
    await s.close();
    await plain.close();
    await fakePool.end();
  });

  it("setup - with an index, a role that may not create pgvector gets a CapabilityError naming the database and the superuser's CREATE EXTENSION vector", async () => {
    // A fresh database (without pgvector) and a real role that is not a superuser; the server trusts local connections.
    const tag = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    const database = `lgp_test_novector_${tag}`;
    const role = `lgp_test_nosuper_${tag}`;
    const on = (db: string, user?: string) => {
      const url = new URL(POSTGRES_URL);
      url.pathname = `/${db}`;
      if (user !== undefined) {
        url.username = user;
        url.password = "";
      }
      return url.toString();
    };
    const admin = adminPool();
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.query(`CREATE ROLE "${role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    const dbAdmin = new pg.Pool({ connectionString: on(database), max: 1 });
    const stores: PostgresStore[] = [];
    try {
      expect((await dbAdmin.query(`SELECT 1 FROM pg_extension WHERE extname = 'vector'`)).rows).toEqual([]);
      const { rows: versions } = await dbAdmin.query<{ trusted: boolean }>(`SELECT trusted FROM pg_available_extension_versions WHERE name = 'vector'`);
      expect(versions.length).toBeGreaterThan(0);
      // The role owns the schema the store uses. It may create schemas in this database (setup() runs
      // CREATE SCHEMA IF NOT EXISTS), which is all a trusted extension would need, so only when pgvector
      // is not marked trusted (as it ships): then creating it takes a superuser.
      const trusted = versions.some((v) => v.trusted);
      await dbAdmin.query(`CREATE SCHEMA lgp AUTHORIZATION "${role}"`);
      if (!trusted) await dbAdmin.query(`GRANT CREATE ON DATABASE "${database}" TO "${role}"`);
      const open = (options: { index?: boolean } = {}) => {
        const s = PostgresStore.fromConnString(on(database, role), { schema: "lgp", ...(options.index ? { index: { dims: 8, embeddings: new HashEmbeddings(8) } } : {}) });
        stores.push(s);
        return s;
      };

      const err = await open({ index: true })
        .setup()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(CapabilityError);
      const message = (err as Error).message;
      expect(message).toContain(`needs the pgvector extension in database "${database}", and role "${role}" may not create it (SQLSTATE 42501: permission denied to create extension "vector"`);
      expect(message).toContain(`Have a superuser run CREATE EXTENSION vector; in database "${database}"`);
      expect(message).toContain("remove `index`");
      expect(((err as Error).cause as { code?: string }).code).toBe("42501");
      expect((await dbAdmin.query(`SELECT 1 FROM pg_extension WHERE extname = 'vector'`)).rows).toEqual([]);

      // The same role without an index needs no extension.
      if (!trusted) {
        const plain = open();
        await plain.setup();
        await plain.put(["a"], "k", { v: 1 });
        expect((await plain.get(["a"], "k"))?.value).toEqual({ v: 1 });
      }

      // Once a superuser has done what the message says, the role's setup() succeeds.
      await dbAdmin.query("CREATE EXTENSION vector");
      const indexed = open({ index: true });
      if (trusted) await dbAdmin.query(`GRANT CREATE ON DATABASE "${database}" TO "${role}"`);
      await indexed.setup();
      await indexed.put(["docs"], "1", { text: "the cat sat on the mat" });
      expect((await indexed.search(["docs"], { query: "a cat on a mat" }))[0]?.key).toBe("1");
    } finally {
      for (const s of stores) await s.close().catch(() => {});
      await dbAdmin.end();
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS "${role}"`);
      await admin.end();
    }
  });

  it("setup - with an index, a server that cannot create pgvector (0A000, 58P01) gets a CapabilityError saying how to install it", async () => {
    // The server answers CREATE EXTENSION for an extension it does not have: the statement is pointed at one.
    const schemaName = uniqueSchema("noext");
    const database = new URL(POSTGRES_URL).pathname.slice(1);
    extraSchemas.push(schemaName);
    class MissingExtensionClient extends pg.Client {
      override query(...args: unknown[]): never {
        const text = typeof args[0] === "string" ? args[0] : "";
        if (/pg_extension e JOIN/.test(text)) return Promise.resolve({ rows: [], rowCount: 0 }) as never;
        if (text === "CREATE EXTENSION IF NOT EXISTS vector") args[0] = "CREATE EXTENSION IF NOT EXISTS lgp_no_such_extension";
        return (super.query as (...a: unknown[]) => never)(...args);
      }
    }
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1, Client: MissingExtensionClient });
    const s = new PostgresStore(pool, { schema: schemaName, index: { dims: 8, embeddings: new HashEmbeddings(8) } });
    try {
      const err = await s.setup().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CapabilityError);
      const code = ((err as Error).cause as { code?: string }).code;
      expect(["0A000", "58P01"]).toContain(code);
      expect((err as Error).message).toContain(`PostgreSQL cannot create it in database "${database}" because the server does not have it (SQLSTATE ${code}: `);
      expect((err as Error).message).toMatch(/Install pgvector on the server .*then run CREATE EXTENSION vector/);
    } finally {
      await s.close();
      await pool.end();
    }
    // Both codes and the role's, as pg reports them (PostgreSQL before 15 answers a missing control file with 58P01).
    for (const code of ["0A000", "58P01", "42501"]) {
      const dbError = Object.assign(new pg.DatabaseError(`refused (${code})`, 0, "error"), { code, hint: "a hint" });
      const mapped = vectorExtensionError(dbError, "app", "app_user");
      expect(mapped, code).toBeInstanceOf(CapabilityError);
      expect(mapped.message, code).toContain(`SQLSTATE ${code}: refused (${code}); a hint`);
      expect(mapped.message, code).toContain(code === "42501" ? 'Have a superuser run CREATE EXTENSION vector; in database "app"' : "Install pgvector on the server");
    }
    const other = vectorExtensionError(Object.assign(new pg.DatabaseError("no installation script", 0, "error"), { code: "22023" }), "app", "app_user");
    expect(other).toBeInstanceOf(BackendError);
  });

  it("setup - ten savers and ten stores with an index calling setup() at once end with one correct schema", async () => {
    const fresh = uniqueSchema("race");
    extraSchemas.push(fresh);
    const stores = Array.from({ length: 10 }, () => new PostgresStore(POSTGRES_URL, { schema: fresh, index: { dims: 8, embeddings: new HashEmbeddings(8) } }));
    const savers = Array.from({ length: 10 }, () => new PostgresSaver(POSTGRES_URL, { schema: fresh }));
    try {
      await Promise.all([...stores, ...savers].map((x) => x.setup()));
      const admin = adminPool();
      try {
        const { rows } = await admin.query(`SELECT component, version FROM "${fresh}".lgp_migrations ORDER BY 1, 2`);
        const expected = (["saver", "store", "store_vectors"] as const).flatMap((component) =>
          Array.from({ length: LATEST_VERSIONS[component] }, (_, i) => ({ component, version: i + 1 })),
        );
        expect(rows).toEqual(expected);
        const indexes = await admin.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE 'lgp_store_vectors_hnsw%'`, [fresh]);
        expect(indexes.rows.map((r) => r.indexname)).toEqual(["lgp_store_vectors_hnsw_cosine_8"]);
      } finally {
        await admin.end();
      }
      await stores[2].put(["ns"], "k", { text: "hello world" });
      expect((await stores[8].search(["ns"], { query: "hello" }))[0]?.key).toBe("k");
    } finally {
      await Promise.all([...stores, ...savers].map((x) => x.close()));
    }
  });

  it("errors - not set up, unreachable server, ended caller pool", async () => {
    const notSetUp = new PostgresStore(pool, { schema: uniqueSchema("empty") });
    const err = await notSetUp.get(["a"], "k").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotSetUpError);
    expect((err as Error).message).toContain("[@langgraph-persist/postgres] setup() has not run: call await store.setup() first");
    await notSetUp.close();

    const unreachable = PostgresStore.fromConnString("postgres://postgres@127.0.0.1:1/test", { schema });
    await expect(unreachable.setup()).rejects.toBeInstanceOf(BackendError);
    await expect(unreachable.search(["a"])).rejects.toBeInstanceOf(BackendError);
    await unreachable.close();

    const callerPool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    const s = new PostgresStore(callerPool, { schema });
    await s.setup();
    await s.close();
    expect((await callerPool.query("SELECT 1 AS one")).rows[0].one, "close() leaves the caller's pool open").toBe(1);
    const s2 = new PostgresStore(callerPool, { schema });
    await callerPool.end();
    await expect(s2.put(["a"], "k", { v: 1 })).rejects.toBeInstanceOf(ClientClosedError);
    await s2.close();
  });

  it("errors - a missing object inside setup() is a BackendError saying what failed, never 'setup() has not run'", async () => {
    // A real server error with SQLSTATE 42704 (undefined_object) raised by setup()'s own statements:
    // the schema holds a migrations table whose insert trigger names a type that does not exist.
    const fresh = uniqueSchema("broken");
    extraSchemas.push(fresh);
    const admin = adminPool();
    try {
      await admin.query(`CREATE SCHEMA "${fresh}"`);
      await admin.query(`CREATE TABLE "${fresh}".lgp_migrations (
        component text NOT NULL, version integer NOT NULL, description text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))`);
      await admin.query(`CREATE FUNCTION "${fresh}".broken() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM 'lgp_no_such_type'::regtype; RETURN NEW; END $$`);
      await admin.query(`CREATE TRIGGER broken BEFORE INSERT ON "${fresh}".lgp_migrations FOR EACH ROW EXECUTE FUNCTION "${fresh}".broken()`);
    } finally {
      await admin.end();
    }
    const store = new PostgresStore(pool, { schema: fresh, index: { dims: 8, embeddings: new HashEmbeddings(8) } });
    const saver = new PostgresSaver(pool, { schema: fresh });
    try {
      for (const target of [store, saver]) {
        const err = await target.setup().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(BackendError);
        expect(err).not.toBeInstanceOf(NotSetUpError);
        const message = (err as Error).message;
        expect(message).toMatch(/^\[@langgraph-persist\/postgres\] setup\(\)/);
        expect(message).toContain("SQLSTATE 42704");
        expect(message).toContain("lgp_no_such_type");
        expect(message).not.toContain("has not run");
        expect(((err as Error).cause as { code?: string }).code).toBe("42704");
      }
      const err = await store.setup().catch((e: unknown) => e);
      expect((err as Error).message, "the store names the step").toContain("setup() (applying the store migrations) failed");
    } finally {
      await store.close();
      await saver.close();
    }
  });

  it("errors - missing-object codes map to NotSetUpError outside setup() only", () => {
    // Error objects shaped like pg's, to reach each branch of the mapping.
    for (const code of ["42P01", "3F000", "42704"]) {
      const err = Object.assign(new Error(`missing (${code})`), { code });
      expect(mapPgError("batch", err, "store")).toBeInstanceOf(NotSetUpError);
      const inSetup = mapPgError("setup()", err, "saver");
      expect(inSetup).toBeInstanceOf(BackendError);
      expect(inSetup).not.toBeInstanceOf(NotSetUpError);
      expect(inSetup.message).toBe(`[@langgraph-persist/postgres] setup() failed: PostgreSQL reports a missing object (SQLSTATE ${code}): missing (${code})`);
    }
  });

  it("errors - bad options are InvalidArgumentError", () => {
    const embeddings = new HashEmbeddings(8);
    const bad: Array<[string, () => unknown]> = [
      ["schema", () => new PostgresStore(POSTGRES_URL, { schema: "" })],
      ["vectorIndex type", () => new PostgresStore(POSTGRES_URL, { index: { dims: 8, embeddings }, vectorIndex: { type: "ivf" } as never })],
      ["vectorIndex m", () => new PostgresStore(POSTGRES_URL, { index: { dims: 8, embeddings }, vectorIndex: { type: "hnsw", m: 1 } })],
      ["vectorIndex efConstruction", () => new PostgresStore(POSTGRES_URL, { index: { dims: 8, embeddings }, vectorIndex: { type: "hnsw", efConstruction: 2.5 } })],
      ["vectorIndex iterativeScan", () => new PostgresStore(POSTGRES_URL, { index: { dims: 8, embeddings }, vectorIndex: { type: "hnsw", iterativeScan: "on" as never } })],
      ["hnsw over 2000 dims", () => new PostgresStore(POSTGRES_URL, { index: { dims: 3072, embeddings } })],
      ["vectorOversampling", () => new PostgresStore(POSTGRES_URL, { vectorOversampling: 0 })],
      ["preparedStatements", () => new PostgresStore(POSTGRES_URL, { preparedStatements: "yes" as never })],
      ["index dims", () => new PostgresStore(POSTGRES_URL, { index: { dims: 0, embeddings } })],
      ["index distanceType ip", () => new PostgresStore(POSTGRES_URL, { index: { dims: 8, embeddings, distanceType: "ip" as never } })],
      ["index distanceType dot", () => new PostgresStore(POSTGRES_URL, { index: { dims: 8, embeddings, distanceType: "dot" as never } })],
      ["a pg.Client", () => new PostgresStore(new pg.Client({ connectionString: POSTGRES_URL }) as never)],
      ["fromConnString", () => PostgresStore.fromConnString("")],
    ];
    for (const [what, make] of bad) {
      let caught: unknown;
      try {
        make();
      } catch (err) {
        caught = err;
      }
      expect(caught, what).toBeInstanceOf(InvalidArgumentError);
      expect((caught as PersistenceError).message, what).toMatch(/^\[@langgraph-persist\/postgres\] /);
    }
    expect(() => new PostgresStore(POSTGRES_URL, { index: { dims: 3072, embeddings }, vectorIndex: { type: "none" } }).close()).not.toThrow();
  });
});

describePg("PostgresStore with pgvector", () => {
  const DIMS = 16;
  const { pool, log } = countingPool({ max: 4 });
  afterAll(async () => {
    await pool.end();
  });

  it("embeddings are computed before a connection is taken, with one embedDocuments call per batch", async () => {
    const busy: number[] = [];
    class Probe extends HashEmbeddings {
      override async embedDocuments(texts: string[]): Promise<number[][]> {
        busy.push(pool.totalCount - pool.idleCount, log.count);
        return super.embedDocuments(texts);
      }
    }
    const embeddings = new Probe(DIMS);
    const s = new PostgresStore(pool, { schema, index: { dims: DIMS, embeddings, fields: ["text", "tags[*]"] } });
    await s.setup();
    const ns = [root()];
    log.reset();
    await s.batch(Array.from({ length: 6 }, (_, i) => ({ namespace: ns, key: `k${i}`, value: { text: `doc ${i}`, tags: ["x", "y"] } })));
    expect(embeddings.documentCalls).toBe(1);
    expect(embeddings.embeddedTexts).toBe(18);
    expect(busy, "no client checked out and no statement sent while embedding").toEqual([0, 0]);
    expect(log.count, "all puts and vectors in one statement").toBe(1);
    await s.close();
  });

  for (const distanceType of ["cosine", "l2", "inner_product"] as const) {
    it(`hnsw (${distanceType}) - setup creates the partial HNSW index and searches rank and score by ${distanceType}`, async () => {
      const embeddings = new HashEmbeddings(DIMS);
      const s = new PostgresStore(pool, { schema, index: { dims: DIMS, embeddings, fields: ["text"], distanceType } });
      await s.setup();
      const admin = adminPool();
      try {
        const { rows } = await admin.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2`, [
          schema,
          `lgp_store_vectors_hnsw_${distanceType}_${DIMS}`,
        ]);
        expect(rows).toHaveLength(1);
        const opclass = { cosine: "vector_cosine_ops", l2: "vector_l2_ops", inner_product: "vector_ip_ops" }[distanceType];
        expect(rows[0].indexdef).toMatch(new RegExp(`USING hnsw .*vector\\(${DIMS}\\).*${opclass}.*WHERE \\(dims = ${DIMS}\\)`));
      } finally {
        await admin.end();
      }
      const ns = [root()];
      const texts = ["red apples and pears", "green apples", "blue ocean waves", "apples apples apples", "fast red cars"];
      await s.batch(texts.map((text, i) => ({ namespace: ns, key: `k${i}`, value: { text } })));
      await s.put(ns, "unindexed", { text: "apples" }, false);
      const query = "red apples";
      const q = embeddings.embedText(query);
      log.reset();
      const results = await s.search(ns, { query, limit: 10 });
      expect(log.count).toBe(1);
      expect(log.statements[0]).toContain(`vector(${DIMS})`);
      expect(results.map((r) => r.key)).toHaveLength(6);
      expect(results[5].key, "items without vectors come last, unscored").toBe("unindexed");
      expect(results[5].score).toBeUndefined();
      const expectedScore = (text: string) => similarity(distanceType, embeddings.embedText(text), q);
      for (const r of results.slice(0, 5)) expect(r.score).toBeCloseTo(expectedScore(String(r.value.text)), 5);
      const expectedOrder = texts
        .map((text, i) => ({ key: `k${i}`, score: expectedScore(text) }))
        .sort((a, b) => b.score - a.score)
        .map((x) => x.key);
      expect(results.slice(0, 5).map((r) => r.key)).toEqual(expectedOrder);
      await s.close();
    });
  }

  it("hnsw - the search statement is served by the HNSW index when the planner prefers it", async () => {
    const embeddings = new HashEmbeddings(DIMS);
    const s = new PostgresStore(pool, { schema, index: { dims: DIMS, embeddings, fields: ["text"] } });
    await s.setup();
    const ns = [root()];
    await s.batch(Array.from({ length: 20 }, (_, i) => ({ namespace: ns, key: `k${i}`, value: { text: `note ${i}`, i } })));
    log.reset();
    await s.search(ns, { query: "note 3", filter: { i: { $lt: 10 } }, limit: 3 });
    const [text] = log.statements;
    const [values] = log.values;
    try {
      expect(await planWithIndexesForced(text, values)).toMatch(new RegExp(`Index Scan using lgp_store_vectors_hnsw_cosine_${DIMS}`));
    } finally {
      await s.close();
    }
  });

  it("hnsw (cosine) - zero vectors, which the HNSW index leaves out, are found through the zero-vector index in the same statement", async () => {
    // Every session of this pool plans with the HNSW index whenever it can.
    const { pool: forced, log: counted } = countingPool({ max: 2, options: "-c enable_seqscan=off -c enable_sort=off -c enable_bitmapscan=off" });
    const vectors: Record<string, number[]> = { query: [1, 1, 0, 0], near: [1, 0.75, 0, 0], away: [-1, 0, 0.5, 0], zero: [0, 0, 0, 0], other: [0, 0, 0, 0] };
    const embeddings = new FixedEmbeddings(vectors);
    const s = new PostgresStore(forced, { schema, index: { dims: 4, embeddings, fields: ["text"] } });
    await s.setup();
    const ns = [root()];
    await s.batch(["near", "away", "zero"].map((key) => ({ namespace: ns, key, value: { text: key, kind: key === "away" ? "b" : "a" } })));
    await s.put(ns, "both", { texts: ["zero", "away"] }, ["texts[*]"]);
    counted.reset();
    const results = await s.search(ns, { query: "query" });
    expect(counted.count, "one statement").toBe(1);
    const [text] = counted.statements;
    const [values] = counted.values;
    // "zero" and "both" tie at 0: the newer ("both") first.
    const expected = ["near", "both", "zero", "away"];
    expect(results.map((r) => r.key)).toEqual(expected);
    // "both" scores its best vector: the zero one (0), not the opposite one.
    for (const r of results) {
      const best = Math.max(...(r.key === "both" ? ["zero", "away"] : [r.key]).map((t) => similarity("cosine", vectors[t], vectors.query)));
      expect(r.score, r.key).toBeCloseTo(best, 6);
    }
    expect((await s.search(ns, { query: "query", filter: { kind: "a" }, limit: 1, offset: 1 })).map((r) => r.key)).toEqual(["zero"]);

    try {
      const plan = await planWithIndexesForced(text, values);
      expect(plan).toMatch(/Index Scan using lgp_store_vectors_hnsw_cosine_4/);
      expect(plan).toMatch(/Index Scan using lgp_store_vectors_zero_idx/);
    } finally {
      await s.close();
      await forced.end();
    }
  });

  it("hnsw - a zero query vector scores every item 0 under cosine and inner product and ranks them newest first", async () => {
    const vectors: Record<string, number[]> = { nothing: [0, 0, 0, 0], a: [1, 0, 0, 0], b: [0, 2, 0, 0], z: [0, 0, 0, 0] };
    for (const distanceType of ["cosine", "inner_product", "l2"] as const) {
      const s = new PostgresStore(pool, { schema, index: { dims: 4, embeddings: new FixedEmbeddings(vectors), fields: ["text"], distanceType } });
      await s.setup();
      const ns = [root()];
      for (const key of ["a", "b", "z"]) {
        await s.put(ns, key, { text: key });
        await sleep(3);
      }
      const results = await s.search(ns, { query: "nothing" });
      const expected = ["z", "b", "a"]
        .map((key) => ({ key, score: similarity(distanceType, vectors[key], vectors.nothing) }))
        .sort((x, y) => y.score - x.score);
      expect(results.map((r) => r.key), distanceType).toEqual(expected.map((e) => e.key));
      for (const [i, e] of expected.entries()) expect(results[i].score, `${distanceType} ${e.key}`).toBeCloseTo(e.score, 6);
      await s.close();
    }
  });

  it("hnsw - a selective filter still finds every match through the index (iterative scans)", async () => {
    // Force the planner onto the HNSW index for this pool's sessions, then hide a few matches among
    // many non-matching vectors: a plain HNSW scan (ef_search 40) would miss them.
    const forced = new pg.Pool({ connectionString: POSTGRES_URL, max: 2, options: "-c enable_seqscan=off -c enable_sort=off -c enable_bitmapscan=off" });
    const embeddings = new HashEmbeddings(DIMS);
    const fresh = uniqueSchema("iter");
    extraSchemas.push(fresh);
    const make = (iterativeScan: "strict_order" | "off") =>
      new PostgresStore(forced, { schema: fresh, index: { dims: DIMS, embeddings, fields: ["text"] }, vectorIndex: { type: "hnsw", iterativeScan } });
    const s = make("strict_order");
    await s.setup();
    const noise = ["noise"];
    for (let b = 0; b < 4; b++) {
      await s.batch(Array.from({ length: 100 }, (_, i) => ({ namespace: noise, key: `n${b}-${i}`, value: { text: `common words number ${b * 100 + i}` } })));
    }
    const target = ["target"];
    await s.batch(Array.from({ length: 5 }, (_, i) => ({ namespace: target, key: `t${i}`, value: { text: `rare unrelated vocabulary ${i}` } })));
    const found = await s.search(target, { query: "common words number 7", limit: 5 });
    expect(found.map((r) => r.key).sort()).toEqual(["t0", "t1", "t2", "t3", "t4"]);
    expect(found.every((r) => typeof r.score === "number")).toBe(true);
    const plain = make("off");
    await plain.setup();
    const missed = await plain.search(target, { query: "common words number 7", limit: 5 });
    expect(missed.length, "without iterative scans the same query loses matches").toBeLessThan(5);
    await s.close();
    await plain.close();
    await forced.end();
  });

  it("exact mode (vectorIndex none) ranks every candidate exactly and keeps unscored items last", async () => {
    const embeddings = new HashEmbeddings(DIMS);
    const s = new PostgresStore(pool, { schema, index: { dims: DIMS, embeddings, fields: ["a", "b"] }, vectorIndex: { type: "none" } });
    await s.setup();
    const ns = [root()];
    await s.batch([
      { namespace: ns, key: "two-fields", value: { a: "sunny beach", b: "mountain snow" } },
      { namespace: ns, key: "one-field", value: { a: "mountain lake" } },
      { namespace: ns, key: "none", value: { c: "mountain" } },
    ]);
    const results = await s.search(ns, { query: "mountain snow", limit: 10 });
    expect(results.map((r) => r.key)).toEqual(["two-fields", "one-field", "none"]);
    expect(results[0].score).toBeCloseTo(cosine(embeddings.embedText("mountain snow"), embeddings.embedText("mountain snow")), 5);
    expect(results[2].score).toBeUndefined();
    await s.close();
  });

  it("vectors - re-putting an item replaces its vectors, index: false removes them, delete cascades", async () => {
    const embeddings = new HashEmbeddings(DIMS);
    const s = new PostgresStore(pool, { schema, index: { dims: DIMS, embeddings, fields: ["text"] } });
    await s.setup();
    const ns = [root()];
    const count = async (key: string) => {
      const admin = adminPool();
      try {
        const { rows } = await admin.query(`SELECT 1 FROM "${schema}".lgp_store_vectors WHERE prefix = $1 AND key = $2`, [ns[0], key]);
        return rows.length;
      } finally {
        await admin.end();
      }
    };
    await s.put(ns, "k", { text: "one" });
    await s.put(ns, "k", { text: "two" });
    expect(await count("k")).toBe(1);
    await s.put(ns, "k", { text: "three" }, false);
    expect(await count("k")).toBe(0);
    await s.put(ns, "k", { text: "four" });
    await s.delete(ns, "k");
    expect(await count("k")).toBe(0);
    await s.close();
  });
});
