// Helpers of scripts/compat.sh (plain Node, no dependencies of its own):
//
//   node scripts/compat.mjs publishable
//       the directories of the packages npm publishes, one a line
//   node scripts/compat.mjs declared <min-lg> <min-cp> <min-core> <latest-lg> <latest-cp> <latest-core>
//       the version sets agree with the package.json files (peer range floors, devDependencies) and
//       with README.md's compatibility table
//   node scripts/compat.mjs manifest <app-dir> <set> <lg> <cp> <core> <name=tarball>...
//       writes the app's package.json
//   node scripts/compat.mjs verify <app-dir> <lg> <cp> <core> <name=tarball>...
//       exactly one installed copy of each LangGraph package, at the requested version, and of each
//       packed package, from its tarball
//   node scripts/compat.mjs cleanup <app-dir> <json>
//       drops what the conformance runs wrote (Postgres schema, Redis keys, MongoDB database)
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const LANGGRAPH = ["@langchain/langgraph", "@langchain/langgraph-checkpoint", "@langchain/core"];
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const fail = (lines) => {
  for (const line of lines) process.stderr.write(`${line}\n`);
  process.exit(1);
};

/** Packages that npm publishes: every non-private workspace package outside bench/. */
function publishable() {
  const dirs = [...readdirSync(join(repo, "packages")).map((d) => join(repo, "packages", d)), join(repo, "conformance")];
  return dirs
    .filter((d) => existsSync(join(d, "package.json")))
    .map((d) => ({ dir: relative(repo, d), pkg: readJson(join(d, "package.json")) }))
    .filter(({ pkg }) => !pkg.private);
}

function declared([minLg, minCp, minCore, latestLg, latestCp, latestCore]) {
  const min = { [LANGGRAPH[0]]: minLg, [LANGGRAPH[1]]: minCp, [LANGGRAPH[2]]: minCore };
  const latest = { [LANGGRAPH[0]]: latestLg, [LANGGRAPH[1]]: latestCp, [LANGGRAPH[2]]: latestCore };
  const problems = [];
  const floors = new Set();
  for (const { dir, pkg } of publishable()) {
    for (const name of LANGGRAPH) {
      const peer = pkg.peerDependencies?.[name];
      if (peer !== undefined) {
        floors.add(name);
        if (peer !== `^${min[name]}`) problems.push(`${dir}/package.json: peerDependencies ${name} is "${peer}", the min set says "^${min[name]}"`);
      }
      const dev = pkg.devDependencies?.[name];
      if (dev !== undefined && dev !== latest[name]) {
        problems.push(`${dir}/package.json: devDependencies ${name} is "${dev}", the latest set says "${latest[name]}"`);
      }
    }
  }
  for (const name of LANGGRAPH) {
    if (!floors.has(name)) problems.push(`no published package declares a peer range for ${name}: the min set has nothing to match`);
  }
  // README.md's compatibility table: "| <label> | <langgraph> | <checkpoint> | <core> |"
  const readme = readFileSync(join(repo, "README.md"), "utf8").split("\n");
  const rows = [
    ["| supported", LANGGRAPH.map((n) => `^${min[n]}`)],
    ["| tested: `min`", LANGGRAPH.map((n) => min[n])],
    ["| tested: `latest`", LANGGRAPH.map((n) => latest[n])],
  ];
  for (const [label, versions] of rows) {
    const line = readme.find((l) => l.startsWith(label));
    const cells = line?.split("|").slice(2, 5).map((c) => c.trim().replace(/`/g, ""));
    if (cells?.join(" ") !== versions.join(" ")) {
      problems.push(`README.md: the compatibility row "${label} ..." should list ${versions.join(", ")}${line ? `, it has: ${line}` : ", and there is none"}`);
    }
  }
  if (problems.length) fail(["scripts/langgraph-versions disagrees with the package.json files or README.md:", ...problems.map((p) => `  ${p}`)]);
}

const parsePairs = (pairs) => Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));

function manifest([app, set, lg, cp, core, ...pairs]) {
  const tarballs = parsePairs(pairs);
  const pkg = {
    name: `lgp-compat-${set}`,
    version: "0.0.0",
    private: true,
    type: "module",
    dependencies: {
      ...Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`])),
      [LANGGRAPH[0]]: lg,
      [LANGGRAPH[1]]: cp,
      [LANGGRAPH[2]]: core,
      // The drivers and test runner an application brings itself (peer dependencies of the packages).
      "better-sqlite3": "^12.0.0",
      pg: "^8.11.0",
      ioredis: "^5.4.0",
      mongodb: "^6.10.0",
      vitest: "^4.1.0",
      zod: "^3.25.76",
    },
    // npm 12 runs a dependency's install script only when the app allows it; better-sqlite3 builds its
    // native module there.
    allowScripts: { "better-sqlite3": true },
  };
  writeFileSync(join(app, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
}

/** Every installed package directory under `modules`, nested ones included. */
function* installed(modules) {
  if (!existsSync(modules)) return;
  for (const entry of readdirSync(modules, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || !(entry.isDirectory() || entry.isSymbolicLink())) continue;
    const dir = join(modules, entry.name);
    if (entry.name.startsWith("@")) {
      for (const scoped of readdirSync(dir, { withFileTypes: true })) {
        if (scoped.isDirectory() || scoped.isSymbolicLink()) yield* pkgDir(join(dir, scoped.name));
      }
    } else {
      yield* pkgDir(dir);
    }
  }
}

function* pkgDir(dir) {
  const file = join(dir, "package.json");
  if (!existsSync(file)) return;
  const { name, version, _resolved } = readJson(file);
  yield { dir, name, version, resolved: _resolved };
  yield* installed(join(dir, "node_modules"));
}

function verify([app, lg, cp, core, ...pairs]) {
  const want = { [LANGGRAPH[0]]: lg, [LANGGRAPH[1]]: cp, [LANGGRAPH[2]]: core };
  const tarballs = parsePairs(pairs);
  const lock = readJson(join(app, "package-lock.json"));
  const copies = new Map();
  for (const p of installed(join(app, "node_modules"))) {
    if (p.name in want || p.name in tarballs) copies.set(p.name, [...(copies.get(p.name) ?? []), p]);
  }
  const problems = [];
  const lines = [];
  for (const [name, version] of Object.entries(want)) {
    const found = copies.get(name) ?? [];
    const where = found.map((p) => `${relative(app, p.dir)}@${p.version}`).join(", ");
    if (found.length !== 1) problems.push(`${name}: ${found.length} copies (${where || "none"}), expected exactly one`);
    else if (found[0].version !== version) problems.push(`${name}: ${where}, expected ${version}`);
    else lines.push(`${name}@${version}`);
  }
  for (const [name, file] of Object.entries(tarballs)) {
    const found = copies.get(name) ?? [];
    const where = found.map((p) => relative(app, p.dir)).join(", ");
    // Where npm took each copy from: the lockfile records it (a tarball shows as `file:`).
    const origins = found.map((p) => lock.packages?.[relative(app, p.dir)]?.resolved ?? "?");
    if (found.length !== 1) problems.push(`${name}: ${found.length} copies (${where || "none"}), expected exactly one, from ${file}`);
    else if (!origins[0].startsWith("file:")) problems.push(`${name}: installed from ${origins[0]}, expected the packed ${file}`);
  }
  if (problems.length) fail([`the installed tree of ${app} is not what an application on this set gets:`, ...problems.map((p) => `  ${p}`)]);
  process.stdout.write(`one copy each: ${lines.join(", ")}; ${Object.keys(tarballs).length} packed packages\n`);
}

async function cleanup([app, json]) {
  const { postgres, redis, mongodb } = JSON.parse(json);
  const require = createRequire(join(resolve(app), "package.json"));
  const problems = [];
  const attempt = async (what, fn) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  if (postgres) {
    await attempt(`Postgres schema ${postgres.schema}`, async () => {
      const pg = require("pg");
      const client = new pg.Client({ connectionString: postgres.url, connectionTimeoutMillis: 10_000 });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${postgres.schema.replace(/"/g, '""')}" CASCADE`);
      } finally {
        await client.end();
      }
    });
  }
  for (const r of redis ?? []) {
    await attempt(`Redis keys {${r.prefix}:* on ${r.name}`, async () => {
      const { Redis, Cluster } = require("ioredis");
      // scheme://[user[:password]@]host:port[,host:port...][/db][?query]
      const m = /^([a-z+]+):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]+)(?:\/(\d+))?/i.exec(r.url);
      if (!m) throw new Error("unrecognised URL");
      const [, scheme, user, password, hosts, db] = m;
      const redisOptions = {
        username: user ? decodeURIComponent(user) : undefined,
        password: password ? decodeURIComponent(password) : undefined,
        tls: scheme.toLowerCase().startsWith("rediss") ? {} : undefined,
        connectTimeout: 10_000,
      };
      const seeds = hosts.split(",").map((h) => {
        const hp = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(h);
        return { host: hp?.[1] ?? h, port: Number(hp?.[2] ?? 6379) };
      });
      const client = r.cluster ? new Cluster(seeds, { redisOptions }) : new Redis({ ...seeds[0], ...redisOptions, db: Number(db ?? 0), maxRetriesPerRequest: 3 });
      client.on("error", () => {});
      try {
        const nodes = r.cluster ? await masters(client) : [client];
        for (const node of nodes) {
          let cursor = "0";
          do {
            const [next, keys] = await node.scan(cursor, "MATCH", `{${r.prefix}:*`, "COUNT", 1000);
            for (const key of keys) await client.unlink(key);
            cursor = next;
          } while (cursor !== "0");
        }
      } finally {
        client.disconnect();
      }
    });
  }
  if (mongodb) {
    await attempt(`MongoDB database ${mongodb.dbName}`, async () => {
      const { MongoClient } = require("mongodb");
      const client = new MongoClient(mongodb.url, { serverSelectionTimeoutMS: 10_000 });
      try {
        await client.db(mongodb.dbName).dropDatabase();
      } finally {
        await client.close();
      }
    });
  }
  if (problems.length) fail(problems.map((p) => `could not clean up ${p}`));
}

async function masters(cluster) {
  if (cluster.status !== "ready") await new Promise((res, rej) => cluster.once("ready", res).once("end", () => rej(new Error("cluster connection ended"))));
  return cluster.nodes("master");
}

const [command, ...args] = process.argv.slice(2);
const commands = { publishable: () => publishable().forEach(({ dir }) => process.stdout.write(`${dir}\n`)), declared, manifest, verify, cleanup };
if (!(command in commands)) fail([`usage: node scripts/compat.mjs ${Object.keys(commands).join("|")} ...`]);
await commands[command](args);
