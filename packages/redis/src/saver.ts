import {
  DELTA_BLOB_PREFIX,
  InvalidArgumentError,
  PersistSaver,
  chainKey,
  metadataMatches,
  minutesToMs,
  parseChainKey,
  startSweeper,
  type BlobRecord,
  type CheckpointRecord,
  type ListQuery,
  type PersistenceError,
  type SaverCapabilities,
  type KnownRefs,
  type StoredCheckpoint,
  type StoredThreadInfo,
  type WriteRecord,
} from "@langgraph-persist/core";
import { RedisConnection, type RedisArg } from "./connection.js";
import { INDEX_SEPARATOR, SaverKeys, packJson, packList, unpackJson, unpackList, type Packable } from "./keys.js";
import type { RedisSaverOptions } from "./options.js";
import {
  DELETE_CHECKPOINTS,
  DELETE_THREAD,
  DUMP,
  FETCH,
  GET,
  HEAD,
  INDEX_APPLY,
  INDEX_FIX_HEADS,
  INDEX_PUT,
  LIST,
  LOAD,
  PRUNE,
  PUT,
  PUT_WRITES,
  ROW_RUNS,
  RUN_MEMBERS,
  type RedisScript,
  allScripts,
} from "./scripts.js";

const SOURCE = "@langgraph-persist/redis";

/** Checkpoints returned per `list` round trip. */
const PAGE_SIZE = 100;
/** Checkpoints a `list` script examines at most per call (bounds the work a selective filter causes). */
const SCAN_BUDGET = 1000;
/** Index entries read per round trip by cross-thread `list`, `listThreads` and the sweep. */
const INDEX_PAGE = 200;
/** Entries of each global index one background sweep examines (it resumes there next time). */
const SWEEP_BUDGET = 5_000;

type Bundle = Array<Buffer | null>;
type Filter = NonNullable<ListQuery["filter"]>;
type ThreadChange = [Buffer, Buffer, Buffer[], Buffer[], Buffer[]];

/** An index entry a sweep found stale: a checkpoint that is gone, a wrong thread head, a stale run member. */
interface CpSuspect {
  kind: "cp";
  threadId: string;
  ns: Buffer;
  id: string;
  member: Buffer;
}
interface HeadSuspect {
  kind: "head";
  threadId: string;
  indexed: Buffer;
}
interface RunSuspect {
  kind: "run";
  threadId: string;
  ns: Buffer;
  id: string;
  /** The row's run field this member implies: `=` + run id. */
  flagged: Buffer;
}
type Suspect = CpSuspect | HeadSuspect | RunSuspect;

const flag = (v: string | null): string => (v === null ? "" : `=${v}`);
const unflag = (b: Buffer): string | null => (b.length === 0 ? null : b.toString("utf8", 1));

/** Hash field of one blob in `<tag>:b:<ns>`: the packed (channel, key). */
function blobField(channel: string, key: string): Buffer {
  return packList([channel, key]);
}

/** Serialisation types in a row: `""` for `json` (nearly every value), else `=` + type. */
const packType = (t: string): string => (t === "json" ? "" : `=${t}`);
const unpackType = (b: Buffer): string => (b.length === 0 ? "json" : b.toString("utf8", 1));
const EMPTY = new Uint8Array(0);
const asBuffer = (d: Uint8Array): Buffer => (Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength));

/**
 * A checkpoint's member of `<tag>:cp:<ns>`: `<id>\0<row>`. Row layout (see scripts.ts): run, parent, blob
 * refs, metadata JSON, checkpoint type and bytes, then the metadata type and bytes only when they are not the
 * metadata JSON itself (`metadataFromJson`). JSON text is stored with `packJson`.
 */
function packMember(r: CheckpointRecord): Buffer {
  const refs: string[] = [];
  for (const [c, k] of r.blobRefs) refs.push(c, k);
  const json = r.checkpoint.type === "json";
  const cd = json ? Buffer.from(packJson(asBuffer(r.checkpoint.data).toString("latin1")), "latin1") : r.checkpoint.data;
  const parts: Packable[] = [flag(r.runId), flag(r.parentCheckpointId), refs, packJson(r.metadataJson), packType(r.checkpoint.type), cd];
  if (r.metadata.type !== "json" || r.metadata.data.length > 0) parts.push(packType(r.metadata.type), r.metadata.data);
  return packList(parts, r.checkpointId);
}

function parseMember(threadId: string, checkpointNs: string, member: Buffer): CheckpointRecord {
  const z = member.indexOf(0);
  const [run, parent, refs, mj, ct, cd, mt, md] = unpackList(member.subarray(z + 1));
  const flat = unpackList(refs);
  const blobRefs: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) blobRefs.push([flat[i].toString("utf8"), flat[i + 1].toString("utf8")]);
  const checkpointType = unpackType(ct);
  return {
    threadId,
    checkpointNs,
    checkpointId: member.toString("utf8", 0, z),
    parentCheckpointId: unflag(parent),
    runId: unflag(run),
    blobRefs,
    metadataJson: unpackJson(mj, "utf8"),
    checkpoint: { type: checkpointType, data: checkpointType === "json" ? Buffer.from(unpackJson(cd, "latin1"), "latin1") : cd },
    metadata: mt ? { type: unpackType(mt), data: md } : { type: "json", data: EMPTY },
  };
}

const writeEntry = (w: WriteRecord): Packable[] => [w.taskId, String(w.idx), w.channel, w.type, w.data, w.taskPath];

/** Whether two writes share (task, idx). Writes of one call are few: pairs are compared directly. */
function hasDuplicate(writes: readonly WriteRecord[]): boolean {
  if (writes.length > 32) return new Set(writes.map((w) => `${w.taskId}\u0000${w.idx}`)).size < writes.length;
  for (let i = 1; i < writes.length; i++) {
    for (let j = 0; j < i; j++) if (writes[i].idx === writes[j].idx && writes[i].taskId === writes[j].taskId) return true;
  }
  return false;
}

function parseWrites(packed: Buffer | null): WriteRecord[] {
  if (!packed) return [];
  return unpackList(packed).map((e) => {
    const [taskId, idx, channel, type, data, taskPath] = unpackList(e);
    return { taskId: taskId.toString("utf8"), idx: Number(idx.toString("latin1")), channel: channel.toString("utf8"), type: type.toString("utf8"), data, taskPath: taskPath.toString("utf8") };
  });
}

/** `<n>:<type><n>:<bytes>` → type and a view on the bytes. */
function unpackPair(v: Buffer): [string, Buffer] {
  const c = v.indexOf(0x3a);
  const end = c + 1 + Number(v.toString("latin1", 0, c));
  const c2 = v.indexOf(0x3a, end);
  return [v.toString("utf8", c + 1, end), v.subarray(c2 + 1)];
}

/** A blob and the rest of its chain (the links before it, down to the base snapshot). */
interface ChainNode {
  blob: BlobRecord;
  next: ChainNode | undefined;
}

/**
 * The links one reply sent so far, by `ns \0 channel \0 key`. A script sends each link once per reply: a
 * chain that reaches a link sent earlier ends with an empty marker and continues with that link's chain.
 */
type SeenLinks = Map<string, ChainNode>;

const seenKey = (ns: string, channel: string, key: string) => `${ns}\u0000${channel}\u0000${key}`;

/**
 * `{ns, member, writes, chain per ref}` as the scripts return it → the record, its blobs and its writes.
 * Each chain is its blobs' values, newest first, as the script walked it (link seq, seq - 1, ..., then the
 * base), so each link's key follows from the tip's key and the types. An empty chain sends no blob: the
 * reference is one the caller said it holds (`known`), or its blob is gone.
 */
function parseBundle(threadId: string, raw: unknown, seen?: SeenLinks): StoredCheckpoint {
  const b = raw as Bundle;
  const ns = b[0]!.toString("utf8");
  const record = parseMember(threadId, ns, b[1]!);
  const blobs: BlobRecord[] = [];
  const refs = record.blobRefs;
  for (let i = 0; i < refs.length; i++) {
    const chain = b[3 + i] as unknown as Buffer[];
    if (chain.length === 0) continue;
    const [channel, key] = refs[i];
    if (chain.length === 1 && chain[0].length > 0 && !seen) {
      // One blob, nothing to remember: a plain version or a snapshot.
      const [type, data] = unpackPair(chain[0]);
      blobs.push({ channel, version: key, type, data });
      continue;
    }
    const tip = chain.length > 1 || chain[0].length === 0 ? parseChainKey(key) : undefined;
    const fresh: BlobRecord[] = [];
    let rest: ChainNode | undefined;
    let k = key;
    for (let p = 0; p < chain.length; p++) {
      if (p > 0) {
        if (!tip) break;
        const seq = tip.seq - p;
        k = seq > 0 ? chainKey(tip.base, seq, fresh[p - 1].type.slice(DELTA_BLOB_PREFIX.length)) : tip.base;
      }
      if (chain[p].length === 0) {
        rest = seen?.get(seenKey(ns, channel, k));
        break;
      }
      const [type, data] = unpackPair(chain[p]);
      fresh.push({ channel, version: k, type, data });
    }
    if (!seen) {
      for (const f of fresh) blobs.push(f);
      continue;
    }
    let node = rest;
    for (let p = fresh.length - 1; p >= 0; p--) {
      node = { blob: fresh[p], next: node };
      seen.set(seenKey(ns, channel, fresh[p].version), node);
    }
    for (let n = node; n; n = n.next) blobs.push(n.blob);
  }
  return { record, blobs, writes: parseWrites(b[2] ?? null) };
}

/** The filter as one JSON object for the scripts (`cjson`), built from the JSON texts core encoded. */
function filterJson(filter: Filter | undefined): string {
  if (!filter || filter.length === 0) return "";
  return `{${filter.map(([k, json]) => `${JSON.stringify(k)}:${json}`).join(",")}}`;
}

/** The exact JavaScript check; scripts only pre-filter (a superset) and rows are re-checked here. */
function filterCheck(filter: Filter | undefined): ((r: CheckpointRecord) => boolean) | undefined {
  if (!filter || filter.length === 0) return undefined;
  const want = Object.fromEntries(filter.map(([k, json]) => [k, JSON.parse(json)]));
  return (r) => {
    let md: Record<string, unknown>;
    try {
      md = JSON.parse(r.metadataJson) as Record<string, unknown>;
    } catch {
      return false;
    }
    return metadataMatches(md, want);
  };
}

/** `<checkpointId>\0<pack(thread, ns)>` → its parts. */
function parseCpMember(m: Buffer): { id: string; threadId: string; ns: Buffer; member: Buffer } {
  const sep = m.indexOf(0);
  const [thread, ns] = unpackList(m.subarray(sep + 1));
  return { id: m.toString("utf8", 0, sep), threadId: thread.toString("utf8"), ns, member: m };
}

const bytesLess = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")) < 0;
const lexExclusive = (b: Buffer) => Buffer.concat([Buffer.from("("), b]);

/**
 * A LangGraph checkpointer on plain Redis, Valkey or Redis Cluster, with core commands only (no modules).
 *
 * Every key of a thread shares one hash tag, so each operation on a thread is one atomic Lua script, on a
 * single server and on Cluster alike: `put`, `putWrites` and `getTuple` are one round trip each, `list`
 * one per page. Threads, checkpoints and runs are also indexed globally (cross-thread `list`,
 * `listThreads`, `deleteForRuns`); on a single server the index is updated in the same script, on Cluster
 * (where it lives in its own slot) by a second command sent in the same round trip.
 *
 * @example
 * const checkpointer = RedisSaver.fromConnString("redis://127.0.0.1:6379");
 * await checkpointer.setup();
 * const graph = builder.compile({ checkpointer });
 */
export class RedisSaver extends PersistSaver {
  static readonly SOURCE = SOURCE;
  protected readonly source = SOURCE;
  readonly capabilities: SaverCapabilities = { ttl: true, extendedOps: true, listThreads: true, multiProcess: true };
  /** Rows keep the metadata JSON text as put, so JSON metadata is stored once. */
  protected override readonly metadataFromJson = true;
  /** The ioredis client in use (the caller's, or the one created from `url`). */
  readonly client: RedisConnection["client"];
  private readonly conn: RedisConnection;
  private readonly keys: SaverKeys;
  /** PEXPIRE for every write ('0' = no TTL) and for reads with `refreshOnRead`. */
  private readonly writeTtl: string;
  private readonly readTtl: string;
  private stopSweeper: (() => void) | undefined;
  /** Index entries found stale by the previous sweep; an entry is removed only when two sweeps agree. */
  private suspects: Suspect[] = [];
  private readonly sweepCursors: Record<"cps" | "threads" | "runs", Buffer> = { cps: Buffer.from("-"), threads: Buffer.from("-"), runs: Buffer.from("-") };

  constructor(options: RedisSaverOptions) {
    super(options);
    this.conn = new RedisConnection(SOURCE, options);
    this.client = this.conn.client;
    this.keys = new SaverKeys(this.conn.prefix);
    this.writeTtl = this.ttl ? String(Math.max(1, minutesToMs(this.ttl.defaultTtl))) : "0";
    this.readTtl = this.ttl?.refreshOnRead ? this.writeTtl : "0";
  }

  /**
   * A saver on its own connection to `url` (closed by `close()`).
   *
   * @example
   * const saver = RedisSaver.fromConnString("redis://127.0.0.1:6379", { keyPrefix: "myapp", ttl: { defaultTtl: 60 * 24 } });
   * await saver.setup();
   * // Redis Cluster: any node as the seed
   * const clustered = RedisSaver.fromConnString("redis://10.0.0.1:7000", { cluster: true });
   */
  static fromConnString(url: string, options: Omit<RedisSaverOptions, "url" | "client"> = {}): RedisSaver {
    return new RedisSaver({ ...options, url });
  }

  protected override mapError(action: string, err: unknown): PersistenceError {
    return this.conn.mapError(action, err);
  }

  // ---------------------------------------------------------------- lifecycle

  protected async _setup(): Promise<void> {
    try {
      await this.conn.checkServer();
      await this.conn.migrate();
      await this.conn.loadScripts(allScripts());
    } catch (err) {
      throw this.conn.mapError("setup()", err);
    }
    if (this.ttl && !this.stopSweeper) {
      this.stopSweeper = startSweeper(this.ttl.sweepIntervalMinutes, () => this.sweepIndex(SWEEP_BUDGET));
    }
  }

  protected async _close(): Promise<void> {
    this.stopSweeper?.();
    await this.conn.close();
  }

  private async ready(): Promise<void> {
    if (!this.isSetUp) await this.conn.ensureLayout();
  }

  /** Thread keys plus, on a standalone server, the index key so the script updates the index too. */
  private threadKeys(threadId: string): string[] {
    return this.conn.isCluster ? [this.keys.thread(threadId)] : [this.keys.thread(threadId), this.keys.checkpointIndex()];
  }

  // ---------------------------------------------------------------- writes

  protected async _putCheckpoint(record: CheckpointRecord, blobs: BlobRecord[]): Promise<void> {
    if (record.checkpointId.includes(INDEX_SEPARATOR)) {
      throw new InvalidArgumentError(SOURCE, "checkpoint ids cannot contain the NUL character (\\u0000)");
    }
    await this.ready();
    const run = flag(record.runId);
    const args: RedisArg[] = [record.checkpointNs, record.checkpointId, packMember(record), this.writeTtl, record.threadId, run];
    for (const b of blobs) args.push(blobField(b.channel, b.version), packList([b.type, b.data]));
    if (!this.conn.isCluster) {
      await this.conn.eval(PUT, this.threadKeys(record.threadId), args);
    } else {
      await Promise.all([
        this.conn.eval(PUT, [this.keys.thread(record.threadId)], args),
        this.conn.eval(INDEX_PUT, [this.keys.checkpointIndex()], [record.threadId, record.checkpointNs, record.checkpointId, run]),
      ]);
    }
  }

  protected async _putWrites(threadId: string, checkpointNs: string, checkpointId: string, writes: WriteRecord[]): Promise<void> {
    await this.ready();
    let unique: readonly WriteRecord[] = writes;
    if (hasDuplicate(writes)) {
      // One entry per (task, idx): the first for idx >= 0 (insert-if-absent), the last for idx < 0 (replace).
      const byKey = new Map<string, WriteRecord>();
      for (const w of writes) {
        const k = `${w.taskId}\u0000${w.idx}`;
        if (w.idx < 0 || !byKey.has(k)) byKey.set(k, w);
      }
      unique = [...byKey.values()];
    }
    const packed = packList(unique.map(writeEntry));
    await this.conn.eval(PUT_WRITES, [this.keys.thread(threadId)], [checkpointNs, checkpointId, this.writeTtl, packed]);
  }

  // ---------------------------------------------------------------- reads

  /**
   * The checkpoint (latest or by id) with its writes and blobs, one script call. `known` are blob references
   * whose values core's codec holds: the script sends nothing for a reference among them (core fills it in).
   */
  protected async _getCheckpoint(
    threadId: string,
    checkpointNs: string,
    checkpointId: string | undefined,
    known?: KnownRefs,
  ): Promise<StoredCheckpoint | undefined> {
    await this.ready();
    const args: RedisArg[] = [checkpointNs, checkpointId ?? "", this.readTtl];
    if (known) for (const [c, k] of known) args.push(blobField(c, k));
    const raw = (await this.conn.eval(GET, [this.keys.thread(threadId)], args)) as Bundle;
    return raw.length === 0 ? undefined : parseBundle(threadId, raw);
  }

  protected async _getWrites(threadId: string, checkpointNs: string, checkpointId: string): Promise<WriteRecord[]> {
    await this.ready();
    return parseWrites(await this.client.hgetBuffer(this.keys.writes(threadId, checkpointNs), checkpointId));
  }

  protected async *_list(query: ListQuery): AsyncIterable<StoredCheckpoint> {
    await this.ready();
    if (query.threadId !== undefined) yield* this.listThread(query);
    else yield* this.listAcross(query);
  }

  /** One thread: pages of the per-namespace sorted sets, merged in the script; one round trip per page. */
  private async *listThread(query: ListQuery): AsyncGenerator<StoredCheckpoint> {
    const threadId = query.threadId!;
    const key = this.keys.thread(threadId);
    const check = filterCheck(query.filter);
    const fjson = filterJson(query.filter);
    let remaining = query.limit ?? Number.POSITIVE_INFINITY;
    let cursorId: RedisArg = "";
    let cursorNs: RedisArg = "";
    for (;;) {
      const args: RedisArg[] = [
        query.checkpointNs !== undefined ? "1" : "0",
        query.checkpointNs ?? "",
        query.checkpointId ?? "",
        query.before ?? "",
        cursorId,
        cursorNs,
        Math.min(remaining, PAGE_SIZE),
        SCAN_BUDGET,
        fjson,
        this.readTtl,
      ];
      const [more, nextId, nextNs, rows] = (await this.conn.eval(LIST, [key], args)) as [number, Buffer, Buffer, unknown[]];
      // One script sent each link once: bundles are parsed in the order it wrote them.
      const seen: SeenLinks = new Map();
      for (const raw of rows) {
        const stored = parseBundle(threadId, raw, seen);
        if (check && !check(stored.record)) continue;
        yield stored;
        if (--remaining <= 0) return;
      }
      if (more !== 1) return;
      cursorId = nextId;
      cursorNs = nextNs;
    }
  }

  /**
   * Every thread: pages of the global checkpoint index (newest first), each page's checkpoints fetched with
   * one script per thread, sent together.
   */
  private async *listAcross(query: ListQuery): AsyncGenerator<StoredCheckpoint> {
    const index = this.keys.checkpointIndex();
    const check = filterCheck(query.filter);
    const fjson = filterJson(query.filter);
    let hi: Buffer = Buffer.from(query.before !== undefined ? `(${query.before}` : "+");
    let lo: Buffer = Buffer.from("-");
    if (query.checkpointId !== undefined) {
      if (query.before !== undefined && !bytesLess(query.checkpointId, query.before)) return;
      hi = Buffer.from(`(${query.checkpointId}\u0001`);
      lo = Buffer.from(`[${query.checkpointId}\u0000`);
    }
    const nsFilter = query.checkpointNs !== undefined ? Buffer.from(query.checkpointNs, "utf8") : undefined;
    let remaining = query.limit ?? Number.POSITIVE_INFINITY;
    for (;;) {
      const count = check || nsFilter ? INDEX_PAGE : Math.min(Math.max(remaining, 1), INDEX_PAGE);
      const members = (await this.client.callBuffer("ZRANGE", index, hi, lo, "BYLEX", "REV", "LIMIT", 0, count)) as Buffer[];
      if (members.length === 0) return;
      hi = lexExclusive(members[members.length - 1]);
      const entries = members.map(parseCpMember).filter((e) => !nsFilter || e.ns.equals(nsFilter));
      const byThread = new Map<string, number[]>();
      entries.forEach((e, i) => {
        const list = byThread.get(e.threadId);
        if (list) list.push(i);
        else byThread.set(e.threadId, [i]);
      });
      const found = new Array<unknown>(entries.length);
      await Promise.all(
        [...byThread].map(async ([threadId, positions]) => {
          const args: RedisArg[] = [threadId, fjson, this.readTtl];
          for (const i of positions) args.push(entries[i].ns, entries[i].id);
          const res = (await this.conn.eval(FETCH, this.threadKeys(threadId), args)) as unknown[];
          positions.forEach((p, k) => {
            found[p] = res[k];
          });
        }),
      );
      // One script per thread sent each link once: bundles are parsed in the order it wrote them.
      const seenBy = new Map<string, SeenLinks>();
      for (let i = 0; i < entries.length; i++) {
        if (!Array.isArray(found[i])) continue; // gone (expired or deleted) or filtered out in the script
        let seen = seenBy.get(entries[i].threadId);
        if (!seen) seenBy.set(entries[i].threadId, (seen = new Map()));
        const stored = parseBundle(entries[i].threadId, found[i], seen);
        if (check && !check(stored.record)) continue;
        yield stored;
        if (--remaining <= 0) return;
      }
      if (members.length < count) return;
    }
  }

  protected async _listThreads(options: { limit: number; before?: string; filter?: Filter }): Promise<StoredThreadInfo[]> {
    await this.ready();
    const { limit, before, filter } = options;
    const check = filterCheck(filter);
    const fjson = filterJson(filter);
    const out: StoredThreadInfo[] = [];
    let hi = Buffer.from(before !== undefined ? `(${before}` : "+");
    while (out.length < limit) {
      const count = check ? INDEX_PAGE : Math.min(limit - out.length, INDEX_PAGE);
      const members = (await this.client.callBuffer("ZRANGE", this.keys.threadIndex(), hi, "-", "BYLEX", "REV", "LIMIT", 0, count)) as Buffer[];
      if (members.length === 0) break;
      hi = lexExclusive(members[members.length - 1]);
      const threads = members.map((m) => m.toString("utf8", m.indexOf(0) + 1));
      const heads = (await Promise.all(threads.map((t) => this.conn.eval(HEAD, this.threadKeys(t), [t, fjson])))) as Bundle[];
      for (let i = 0; i < threads.length && out.length < limit; i++) {
        const [id, , ns, match, member] = heads[i] as [Buffer, Buffer, Buffer, unknown, Buffer | null];
        if (id.length === 0 || match !== 1 || !member) continue;
        const checkpointId = id.toString("utf8");
        if (before !== undefined && !bytesLess(checkpointId, before)) continue;
        const record = parseMember(threads[i], ns.toString("utf8"), member);
        if (check && !check(record)) continue;
        out.push({ threadId: threads[i], checkpointId, checkpointNs: record.checkpointNs, checkpoint: record.checkpoint, metadata: record.metadata, metadataJson: record.metadataJson });
      }
      if (members.length < count) break;
    }
    return out;
  }

  // ---------------------------------------------------------------- deletes, copies, retention

  /**
   * Runs a thread script that changes which checkpoints exist. On a standalone server it updates the index
   * itself; on Cluster it returns the changes, applied to the index slot by a second script.
   */
  private async changeThread(script: RedisScript, threadId: string, args: RedisArg[]): Promise<void> {
    const res = (await this.conn.eval(script, this.threadKeys(threadId), args)) as ThreadChange;
    if (!this.conn.isCluster) return;
    const [head, root, removed, stale, added] = res;
    await this.conn.eval(INDEX_APPLY, [this.keys.checkpointIndex()], [
      threadId,
      head,
      root,
      removed.length / 3,
      ...removed,
      stale.length / 3,
      ...stale,
      added.length / 3,
      ...added,
    ]);
  }

  protected async _deleteThreads(threadIds: string[]): Promise<void> {
    await this.ready();
    await Promise.all(threadIds.map((t) => this.changeThread(DELETE_THREAD, t, [t])));
  }

  protected async _pruneKeepLatest(threadIds: string[]): Promise<void> {
    await this.ready();
    await Promise.all(threadIds.map((t) => this.changeThread(PRUNE, t, [t])));
  }

  protected async _deleteForRuns(runIds: string[]): Promise<void> {
    await this.ready();
    const sets = (await this.conn.eval(RUN_MEMBERS, [this.keys.checkpointIndex()], runIds)) as Buffer[][];
    const byThread = new Map<string, RedisArg[]>();
    sets.forEach((members, i) => {
      for (const m of members) {
        const [thread, ns, id] = unpackList(m);
        const t = thread.toString("utf8");
        let args = byThread.get(t);
        if (!args) byThread.set(t, (args = [t]));
        args.push(ns, id, runIds[i]);
      }
    });
    await Promise.all([...byThread].map(([t, args]) => this.changeThread(DELETE_CHECKPOINTS, t, args)));
  }

  protected async _copyThread(sourceThreadId: string, targetThreadId: string): Promise<void> {
    await this.ready();
    const dump = (await this.conn.eval(DUMP, [this.keys.thread(sourceThreadId)], [])) as Array<[Buffer, Buffer[], Buffer[], Buffer[]]>;
    if (dump.length === 0) return;
    const args: RedisArg[] = [targetThreadId, this.writeTtl];
    for (const [ns, members, w, b] of dump) args.push(ns, members.length, ...members, w.length / 2, ...w, b.length / 2, ...b);
    await this.changeThread(LOAD, targetThreadId, args);
  }

  // ---------------------------------------------------------------- index sweep

  /**
   * Removes global index entries of threads that expired (TTL) or otherwise vanished, and corrects thread
   * heads. Reads never depend on it (they check the thread itself); it keeps the indexes from growing.
   *
   * Each call first re-checks the entries the previous call found stale and fixes those still stale —
   * an entry is only dropped when two calls agree, so a write racing with the sweep is never removed from
   * the index — then examines up to `budget` entries of each index, resuming where the previous call
   * stopped (the default examines everything). With a TTL configured, a background sweeper calls it every
   * `ttl.sweepIntervalMinutes` with a bounded budget. Returns the number of entries fixed.
   */
  async sweepIndex(budget = Number.POSITIVE_INFINITY): Promise<number> {
    this.assertOpen();
    await this.ready();
    const fixed = await this.confirmSuspects(this.suspects);
    this.suspects = [];
    await this.walkIndex("cps", budget, async (members) => {
      const entries = members.map(parseCpMember);
      const runs = await this.rowRuns(entries);
      entries.forEach((e, i) => {
        if (runs[i] === null) this.suspects.push({ kind: "cp", threadId: e.threadId, ns: e.ns, id: e.id, member: e.member });
      });
    });
    await this.walkIndex("threads", budget, async (members) => {
      const heads = await this.heads(members.map((m) => m.toString("utf8", m.indexOf(0) + 1)));
      members.forEach((m, i) => {
        const indexed = m.subarray(0, m.indexOf(0));
        if (!heads[i].id.equals(indexed)) this.suspects.push({ kind: "head", threadId: heads[i].threadId, indexed });
      });
    });
    await this.walkIndex("runs", budget, async (runIds) => {
      const refs = await this.runRefs(runIds);
      const runs = await this.rowRuns(refs);
      refs.forEach((r, i) => {
        if (runs[i] === null || !runs[i]!.equals(r.flagged)) this.suspects.push({ kind: "run", ...r });
      });
    });
    return fixed;
  }

  /** Re-checks suspects; fixes those still stale. */
  private async confirmSuspects(suspects: Suspect[]): Promise<number> {
    let fixed = 0;
    const cps = this.keys.checkpointIndex();
    const gone = suspects.filter((s): s is CpSuspect => s.kind === "cp");
    const goneRuns = await this.rowRuns(gone);
    const members = gone.filter((_, i) => goneRuns[i] === null).map((s) => s.member);
    if (members.length > 0) fixed += Number(await this.client.zrem(cps, ...members));

    const heads = suspects.filter((s): s is HeadSuspect => s.kind === "head");
    const now = await this.heads(heads.map((h) => h.threadId));
    const fixes: RedisArg[] = [];
    heads.forEach((h, i) => {
      if (!now[i].id.equals(h.indexed)) fixes.push(h.threadId, h.indexed, now[i].id, now[i].root);
    });
    if (fixes.length > 0) {
      await this.conn.eval(INDEX_FIX_HEADS, [cps], fixes);
      fixed += fixes.length / 4;
    }

    const runRefs = suspects.filter((s): s is RunSuspect => s.kind === "run");
    const runNow = await this.rowRuns(runRefs);
    const staleByThread = new Map<string, RedisArg[]>();
    runRefs.forEach((r, i) => {
      if (runNow[i] !== null && runNow[i]!.equals(r.flagged)) return;
      let list = staleByThread.get(r.threadId);
      if (!list) staleByThread.set(r.threadId, (list = []));
      list.push(r.ns, r.id, r.flagged);
    });
    for (const [thread, stale] of staleByThread) {
      await this.conn.eval(INDEX_APPLY, [cps], [thread, "", "keep", 0, stale.length / 3, ...stale, 0]);
      fixed += stale.length / 3;
    }
    return fixed;
  }

  /** Visits up to `budget` members of one index in pages, from where the last visit stopped. */
  private async walkIndex(which: "cps" | "threads" | "runs", budget: number, visit: (members: Buffer[]) => Promise<void>): Promise<void> {
    const key = which === "cps" ? this.keys.checkpointIndex() : which === "threads" ? this.keys.threadIndex() : this.keys.runRegistry();
    let left = budget;
    while (left > 0) {
      const count = Math.min(left, INDEX_PAGE);
      const members = (await this.client.callBuffer("ZRANGE", key, this.sweepCursors[which], "+", "BYLEX", "LIMIT", 0, count)) as Buffer[];
      if (members.length > 0) await visit(members);
      left -= count;
      if (members.length < count) {
        this.sweepCursors[which] = Buffer.from("-");
        return;
      }
      this.sweepCursors[which] = lexExclusive(members[members.length - 1]);
    }
  }

  /** Each thread's actual head (what the index should say), one script per thread. */
  private async heads(threadIds: string[]): Promise<Array<{ threadId: string; id: Buffer; root: Buffer }>> {
    return Promise.all(
      threadIds.map(async (threadId) => {
        const [id, root] = (await this.conn.eval(HEAD, [this.keys.thread(threadId)], [threadId, ""])) as [Buffer, Buffer?];
        return { threadId, id, root: root ?? Buffer.from("0") };
      }),
    );
  }

  /** The (thread, ns, id) members of these run sets, with the row run field each should have. */
  private async runRefs(runIds: Buffer[]): Promise<Array<Omit<RunSuspect, "kind">>> {
    const sets = (await this.conn.eval(RUN_MEMBERS, [this.keys.checkpointIndex()], runIds)) as Buffer[][];
    const refs: Array<Omit<RunSuspect, "kind">> = [];
    sets.forEach((members, i) => {
      for (const m of members) {
        const [thread, ns, id] = unpackList(m);
        refs.push({ threadId: thread.toString("utf8"), ns, id: id.toString("utf8"), flagged: Buffer.concat([Buffer.from("="), runIds[i]]) });
      }
    });
    return refs;
  }

  /** The run field of each (thread, ns, id) row, or null when the row is gone; one script per thread. */
  private async rowRuns(refs: ReadonlyArray<{ threadId: string; ns: Buffer; id: string }>): Promise<Array<Buffer | null>> {
    const out = new Array<Buffer | null>(refs.length).fill(null);
    const byThread = new Map<string, number[]>();
    refs.forEach((r, i) => {
      const list = byThread.get(r.threadId);
      if (list) list.push(i);
      else byThread.set(r.threadId, [i]);
    });
    await Promise.all(
      [...byThread].map(async ([thread, positions]) => {
        const args: RedisArg[] = [];
        for (const p of positions) args.push(refs[p].ns, refs[p].id);
        const res = (await this.conn.eval(ROW_RUNS, [this.keys.thread(thread)], args)) as Array<Buffer | null>;
        positions.forEach((p, k) => {
          out[p] = res[k] ?? null;
        });
      }),
    );
    return out;
  }
}
