import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Store } from "../../db/client";
import { createChangeFeed } from "./change-feed";
import { createTestDb, DIALECTS, type TestDb } from "./_test-db";

for (const dialect of DIALECTS) {
  describe(`change feed (${dialect})`, () => {
    let tdb: TestDb;
    let store: Store;
    beforeAll(async () => {
      tdb = await createTestDb(dialect);
      store = tdb.open();
    });
    afterAll(async () => tdb.cleanup());

    test("a bump through one store instance is seen through another within 1 s", async () => {
      // A second store = another replica or the CLI (a second SQLite connection is fine here: no open transaction).
      const writer = createChangeFeed({ store: tdb.open(), pollMs: 250 });
      const reader = createChangeFeed({ store, pollMs: 250 });
      await reader.start();
      const heard: { topic: string; at: number }[] = [];
      reader.subscribe("keys", () => heard.push({ topic: "keys", at: Date.now() }));
      reader.subscribe("pricing", () => heard.push({ topic: "pricing", at: Date.now() }));
      const localHeard: string[] = [];
      writer.subscribe("keys", () => localHeard.push("keys"));
      const t0 = Date.now();
      await writer.bump("keys");
      expect(localHeard).toEqual(["keys"]); // the writer's own process hears at once
      while (heard.length === 0 && Date.now() - t0 < 1000) await Bun.sleep(20);
      expect(heard.map((h) => h.topic)).toEqual(["keys"]);
      expect((heard[0]?.at ?? Infinity) - t0).toBeLessThan(1000);
      // Nothing changed: further polls stay quiet; a second bump is heard again.
      await reader.poll();
      expect(heard.length).toBe(1);
      await writer.bump("keys");
      await reader.poll();
      expect(heard.length).toBe(2);
      reader.stop();
    });
  });
}
