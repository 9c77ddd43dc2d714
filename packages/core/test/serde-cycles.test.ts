import { describe, expect, it } from "vitest";
import { PersistSerializer, SerializationError } from "../src/index.js";

describe("PersistSerializer and circular references", () => {
  const serde = new PersistSerializer();

  it("refuses a value that contains itself instead of writing \"[Circular]\"", async () => {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    const list: unknown[] = [];
    list.push({ list });
    class Holder {
      child: { parent?: unknown } = {};
    }
    const h = new Holder();
    h.child.parent = h;
    for (const value of [o, { list }, [o], h, new Map([["m", o]])]) {
      const err = await serde.dumpsTyped(value).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SerializationError);
      expect((err as Error).message).toMatch(/circular reference/);
    }
  });

  it("keeps the text \"[Circular]\" and values shared by two keys", async () => {
    const shared = { n: 1 };
    const value = new Map<string, unknown>([["a", { text: "[Circular]", left: shared, right: shared }]]);
    const [type, data] = await serde.dumpsTyped(value);
    expect(await serde.loadsTyped(type, data)).toEqual(value);
  });
});
