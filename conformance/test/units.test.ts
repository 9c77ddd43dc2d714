import { AIMessage, HumanMessage, SystemMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";
import { FakeMemoryChatModel, HashEmbeddings, nameFromMessages, summarize, table, uniqueId } from "../src/index.js";

describe("HashEmbeddings", () => {
  it("is deterministic, normalised, and ranks shared words higher", async () => {
    const e = new HashEmbeddings(64);
    const [a, b, c] = await e.embedDocuments(["my name is Bob", "what is my name", "the weather is sunny"]);
    expect(await e.embedQuery("my name is Bob")).toEqual(a);
    const norm = Math.sqrt(a.reduce((s, x) => s + x * x, 0));
    expect(norm).toBeCloseTo(1, 6);
    const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0);
    expect(dot(a, b)).toBeGreaterThan(dot(a, c));
    expect(e.documentCalls).toBe(1);
    expect(e.queryCalls).toBe(1);
  });
});

describe("FakeMemoryChatModel", () => {
  it("answers from what it is given, and only that", async () => {
    const model = new FakeMemoryChatModel();
    const knows = await model.invoke([new HumanMessage("Hi! Remember: my name is Bob"), new AIMessage("ok"), new HumanMessage("what is my name?")]);
    expect(String(knows.content)).toContain("Bob");
    const forgot = await model.invoke([new HumanMessage("what is my name?")]);
    expect(String(forgot.content)).not.toContain("Bob");
    const fromSystem = await model.invoke([new SystemMessage("Known about the user: my name is Ada"), new HumanMessage("what is my name?")]);
    expect(String(fromSystem.content)).toContain("Ada");
    expect(nameFromMessages([new HumanMessage("my name is Carol")])).toBe("Carol");
  });
});

describe("runner helpers", () => {
  it("summarize groups outcomes by suite and group and keeps the skip reasons", () => {
    const s = summarize([
      { path: ["checkpointer conformance: x", "list"], title: "a", status: "passed" },
      { path: ["checkpointer conformance: x", "list"], title: "b [capability not declared: ttl]", status: "skipped" },
      { path: ["checkpointer conformance: x", "put"], title: "c", status: "failed", failure: "boom" },
    ]);
    expect(s).toEqual([
      { suite: "checkpointer conformance: x", group: "list", passed: 1, failed: 0, skipped: 1, skippedTests: ["b [capability not declared: ttl]"], failedTests: [] },
      { suite: "checkpointer conformance: x", group: "put", passed: 0, failed: 1, skipped: 0, skippedTests: [], failedTests: ["c — boom"] },
    ]);
  });

  it("table aligns columns", () => {
    expect(table(["a", "bb"], [["xxx", "y"]]).split("\n")).toEqual(["a    bb", "---  --", "xxx  y"]);
  });

  it("uniqueId never repeats", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => uniqueId("t")));
    expect(ids.size).toBe(1000);
  });
});
