/**
 * Who is billed: a virtual key always bills its own user, whatever `user` (or, on /v1/messages, `metadata.user_id`)
 * says; that value is the calling app's end-user id, recorded as the row's `end_user_id` and filterable on /v1/usage
 * and /v1/users/{id}/usage. An unknown value is never a 404. The master key keeps the baseline rule (the named user
 * is billed and must exist), and `reject_user_mismatch` still refuses.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { MASTER_KEY, startTestGateway, type TestGateway } from "../helpers/gateway";
import { type Row, budgetUser, hi, post, price, rowsOf } from "./_helpers";

const chat = (gw: TestGateway, token: string, extra: Row = {}) =>
  post(gw, "/v1/chat/completions", token, { model: "openai:gpt-4o-mini", messages: hi, ...extra });
const spendOf = async (gw: TestGateway, userId: string) =>
  Number((await gw.admin<Row>("GET", `/v1/users/${userId}`))["spend"]);

describe.each(DIALECTS)("user binding ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db);
    await price(gw, "openai:gpt-4o-mini", 2.5, 10);
    await price(gw, "openai:text-embedding-3-small", 0.02, 0);
    await price(gw, "anthropic:claude-sonnet-4-5", 3, 15);
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  test("a key whose user is over budget cannot spend another user's budget by naming it", async () => {
    const broke = await budgetUser(gw, "bind-broke", 0);
    await budgetUser(gw, "bind-rich", 100);
    const res = await chat(gw, broke.key, { user: "bind-rich" });
    expect(res.status).toBe(403);
    expect(((await res.json()) as Row)["detail"]).toBe("User 'bind-broke' has exceeded budget limit");
    expect(await spendOf(gw, "bind-rich")).toBe(0);
    expect(await rowsOf(gw, "bind-rich")).toEqual([]);
    // the refusal is the key's user's, and carries the value the app sent
    expect(await rowsOf(gw, "bind-broke")).toMatchObject([
      { status: "error", status_code: 403, end_user_id: "bind-rich" },
    ]);
  });

  test("an app's own end-user ids are served, billed to the key's user and recorded as end_user_id", async () => {
    const { key } = await budgetUser(gw, "bind-app", 100);
    const chatRes = await chat(gw, key, { user: "librechat-7f3a" });
    expect(chatRes.status).toBe(200);
    const messages = await post(gw, "/v1/messages", key, {
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 10,
      messages: hi,
      metadata: { user_id: "openwebui-42" },
    });
    expect(messages.status).toBe(200);
    const embeddings = await post(gw, "/v1/embeddings", key, {
      model: "openai:text-embedding-3-small",
      input: "a",
      user: "librechat-7f3a",
    });
    expect(embeddings.status).toBe(200);
    const plain = await chat(gw, key);
    expect(plain.status).toBe(200);

    const rows = await rowsOf(gw, "bind-app");
    expect(rows.map((r) => [r["endpoint"], r["user_id"], r["end_user_id"], r["status"]]).sort()).toEqual(
      [
        ["/v1/chat/completions", "bind-app", "librechat-7f3a", "success"],
        ["/v1/chat/completions", "bind-app", null, "success"],
        ["/v1/embeddings", "bind-app", "librechat-7f3a", "success"],
        ["/v1/messages", "bind-app", "openwebui-42", "success"],
      ].sort(),
    );
    const total = rows.reduce((sum, r) => sum + Number(r["cost"]), 0);
    expect(await spendOf(gw, "bind-app")).toBeCloseTo(total, 9);
    // the end-user id is never forwarded upstream as an OpenAI `user`
    expect(gw.openai.requests.find((r) => r.path === "/v1/chat/completions")?.body).not.toHaveProperty("user");
  });

  test("end_user_id filters /v1/usage and /v1/users/{id}/usage; an unknown value is an empty list, never a 404", async () => {
    const { key } = await budgetUser(gw, "bind-filter", 100);
    for (const user of ["eu-a", "eu-b", "eu-a"]) expect((await chat(gw, key, { user })).status).toBe(200);
    await gw.usage(); // flushes the writer
    const all = await gw.admin<Row[]>("GET", "/v1/usage?end_user_id=eu-a");
    expect(all.map((r) => [r["user_id"], r["end_user_id"]])).toEqual([
      ["bind-filter", "eu-a"],
      ["bind-filter", "eu-a"],
    ]);
    const mine = await gw.admin<Row[]>("GET", "/v1/users/bind-filter/usage?end_user_id=eu-b");
    expect(mine.map((r) => r["end_user_id"])).toEqual(["eu-b"]);
    expect((await gw.admin<Row[]>("GET", "/v1/users/bind-filter/usage")).length).toBe(3);
    expect(await gw.admin<Row[]>("GET", "/v1/usage?end_user_id=nobody-sent-this")).toEqual([]);
    expect(await gw.admin<Row[]>("GET", "/v1/users/bind-filter/usage?end_user_id=nobody-sent-this")).toEqual([]);
  });

  test("the master key: `user` names the billed user (end_user_id null); unknown 404, missing 400", async () => {
    await budgetUser(gw, "bind-master", 100);
    expect((await chat(gw, MASTER_KEY, { user: "bind-master" })).status).toBe(200);
    expect(await rowsOf(gw, "bind-master")).toMatchObject([
      { user_id: "bind-master", api_key_id: null, end_user_id: null, status: "success" },
    ]);
    const unknown = await chat(gw, MASTER_KEY, { user: "bind-nobody" });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as Row)["detail"]).toBe("User 'bind-nobody' not found");
    expect((await chat(gw, MASTER_KEY)).status).toBe(400);
  });
});

describe("reject_user_mismatch: true", () => {
  let db: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await DIALECTS[0]!.create();
    gw = await startTestGateway(db, { reject_user_mismatch: true });
  });
  afterAll(async () => {
    await gw.close();
    await db.drop();
  });

  test("a value other than the key's user is a 403; the key's own user id is served", async () => {
    const { key } = await budgetUser(gw, "strict-user", 100);
    const refused = await chat(gw, key, { user: "someone-else" });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Row)["error"]).toMatchObject({ code: "user_mismatch" });
    const messages = await post(gw, "/v1/messages", key, {
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 10,
      messages: hi,
      metadata: { user_id: "someone-else" },
    });
    expect(messages.status).toBe(403);
    expect((await chat(gw, key, { user: "strict-user" })).status).toBe(200);
    expect(await rowsOf(gw, "strict-user")).toMatchObject([{ status: "success", end_user_id: "strict-user" }]);
  });
});
