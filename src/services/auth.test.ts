import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSqliteDatabase, type TestDatabase } from "../../tests/helpers/db";
import { createAuthService } from "./auth";
import { createKeysService } from "./keys";
import { createMasterKey } from "./master-key";

let db: TestDatabase;
let token: string;

beforeAll(async () => {
  db = await createSqliteDatabase();
  const keys = createKeysService({
    store: db.store,
    now: () => new Date(),
    changed: () => undefined,
    flushSpend: async () => undefined,
  });
  token = (await keys.create({ key_name: "burst", user_id: "burst-user", metadata: {} })).key;
  // A first use records last_used_at, so the lookups counted below are the only statements.
  await createAuthService({ store: db.store, masterKey: createMasterKey(null), now: () => new Date() }).authenticate(
    token,
  );
});
afterAll(() => db.drop());

describe("virtual-key lookups", () => {
  test("a burst of requests on an uncached key shares one query", async () => {
    const auth = createAuthService({ store: db.store, masterKey: createMasterKey(null), now: () => new Date() });
    const before = db.store.statements();
    const callers = await Promise.all(Array.from({ length: 50 }, () => auth.authenticate(token)));
    expect(db.store.statements() - before).toBe(1);
    expect(callers.every((c) => c.kind === "key" && c.key.keyName === "burst")).toBe(true);
    // Cached afterwards: no query at all.
    await auth.authenticate(token);
    expect(db.store.statements() - before).toBe(1);
  });

  test("a key change during a lookup starts a new one and the old row is not cached", async () => {
    const auth = createAuthService({ store: db.store, masterKey: createMasterKey(null), now: () => new Date() });
    const before = db.store.statements();
    const first = auth.authenticate(token);
    auth.invalidate();
    const second = auth.authenticate(token);
    await Promise.all([first, second]);
    expect(db.store.statements() - before).toBe(2);
    await auth.authenticate(token);
    expect(db.store.statements() - before).toBe(2);
  });
});
