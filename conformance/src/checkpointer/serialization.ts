import { expect } from "vitest";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { SerializationError } from "@langgraph-persist/core";
import { uniqueId } from "../define.js";
import type { SaverHarness } from "../harness.js";
import { expectTypedError, saverGroup } from "./context.js";
import { ChainWriter, collect, makeCheckpoint, makeMetadata, threadConfig, writesOf } from "./fixtures.js";

interface ValueCase {
  name: string;
  make: () => unknown;
  check: (actual: unknown, expected: unknown, where: string) => void;
}

const strict = (actual: unknown, expected: unknown, where: string) => expect(actual, where).toStrictEqual(expected);

/** A value upstream serialisation cannot represent: JSON has no BigInt and the holder is not a plain object. */
class BigIntHolder {
  readonly id = 12345678901234567890n;
}

const cases: ValueCase[] = [
  {
    name: "Date comes back as a Date with the same time",
    make: () => ({ at: new Date("2024-02-29T12:34:56.789Z"), list: [new Date(0)] }),
    check: (actual, expected, where) => {
      const a = actual as { at: Date; list: Date[] };
      const e = expected as { at: Date; list: Date[] };
      expect(a.at, where).toBeInstanceOf(Date);
      expect(a.at.getTime(), where).toBe(e.at.getTime());
      expect(a.list[0], where).toBeInstanceOf(Date);
      expect(a.list[0].getTime(), where).toBe(0);
    },
  },
  {
    name: "BigInt comes back as a BigInt",
    make: () => ({ small: 1n, large: 2n ** 100n, negative: -(2n ** 70n) }),
    check: strict,
  },
  {
    name: "Map and Set come back as Map and Set",
    make: () => ({ map: new Map<unknown, unknown>([["a", 1], [2, { b: [true] }]]), set: new Set(["x", 1, null]) }),
    check: (actual, expected, where) => {
      const a = actual as { map: Map<unknown, unknown>; set: Set<unknown> };
      expect(a.map, where).toBeInstanceOf(Map);
      expect(a.set, where).toBeInstanceOf(Set);
      expect(a, where).toEqual(expected);
    },
  },
  {
    name: "Uint8Array comes back as a Uint8Array, at the top level and nested",
    make: () => new Uint8Array([0, 1, 127, 128, 255]),
    check: (actual, expected, where) => {
      expect(actual, where).toBeInstanceOf(Uint8Array);
      expect([...(actual as Uint8Array)], where).toEqual([...(expected as Uint8Array)]);
    },
  },
  {
    name: "nested objects and arrays keep their shape",
    make: () => ({ a: { b: { c: [1, { d: [[], {}, [[2]]] }] } }, empty: {}, list: [[], [{}], "x"], "key with spaces": 1, "dotted.key": 2 }),
    check: strict,
  },
  {
    name: "Unicode strings (emoji, CJK, RTL, combining marks) keep every code point",
    make: () => ({
      emoji: "😀👩‍👩‍👧‍👦🏳️‍🌈",
      cjk: "中文字符 日本語 한국어",
      rtl: "עברית العربية \u200f",
      combining: "e\u0301 n\u0303",
      "ключ 🔑": "value",
    }),
    check: strict,
  },
  {
    name: "strings containing \\u0000 keep the NUL character",
    make: () => ({ nul: "before\u0000after", only: "\u0000", list: ["a\u0000", "\u0000b"] }),
    check: strict,
  },
  {
    name: "numbers keep their value: large integers, floats, negatives and extremes",
    make: () => ({
      ints: [0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53 + 2],
      floats: [0.1 + 0.2, -1.5, 1e-300, 5e-324, 1.7976931348623157e308, Math.PI],
    }),
    check: strict,
  },
  {
    name: "null, booleans and empty values keep their type",
    make: () => ({ n: null, t: true, f: false, empty: "", zero: 0, list: [null, false, 0, ""] }),
    check: strict,
  },
  {
    name: "undefined inside arrays stays undefined",
    make: () => ({ list: [1, undefined, 2] }),
    check: (actual, _expected, where) => {
      const list = (actual as { list: unknown[] }).list;
      expect(list, where).toHaveLength(3);
      expect(1 in list && list[1] === undefined, `${where}: index 1 is undefined`).toBe(true);
      expect(list[2], where).toBe(2);
    },
  },
  {
    name: "LangChain messages come back as message instances with the same content, id and tool calls",
    make: () => [
      new HumanMessage({ content: "What is the weather in Paris?", id: "msg-human" }),
      new AIMessage({
        content: "",
        id: "msg-ai",
        tool_calls: [{ id: "call-1", name: "get_weather", args: { city: "Paris", units: ["c"] }, type: "tool_call" }],
      }),
    ],
    check: (actual, _expected, where) => {
      const [human, ai] = actual as [HumanMessage, AIMessage];
      expect(human, where).toBeInstanceOf(HumanMessage);
      expect(human.content, where).toBe("What is the weather in Paris?");
      expect(human.id, where).toBe("msg-human");
      expect(ai, where).toBeInstanceOf(AIMessage);
      expect(ai.id, where).toBe("msg-ai");
      expect(ai.tool_calls, where).toEqual([{ id: "call-1", name: "get_weather", args: { city: "Paris", units: ["c"] }, type: "tool_call" }]);
    },
  },
];

export function serializationGroup(harness: SaverHarness): void {
  saverGroup(harness, "serialization", ({ fresh, test }) => {
    for (const c of cases) {
      test(`serialization - ${c.name} (channel values, writes and metadata)`, async () => {
        const saver = await fresh();
        const chain = new ChainWriter(saver, uniqueId());
        const config = await chain.step({ set: { value: c.make() }, metadata: { payload: c.make() }, writes: [["value", c.make()]] });
        const tuple = await saver.getTuple(config);
        c.check(tuple?.checkpoint.channel_values.value, c.make(), "channel value");
        c.check(writesOf(tuple)[0]?.[2], c.make(), "write value");
        c.check((tuple?.metadata as Record<string, unknown> | undefined)?.payload, c.make(), "metadata value");
        const [listed] = await collect(saver.list(chain.config()));
        c.check(listed.checkpoint.channel_values.value, c.make(), "channel value via list");
        c.check((listed.metadata as Record<string, unknown>).payload, c.make(), "metadata value via list");
        // Nested inside another value, too.
        const nested = await chain.step({ set: { value: { inner: [c.make()] } } });
        c.check(((await saver.getTuple(nested))?.checkpoint.channel_values.value as { inner: unknown[] }).inner[0], c.make(), "nested channel value");
      });
    }

    test("serialization - a 5 MB channel value round-trips", async () => {
      const saver = await fresh();
      const chunk = "0123456789abcdefghijklmnopqrstuvwxyz-äöü-😀-";
      const big = chunk.repeat(Math.ceil((5 * 1024 * 1024) / chunk.length));
      const chain = new ChainWriter(saver, uniqueId());
      const config = await chain.step({ set: { big, small: 1 } });
      const tuple = await saver.getTuple(config);
      const value = tuple?.checkpoint.channel_values.big as string;
      expect(value.length).toBe(big.length);
      expect(value === big, "the 5 MB value is identical").toBe(true);
      expect(tuple?.checkpoint.channel_values.small).toBe(1);
    });

    test("serialization - a value that cannot be serialised is rejected with SerializationError and nothing stored is lost", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const chain = new ChainWriter(saver, thread);
      const good = await chain.step({ set: { a: "kept" }, writes: [["a", "kept-write"]] });
      const before = await saver.getTuple(good);

      const v = saver.getNextVersion(undefined);
      const bad = makeCheckpoint({ values: { a: "kept", b: new BigIntHolder() }, versions: { b: v } });
      await expectTypedError(saver.put(good, bad, makeMetadata(1), { b: v }), SerializationError, "put with an unserialisable channel value");
      await expectTypedError(
        saver.put(good, makeCheckpoint(), makeMetadata(1, { holder: new BigIntHolder() }), {}),
        SerializationError,
        "put with unserialisable metadata",
      );
      await expectTypedError(
        saver.putWrites(good, [["ok", "fine"], ["b", new BigIntHolder()]], "task-2"),
        SerializationError,
        "putWrites with an unserialisable value",
      );

      const after = await saver.getTuple(threadConfig(thread));
      expect(after?.checkpoint.id, "the previous checkpoint is still the latest").toBe(chain.ids[0]);
      expect(after?.checkpoint.channel_values).toEqual(before?.checkpoint.channel_values);
      expect(writesOf(after), "no write of the rejected batch was stored").toEqual(writesOf(before));
      expect(await collect(saver.list(threadConfig(thread)))).toHaveLength(1);
    });

    test("serialization - a value with a circular reference is refused with SerializationError, in put and putWrites, and nothing is stored", async () => {
      const saver = await fresh();
      const thread = uniqueId();
      const chain = new ChainWriter(saver, thread);
      const good = await chain.step({ set: { a: "kept" }, writes: [["a", "kept-write"]] });
      const before = await saver.getTuple(good);
      const cycles: Array<[string, () => unknown]> = [
        ["an object that contains itself", () => {
          const o: Record<string, unknown> = { name: "loop" };
          o.self = o;
          return o;
        }],
        ["a cycle through an array", () => {
          const list: unknown[] = ["x"];
          list.push({ list });
          return { list };
        }],
        ["a class instance that points back at its holder", () => {
          class Node {
            parent: unknown;
          }
          const holder = { child: new Node() };
          holder.child.parent = holder;
          return holder;
        }],
      ];
      for (const [what, make] of cycles) {
        const v = saver.getNextVersion(undefined);
        const bad = makeCheckpoint({ values: { a: "kept", b: make() }, versions: { b: v } });
        await expectTypedError(saver.put(good, bad, makeMetadata(1), { b: v }), SerializationError, `put with ${what} in a channel value`);
        await expectTypedError(saver.put(good, makeCheckpoint(), makeMetadata(1, { loop: make() }), {}), SerializationError, `put with ${what} in metadata`);
        await expectTypedError(saver.putWrites(good, [["ok", "fine"], ["b", make()]], "task-2"), SerializationError, `putWrites with ${what}`);
      }
      const after = await saver.getTuple(threadConfig(thread));
      expect(after?.checkpoint.id, "the previous checkpoint is still the latest").toBe(chain.ids[0]);
      expect(after?.checkpoint.channel_values).toEqual(before?.checkpoint.channel_values);
      expect(writesOf(after), "no write of the rejected batches was stored").toEqual(writesOf(before));
      expect(await collect(saver.list(threadConfig(thread)))).toHaveLength(1);
    });

    test("serialization - the text \"[Circular]\" and a value shared by two keys (not a cycle) are stored as given", async () => {
      const saver = await fresh();
      const shared = { n: 1 };
      const value = { label: "[Circular]", list: ["[Circular]"], left: shared, right: shared };
      const chain = new ChainWriter(saver, uniqueId());
      const config = await chain.step({ set: { value: new Map([["m", value]]) }, writes: [["value", new Set([value])]] });
      const tuple = await saver.getTuple(config);
      expect((tuple?.checkpoint.channel_values.value as Map<string, unknown>).get("m")).toEqual(value);
      expect([...(writesOf(tuple)[0]?.[2] as Set<unknown>)]).toEqual([value]);
    });
  });
}
