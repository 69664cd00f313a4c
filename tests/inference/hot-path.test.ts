/**
 * Hot-path caches (SPEC §0 rotation, §7.3 item 9 "changes made by another process take effect within 1 s"): a key
 * revoked through the API stops working at once on that gateway; a key or user changed directly in the database by
 * another store (the CLI, another replica) stops working within about a second.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { Store } from "../../src/db/client";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { type Row, post } from "./_helpers";

const ask = [{ role: "user", content: "hi" }];

describe.each(DIALECTS)("hot path ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let other: Store;

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db);
    other = db.open();
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  const chat = async (key: string): Promise<{ status: number; body: Row }> => {
    const res = await post(gw, "/v1/chat/completions", key, { model: "openai:gpt-4o-mini", messages: ask });
    return { status: res.status, body: (await res.json()) as Row };
  };

  /** Milliseconds until `key` gets `status` (polling every 20 ms), or null after `limitMs`. */
  const msUntil = async (key: string, status: number, limitMs: number): Promise<number | null> => {
    const started = Date.now();
    while (Date.now() - started < limitMs) {
      if ((await chat(key)).status === status) return Date.now() - started;
      await Bun.sleep(20);
    }
    return null;
  };

  test("PATCH is_active:false, DELETE key and DELETE user take effect on the very next request", async () => {
    const patched = await gw.createKey({ user_id: "hot-1" });
    expect((await chat(patched.key)).status).toBe(200);
    await gw.admin("PATCH", `/v1/keys/${patched.id}`, { is_active: false });
    expect(await chat(patched.key)).toMatchObject({ status: 401, body: { detail: "API key is inactive" } });

    const deleted = await gw.createKey({ user_id: "hot-1" });
    expect((await chat(deleted.key)).status).toBe(200);
    await gw.admin("DELETE", `/v1/keys/${deleted.id}`);
    expect(await chat(deleted.key)).toMatchObject({ status: 401, body: { detail: "Invalid API key" } });

    const owned = await gw.createKey({ user_id: "hot-2" });
    expect((await chat(owned.key)).status).toBe(200);
    await gw.admin("DELETE", "/v1/users/hot-2");
    expect(await chat(owned.key)).toMatchObject({ status: 401, body: { detail: "API key is inactive" } });

    const blocked = await gw.createKey({ user_id: "hot-3" });
    expect((await chat(blocked.key)).status).toBe(200);
    await gw.admin("PATCH", "/v1/users/hot-3", { blocked: true });
    expect(await chat(blocked.key)).toMatchObject({ status: 403, body: { detail: "User 'hot-3' is blocked" } });
    await gw.admin("PATCH", "/v1/users/hot-3", { blocked: false });
    expect((await chat(blocked.key)).status).toBe(200);
  });

  test("a key revoked directly in the database by another store stops working within ~1 s", async () => {
    const k = await gw.createKey({ user_id: "hot-cli" });
    expect((await chat(k.key)).status).toBe(200);
    await other.db.update(other.t.apiKeys).set({ isActive: false }).where(eq(other.t.apiKeys.id, k.id));
    const ms = await msUntil(k.key, 401, 2500);
    expect(ms).not.toBeNull();
    expect(ms!).toBeLessThanOrEqual(1500);
    expect(await chat(k.key)).toMatchObject({ status: 401, body: { detail: "API key is inactive" } });
  });

  test("a user blocked directly in the database is refused within ~1 s", async () => {
    const k = await gw.createKey({ user_id: "hot-cli-user" });
    expect((await chat(k.key)).status).toBe(200);
    await other.db.update(other.t.users).set({ blocked: true }).where(eq(other.t.users.userId, "hot-cli-user"));
    const ms = await msUntil(k.key, 403, 2500);
    expect(ms).not.toBeNull();
    expect(ms!).toBeLessThanOrEqual(1500);
  });
});
