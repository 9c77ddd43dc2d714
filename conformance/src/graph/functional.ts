import { Command, entrypoint, getPreviousState, interrupt, task, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { expect } from "vitest";
import { uniqueId } from "../define.js";
import type { GraphHarness } from "../harness.js";
import { collect, graphGroup, newThread } from "./context.js";

interface Tally {
  total: number;
  added: number[];
}

export function functionalGroup(harness: GraphHarness): void {
  graphGroup("graph: functional API", harness, (ctx) => {
    ctx.test("entrypoint - entrypoint.final saves one value for the next run and returns another", async () => {
      const saver = await ctx.saver();
      const store = await ctx.store();
      const user = uniqueId("user");
      const seen: Array<Tally | undefined> = [];
      const tally = entrypoint(
        { name: uniqueId("tally"), checkpointer: saver, store },
        async (add: number, config: LangGraphRunnableConfig) => {
          const previous = getPreviousState<Tally>();
          seen.push(previous);
          const total = (previous?.total ?? 0) + add;
          await config.store?.put(["tallies", user], config.configurable?.thread_id as string, { total });
          return entrypoint.final({ value: `total is ${total}`, save: { total, added: [...(previous?.added ?? []), add] } });
        },
      );
      const thread = newThread();

      expect(await tally.invoke(2, thread)).toBe("total is 2");
      expect(await tally.invoke(5, thread)).toBe("total is 7");
      expect(await tally.invoke(10, thread)).toBe("total is 17");
      // `previous` is the saved value, never the returned one.
      expect(seen).toEqual([undefined, { total: 2, added: [2] }, { total: 7, added: [2, 5] }]);

      const tuple = await saver.getTuple(thread);
      expect(tuple?.checkpoint.channel_values.__previous__).toEqual({ total: 17, added: [2, 5, 10] });
      expect((await tally.getState(thread)).values).toBe("total is 17");

      const other = newThread();
      expect(await tally.invoke(1, other)).toBe("total is 1");
      expect(seen.at(-1)).toBeUndefined();

      const item = await store.get(["tallies", user], thread.configurable.thread_id);
      expect(item?.value).toEqual({ total: 17 });
      expect((await store.get(["tallies", user], other.configurable.thread_id))?.value).toEqual({ total: 1 });
    });

    ctx.test("entrypoint - resuming after an interrupt reuses the results of finished tasks", async () => {
      const saver = await ctx.saver();
      const calls: Record<string, number> = {};
      const draft = task("draft", async (topic: string) => {
        calls[topic] = (calls[topic] ?? 0) + 1;
        return `An essay about ${topic}`;
      });
      const review = entrypoint({ name: uniqueId("review"), checkpointer: saver }, async (topics: string[]) => {
        const essays = await Promise.all(topics.map((t) => draft(t)));
        const verdict = interrupt({ question: "Approve these essays?", essays });
        return { essays, verdict };
      });
      const thread = newThread();

      await review.invoke(["cats", "dogs"], thread);
      const paused = await review.getState(thread);
      expect(paused.tasks.flatMap((t) => t.interrupts.map((i) => i.value))).toEqual([
        { question: "Approve these essays?", essays: ["An essay about cats", "An essay about dogs"] },
      ]);
      expect(calls).toEqual({ cats: 1, dogs: 1 });

      const done = await review.invoke(new Command({ resume: "approved" }), thread);
      expect(done).toEqual({ essays: ["An essay about cats", "An essay about dogs"], verdict: "approved" });
      // The drafts came back from the saved task writes, not from running the tasks again.
      expect(calls).toEqual({ cats: 1, dogs: 1 });
      const history = await collect(review.getStateHistory(thread));
      expect(history.length).toBeGreaterThanOrEqual(2);
      expect(history[0].values).toEqual(done);
    });
  });
}
