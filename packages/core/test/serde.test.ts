import { describe, expect, it } from "vitest";
import { AIMessage, AIMessageChunk, HumanMessage, RemoveMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { createUpstreamSerializer, PersistSerializer } from "../src/serde.js";
import { SerializationError } from "../src/errors.js";

const ours = new PersistSerializer();
const upstream = createUpstreamSerializer();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function messages() {
  return [
    new HumanMessage("plain string content"),
    new HumanMessage({ content: [{ type: "text", text: "part" }], id: "h1", name: "alice", additional_kwargs: { nested: { deep: [1, 2, { x: null }] } } }),
    new AIMessage({
      content: "calling",
      id: "a1",
      tool_calls: [{ name: "search", args: { q: "x", n: 3 }, id: "c1", type: "tool_call" }],
      usage_metadata: { input_tokens: 3, output_tokens: 4, total_tokens: 7 },
      response_metadata: { model: "m", finish_reason: "tool_calls" },
    }),
    new ToolMessage({ content: "result", tool_call_id: "c1", name: "search", status: "success" }),
    new SystemMessage({ content: "be brief", id: "s1" }),
    new AIMessageChunk({ content: "chunk", id: "k1" }),
    new RemoveMessage({ id: "h1" }),
  ];
}

/** Values the fast paths handle and values they hand to upstream; all must produce upstream's bytes. */
function corpus(): unknown[] {
  return [
    null,
    0,
    -0,
    1.5,
    Number.NaN,
    "text with \u2028 and \u{1F600}",
    true,
    [],
    {},
    [1, "a", null, { b: [true] }],
    { a: undefined, b: [undefined, 1], c: { d: undefined } },
    undefined,
    { messages: messages() },
    messages(),
    Object.assign(Object.create(null), { x: 1 }),
    { shared: [1], again: null as unknown },
    new Set([1, 2]),
    { m: new Map([["k", 1]]) },
    { r: /x/g, e: new Error("boom") },
    { bytes: new Uint8Array([1, 2]) },
    { send: { lg_name: "Send", node: "n", args: { a: 1 } } },
    { fn: () => 1, sym: Symbol("s"), keep: 1 },
    { withToJson: { toJSON: () => "custom" } },
    { deep: JSON.parse("[".repeat(60) + "1" + "]".repeat(60)) as unknown },
  ];
}

describe("PersistSerializer fast paths", () => {
  it("write the same bytes as upstream's serializer for values without Date/BigInt", async () => {
    for (const value of corpus()) {
      const [t1, d1] = await ours.dumpsTyped(value);
      const [t2, d2] = await upstream.dumpsTyped(value);
      expect(t1).toBe(t2);
      expect(text(d1)).toBe(text(d2));
    }
  });

  it("refuse cyclic values (which upstream writes with the cycle replaced by \"[Circular]\") instead of looping", async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    await expect(ours.dumpsTyped({ cyclic })).rejects.toBeInstanceOf(SerializationError);
    const [, d2] = await upstream.dumpsTyped({ cyclic });
    expect(text(d2)).toContain("[Circular]");
  });

  it("tag Date and BigInt outside toJSON() results and leave them to upstream inside", async () => {
    const at = new Date("2025-01-02T03:04:05.006Z");
    const [, d] = await ours.dumpsTyped({ at, n: 12n, list: [at] });
    expect(JSON.parse(text(d))).toEqual({
      at: { lc: 2, type: "constructor", id: ["Date"], method: null, args: ["2025-01-02T03:04:05.006Z"], kwargs: {} },
      n: { lc: 2, type: "constructor", id: ["BigInt"], method: null, args: ["12"], kwargs: {} },
      list: [{ lc: 2, type: "constructor", id: ["Date"], method: null, args: ["2025-01-02T03:04:05.006Z"], kwargs: {} }],
    });
    const back = (await ours.loadsTyped("json", d)) as { at: Date; n: bigint; list: Date[] };
    expect(back.at).toBeInstanceOf(Date);
    expect(back.at.getTime()).toBe(at.getTime());
    expect(back.n).toBe(12n);
    const inMessage = new AIMessage({ content: "x", additional_kwargs: { at } });
    const [, m1] = await ours.dumpsTyped([inMessage]);
    const [, m2] = await upstream.dumpsTyped([inMessage]);
    expect(text(m1)).toBe(text(m2));
  });

  it("revive LangChain messages as upstream does: same classes, same fields", async () => {
    const [, data] = await ours.dumpsTyped({ messages: messages(), other: { lc_like: 1 } });
    const fast = (await ours.loadsTyped("json", data)) as { messages: object[] };
    const slow = (await upstream.loadsTyped("json", data)) as { messages: object[] };
    expect(fast.messages.map((m) => m.constructor)).toEqual(slow.messages.map((m) => m.constructor));
    expect(fast.messages.map((m) => m.constructor.name)).toEqual(["HumanMessage", "HumanMessage", "AIMessage", "ToolMessage", "SystemMessage", "AIMessageChunk", "RemoveMessage"]);
    expect(fast).toEqual(slow);
    expect(JSON.stringify(fast)).toBe(JSON.stringify(slow));
  });

  it("hand mixed or unusual lc records to upstream", async () => {
    const values = [
      { messages: [new HumanMessage("a")], missing: undefined, set: new Set([1]) },
      { data: { lc: 5, other: true } },
      { lc: 1, type: "constructor", id: ["langchain_core", "messages", "HumanMessage"], kwargs: { content: "x", additional_kwargs: { __lc_escaped__: { lc: 1 } } } },
    ];
    for (const value of values) {
      const data = new TextEncoder().encode(JSON.stringify(await upstreamJson(value)));
      expect(await ours.loadsTyped("json", data)).toEqual(await upstream.loadsTyped("json", data));
    }
  });

  it("report an unknown LangChain class as upstream's load does", async () => {
    const data = JSON.stringify({ lc: 1, type: "constructor", id: ["langchain_core", "nowhere", "Nothing"], kwargs: {} });
    await expect(upstream.loadsTyped("json", data)).rejects.toThrow(/Invalid namespace|Invalid identifer/);
    await expect(ours.loadsTyped("json", data)).rejects.toThrow(/Invalid namespace|Invalid identifer/);
  });
});

async function upstreamJson(value: unknown): Promise<unknown> {
  const [, d] = await upstream.dumpsTyped(value);
  return JSON.parse(text(d));
}
