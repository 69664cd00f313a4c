/**
 * Cost control on the inference path (docs/behaviour/cost-control.md), through HTTP on SQLite and Postgres: every
 * inference route is refused when any level of its path (key, user, team, end user) has used up its budget, with
 * the 403 naming that level; each refusal has its error row and charges nothing; spend on every level equals the
 * sum of its rows. Concurrency slots of the key, user and team come back however a request ends (answered, failed,
 * refused later in admission, a stream the client left mid-way), and rate-limit rules apply per model.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DIALECTS, type TestDatabase } from "../helpers/db";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { post, price, type Row, waitFor } from "./_helpers";

const PROMPT = [{ role: "user", content: "Please answer this question about budgets at every level briefly." }];
const CHAT = "openai:gpt-4o-mini";
const CLAUDE = "anthropic:claude-sonnet-4-5";

type Level = "key" | "user" | "team" | "end_user";
const LEVELS: Level[] = ["key", "user", "team", "end_user"];
const NAMED: Record<Level, string> = { key: "Key", user: "User", team: "Team", end_user: "End user" };

/** Every inference route, with the end user `eu` sent where the route carries one. */
const ROUTES: [string, string, (eu: string) => Record<string, unknown>][] = [
  ["chat", "/v1/chat/completions", (eu) => ({ model: CHAT, messages: PROMPT, max_tokens: 10, user: eu })],
  [
    "chat (stream)",
    "/v1/chat/completions",
    (eu) => ({ model: CHAT, messages: PROMPT, max_tokens: 10, user: eu, stream: true }),
  ],
  [
    "messages",
    "/v1/messages",
    (eu) => ({ model: CLAUDE, messages: PROMPT, max_tokens: 10, metadata: { user_id: eu } }),
  ],
  [
    "messages (stream)",
    "/v1/messages",
    (eu) => ({ model: CLAUDE, messages: PROMPT, max_tokens: 10, metadata: { user_id: eu }, stream: true }),
  ],
  ["responses", "/v1/responses", (eu) => ({ model: CHAT, input: "Say hi", max_output_tokens: 16, user: eu })],
  ["embeddings", "/v1/embeddings", (eu) => ({ model: "openai:text-embedding-3-small", input: "abc", user: eu })],
  ["moderations", "/v1/moderations", (eu) => ({ model: "openai:omni-moderation-latest", input: "abc", user: eu })],
];

interface Levels {
  key: string;
  keyId: string;
  userId: string;
  teamId: string;
  endUser: string;
  budgets: Record<Level, string>;
}

describe.each(DIALECTS)("cost control on every inference route ($dialect)", ({ create }) => {
  let db: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await create();
    gw = await startTestGateway(db);
    await price(gw, CHAT, 1000, 1000);
    await price(gw, CLAUDE, 1000, 1000);
    await price(gw, "openai:text-embedding-3-small", 1000, 0);
    await price(gw, "openai:omni-moderation-latest", 1000, 0);
  });
  afterAll(async () => {
    await gw?.close();
    await db?.drop();
  });

  /** A key of a user in a team, each with a budget of its own (`usd`), and an end-user budget on the key. */
  async function seed(tag: string, usd: number): Promise<Levels> {
    const budget = async () =>
      (await gw.admin<{ budget_id: string }>("POST", "/v1/budgets", { max_budget: usd })).budget_id;
    const budgets = { key: await budget(), user: await budget(), team: await budget(), end_user: await budget() };
    const teamId = `team-${tag}`;
    const userId = `user-${tag}`;
    await gw.admin("POST", "/v1/teams", { team_id: teamId, budget_id: budgets.team });
    await gw.admin("POST", "/v1/users", { user_id: userId, team_id: teamId, budget_id: budgets.user });
    const key = await gw.createKey({ user_id: userId, budget_id: budgets.key, end_user_budget_id: budgets.end_user });
    return { key: key.key, keyId: key.id, userId, teamId, endUser: `eu-${tag}`, budgets };
  }

  /** Spend of every level (USD), as the management API shows it. */
  async function spendOf(l: Levels): Promise<Record<Level, number>> {
    const key = await gw.admin<Row>("GET", `/v1/keys/${l.keyId}`);
    const user = await gw.admin<Row>("GET", `/v1/users/${l.userId}`);
    const team = await gw.admin<Row>("GET", `/v1/teams/${l.teamId}`);
    const endUsers = await gw.admin<Row[]>("GET", `/v1/end-users?user_id=${l.userId}`);
    const eu = endUsers.find((e) => e["end_user_id"] === l.endUser);
    return {
      key: Number(key["spend"]),
      user: Number(user["spend"]),
      team: Number(team["spend"]),
      end_user: Number(eu?.["spend"] ?? Number.NaN),
    };
  }

  for (const exhausted of LEVELS) {
    test(`the ${exhausted} level used up: every route is refused naming it, nothing charged, every row kept`, async () => {
      const l = await seed(`x-${exhausted}`, 10);
      const first = await post(gw, "/v1/chat/completions", l.key, ROUTES[0]![2](l.endUser));
      expect(first.status).toBe(200);
      expect(first.headers.get("x-gateway-budget-remaining-usd")).not.toBeNull();
      await first.arrayBuffer();
      // The level's budget is lowered below what it has spent: it has no room left, the others plenty.
      await gw.admin("PATCH", `/v1/budgets/${l.budgets[exhausted]}`, { max_budget: 0.000001 });
      const label = { key: l.keyId, user: l.userId, team: l.teamId, end_user: l.endUser }[exhausted];
      for (const [name, path, body] of ROUTES) {
        const res = await post(gw, path, l.key, body(l.endUser));
        const text = await res.text();
        expect({ name, status: res.status }).toEqual({ name, status: 403 });
        const err = (JSON.parse(text) as { error: Row }).error;
        expect(err["message"]).toBe(`${NAMED[exhausted]} '${label}' has exceeded budget limit`);
        // /v1/messages answers in Anthropic's error envelope (type and message only).
        if (path === "/v1/messages") expect(err["type"]).toBe("permission_error");
        else expect([err["code"], err["param"]]).toEqual(["budget_exceeded", exhausted]);
      }
      const rows = await gw.usage(`user_id=${l.userId}`);
      expect(rows.length).toBe(1 + ROUTES.length);
      const refused = rows.filter((r) => r["status_code"] === 403);
      expect(refused.length).toBe(ROUTES.length);
      expect(refused.every((r) => r["cost"] === null)).toBe(true);
      // Each row names the team the user was in (the team's own usage lists them all).
      expect((await gw.admin<Row[]>("GET", `/v1/teams/${l.teamId}/usage`)).length).toBe(rows.length);
      const served = rows.filter((r) => r["status"] === "success");
      expect(served.length).toBe(1);
      const cost = Number(served[0]!["cost"]);
      expect(cost).toBeGreaterThan(0);
      const spend = await spendOf(l);
      for (const level of LEVELS) expect({ level, spend: spend[level] }).toEqual({ level, spend: cost });
    });
  }

  test("every route served on a path with every level capped: each level's spend is the sum of its rows", async () => {
    const l = await seed("all", 100);
    for (const [name, path, body] of ROUTES) {
      const res = await post(gw, path, l.key, body(l.endUser));
      await res.arrayBuffer();
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
    }
    const rows = await gw.usage(`user_id=${l.userId}`);
    expect(rows.length).toBe(ROUTES.length);
    expect(rows.every((r) => r["status"] === "success")).toBe(true);
    expect((await gw.admin<Row[]>("GET", `/v1/teams/${l.teamId}/usage`)).length).toBe(rows.length);
    // Each row names its team, and GET /v1/usage filters on it (another team's rows are left out).
    expect(rows.every((r) => r["team_id"] === l.teamId)).toBe(true);
    const other = await seed("all-other", 100);
    await (await post(gw, "/v1/chat/completions", other.key, ROUTES[0]![2](other.endUser))).arrayBuffer();
    const byTeam = await gw.usage(`team_id=${l.teamId}`);
    expect(byTeam.map((r) => r["id"]).sort()).toEqual(rows.map((r) => r["id"]).sort());
    expect((await gw.usage(`team_id=${other.teamId}`)).map((r) => r["user_id"])).toEqual([other.userId]);
    const total = rows.reduce((a, r) => a + Number(r["cost"]), 0);
    const spend = await spendOf(l);
    for (const level of LEVELS) expect(spend[level]).toBeCloseTo(total, 9);
    // Nothing left reserved once every response ended.
    const team = await gw.admin<Row>("GET", `/v1/teams/${l.teamId}`);
    expect(await waitFor(async () => (await gw.admin<Row>("GET", `/v1/teams/${l.teamId}`))["reserved"] === 0)).toBe(
      true,
    );
    expect(team["spend"]).toBeCloseTo(total, 9);
  });

  test("max_concurrent on key, user and team: slots come back after answers, failures, late refusals and streams cut by the client", async () => {
    for (const level of ["key", "user", "team"] as const) {
      const teamId = `conc-team-${level}`;
      const userId = `conc-user-${level}`;
      await gw.admin("POST", "/v1/teams", { team_id: teamId, ...(level === "team" ? { max_concurrent: 1 } : {}) });
      await gw.admin("POST", "/v1/users", {
        user_id: userId,
        team_id: teamId,
        ...(level === "user" ? { max_concurrent: 1 } : {}),
      });
      const { key } = await gw.createKey({ user_id: userId, ...(level === "key" ? { max_concurrent: 1 } : {}) });
      const one = () => post(gw, "/v1/chat/completions", key, { model: CHAT, messages: PROMPT, max_tokens: 10 });

      // A stream held open: a second request is refused naming the level that is full.
      const ctrl = new AbortController();
      const slow = await post(
        gw,
        "/v1/chat/completions",
        key,
        { model: `${CHAT}+interval-200`, messages: PROMPT, max_tokens: 10, stream: true },
        {},
        ctrl.signal,
      );
      expect(slow.status).toBe(200);
      const reader = slow.body!.getReader();
      await reader.read();
      const busy = await one();
      expect(busy.status).toBe(429);
      expect(busy.headers.get("retry-after")).toBe("1");
      expect(busy.headers.get("x-ratelimit-scope")).toBe(level);
      expect(busy.headers.get("x-ratelimit-limit-type")).toBe("concurrency");
      expect(((await busy.json()) as { error: Row }).error["code"]).toBe("concurrency_limit_exceeded");
      // The client leaves mid-stream: its slot comes back.
      ctrl.abort();
      await reader.cancel().catch(() => undefined);
      expect(await waitFor(async () => (await one()).status === 200, 5000)).toBe(true);
      // An upstream failure, a refusal after the limits (unknown pricing is fine; a 402 needs require_pricing, so
      // a blocked-by-allow-list model), and a stream read to its end: each gives its slot back.
      expect(
        (await post(gw, "/v1/chat/completions", key, { model: "openai:error-500", messages: PROMPT })).status,
      ).toBe(502);
      expect((await post(gw, "/v1/chat/completions", key, { model: "nope:thing", messages: PROMPT })).status).toBe(400);
      const streamed = await post(gw, "/v1/chat/completions", key, {
        model: CHAT,
        messages: PROMPT,
        max_tokens: 10,
        stream: true,
      });
      await streamed.text();
      const after = await one();
      await after.arrayBuffer();
      expect({ level, status: after.status }).toEqual({ level, status: 200 });
    }
  });

  test("rate-limit rules: per model of one provider, per team; the 429 names the rule", async () => {
    await gw.admin("POST", "/v1/teams", { team_id: "rules-team" });
    await gw.admin("POST", "/v1/users", { user_id: "rules-user", team_id: "rules-team" });
    const { key } = await gw.createKey({ user_id: "rules-user" });
    const rule = await gw.admin<Row>("POST", "/v1/rate-limits", {
      scope: "team",
      scope_id: "rules-team",
      model: CHAT,
      rpm: 2,
    });
    const chat = () => post(gw, "/v1/chat/completions", key, { model: CHAT, messages: PROMPT, max_tokens: 5 });
    expect((await chat()).status).toBe(200);
    expect((await chat()).status).toBe(200);
    const third = await chat();
    expect(third.status).toBe(429);
    expect(third.headers.get("x-ratelimit-rule")).toBe(String(rule["id"]));
    expect(third.headers.get("x-ratelimit-scope")).toBe("team");
    expect(third.headers.get("x-ratelimit-scope-id")).toBe("rules-team");
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Another model is not counted by the rule.
    const other = await post(gw, "/v1/embeddings", key, { model: "openai:text-embedding-3-small", input: "abc" });
    expect(other.status).toBe(200);
    await gw.admin("DELETE", `/v1/rate-limits/${rule["id"]}`);
  });

  test("spend alerts fire from settlement: a team crossing its threshold is posted once, then once refusing", async () => {
    const posts: Row[] = [];
    const hook = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        posts.push((await req.json()) as Row);
        return new Response("ok");
      },
    });
    try {
      const l = await seed("alerts", 100);
      // One call (estimate 0.034 USD, cost 0.017 USD) fits the team's cap and crosses 40 % of it; the next is refused.
      await gw.admin("PATCH", `/v1/budgets/${l.budgets.team}`, { max_budget: 0.04 });
      const rule = await gw.admin<Row>("POST", "/v1/alerts", {
        scope: "team",
        scope_id: l.teamId,
        thresholds: [40],
        url: `http://127.0.0.1:${hook.port}/hook`,
      });
      const chat = () => post(gw, "/v1/chat/completions", l.key, ROUTES[0]![2](l.endUser));
      expect((await chat()).status).toBe(200);
      const ofType = (type: string) => posts.filter((p) => p["type"] === type && p["subject_id"] === l.teamId);
      expect(await waitFor(() => ofType("budget.threshold").length > 0, 15_000, 100)).toBe(true);
      expect((await chat()).status).toBe(403);
      expect(await waitFor(() => ofType("budget.refusing").length > 0, 15_000, 100)).toBe(true);
      expect((await chat()).status).toBe(403);
      // Another settlement and refusal later: still one alert of each for this window.
      await Bun.sleep(300);
      expect(ofType("budget.threshold")).toHaveLength(1);
      expect(ofType("budget.threshold")[0]).toMatchObject({ level: "team", threshold: 40, max_budget: 0.04 });
      expect(ofType("budget.refusing")).toHaveLength(1);
      // The rule's delivery history: both alerts, newest first, delivered on the first post.
      const history = await gw.admin<Row[]>("GET", `/v1/alerts/${rule["id"]}/deliveries`);
      expect(history.map((d) => [d["type"], d["threshold"], d["status"], d["attempts"], d["subject_id"]])).toEqual([
        ["budget.refusing", null, "delivered", 1, l.teamId],
        ["budget.threshold", 40, "delivered", 1, l.teamId],
      ]);
      expect(history[1]).toMatchObject({ level: "team", max_budget: 0.04, last_error: null });
      expect(await gw.admin<Row[]>("GET", `/v1/alerts/${rule["id"]}/deliveries?status=failed`)).toEqual([]);
      expect(await gw.admin<Row[]>("GET", `/v1/alerts/${rule["id"]}/deliveries?limit=1`)).toHaveLength(1);
    } finally {
      hook.stop(true);
    }
  }, 40_000);

  test("allow-lists narrow team -> user -> key; a blocked team refuses its members", async () => {
    await gw.admin("POST", "/v1/teams", { team_id: "narrow-team", allowed_models: ["openai:*"] });
    await gw.admin("POST", "/v1/users", { user_id: "narrow-user", allowed_models: [CLAUDE] });
    const { key } = await gw.createKey({ user_id: "narrow-user" });
    // Moving the user into a team whose list excludes the user's models is accepted (not a 4xx)...
    expect((await gw.admin<Row>("PATCH", "/v1/users/narrow-user", { team_id: "narrow-team" }))["team_id"]).toBe(
      "narrow-team",
    );
    // ...and the narrower combination applies (nothing here).
    const claude = await post(gw, "/v1/chat/completions", key, { model: CLAUDE, messages: PROMPT, max_tokens: 5 });
    expect(claude.status).toBe(403);
    expect(((await claude.json()) as { error: Row }).error["code"]).toBe("model_not_allowed");
    const listed = async () => {
      const res = await fetch(`${gw.base}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      return ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id);
    };
    // The model list narrows the same way: nothing is on both lists.
    expect((await listed()).filter((id) => id === CHAT || id === CLAUDE)).toEqual([]);
    await gw.admin("PATCH", "/v1/users/narrow-user", { allowed_models: ["openai:*"] });
    const ok = await post(gw, "/v1/chat/completions", key, { model: CHAT, messages: PROMPT, max_tokens: 5 });
    expect(ok.status).toBe(200);
    const models = await listed();
    expect(models).toContain(CHAT);
    expect(models).not.toContain(CLAUDE);
    await gw.admin("PATCH", "/v1/teams/narrow-team", { blocked: true });
    const blocked = await post(gw, "/v1/chat/completions", key, { model: CHAT, messages: PROMPT, max_tokens: 5 });
    expect(blocked.status).toBe(403);
    const err = ((await blocked.json()) as { error: Row }).error;
    expect(err["code"]).toBe("team_blocked");
    expect(err["message"]).toBe("Team 'narrow-team' is blocked");
  });
});
