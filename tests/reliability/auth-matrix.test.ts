/**
 * The auth matrix (SPEC §2, §4.3): every route × every credential form — each header of §2.1 with and without
 * `Bearer `, none, empty, garbage, a malformed higher-priority header over a valid lower one, the master key, and
 * virtual keys active / inactive / expired / deleted / rotated (old and new) / another user's naming a different
 * user. Each case gets its expected status, and no virtual key ever performs a management action.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createSqliteDatabase, type TestDatabase } from "../helpers/db";
import { MASTER_KEY, startTestGateway, type TestGateway } from "../helpers/gateway";
import { report } from "./_harness";

type Kind = "public" | "km" | "master";
interface Route {
  method: string;
  path: string;
  kind: Kind;
  /** Status with a valid credential (master key, or an active key on K|M routes). */
  ok: number;
  body?: () => unknown;
}

const MISSING = "00000000-0000-4000-8000-000000000000";
const hi = [{ role: "user", content: "hi" }];
let n = 0;
const unique = () => `auth-new-${n++}`;

const ROUTES: Route[] = [
  { method: "GET", path: "/health", kind: "public", ok: 200 },
  { method: "GET", path: "/health/liveness", kind: "public", ok: 200 },
  { method: "GET", path: "/health/readiness", kind: "public", ok: 200 },
  { method: "GET", path: "/metrics", kind: "public", ok: 200 },
  {
    method: "POST",
    path: "/v1/chat/completions",
    kind: "km",
    ok: 200,
    body: () => ({ model: "openai:gpt-4o-mini", messages: hi, user: "auth-owner" }),
  },
  {
    method: "POST",
    path: "/v1/messages",
    kind: "km",
    ok: 200,
    body: () => ({
      model: "anthropic:claude-3-5-haiku",
      max_tokens: 8,
      messages: hi,
      metadata: { user_id: "auth-owner" },
    }),
  },
  {
    method: "POST",
    path: "/v1/messages/count_tokens",
    kind: "km",
    ok: 200,
    body: () => ({ model: "anthropic:claude-3-5-haiku", messages: hi }),
  },
  {
    method: "POST",
    path: "/v1/batches",
    kind: "km",
    ok: 200,
    body: () => ({ model: "openai:gpt-4o-mini", requests: [{ custom_id: "a", body: { messages: hi } }] }),
  },
  { method: "GET", path: "/v1/batches?provider=openai", kind: "km", ok: 200 },
  {
    method: "POST",
    path: "/v1/responses",
    kind: "km",
    ok: 200,
    body: () => ({ model: "openai:gpt-4o-mini", input: "hi", user: "auth-owner" }),
  },
  {
    method: "POST",
    path: "/v1/embeddings",
    kind: "km",
    ok: 200,
    body: () => ({ model: "openai:text-embedding-3-small", input: "hi", user: "auth-owner" }),
  },
  {
    method: "POST",
    path: "/v1/moderations",
    kind: "km",
    ok: 200,
    body: () => ({ model: "openai:omni-moderation-latest", input: "hi", user: "auth-owner" }),
  },
  { method: "GET", path: "/v1/models", kind: "km", ok: 200 },
  { method: "GET", path: "/v1/pricing", kind: "km", ok: 200 },
  { method: "GET", path: "/v1/pricing/openai:gpt-4o-mini", kind: "km", ok: 200 },
  { method: "GET", path: "/v1/pricing/openai:gpt-4o-mini/history", kind: "km", ok: 200 },
  {
    method: "POST",
    path: "/v1/pricing",
    kind: "master",
    ok: 200,
    body: () => ({ model_key: `openai:${unique()}`, input_price_per_million: 1, output_price_per_million: 1 }),
  },
  { method: "DELETE", path: "/v1/pricing/openai:missing-model", kind: "master", ok: 404 },
  { method: "POST", path: "/v1/keys", kind: "master", ok: 200, body: () => ({ user_id: "auth-scratch" }) },
  { method: "GET", path: "/v1/keys", kind: "master", ok: 200 },
  { method: "GET", path: `/v1/keys/${MISSING}`, kind: "master", ok: 404 },
  { method: "PATCH", path: `/v1/keys/${MISSING}`, kind: "master", ok: 404, body: () => ({ key_name: "x" }) },
  { method: "DELETE", path: `/v1/keys/${MISSING}`, kind: "master", ok: 404 },
  { method: "POST", path: `/v1/keys/${MISSING}/rotate`, kind: "master", ok: 404 },
  { method: "POST", path: "/v1/users", kind: "master", ok: 200, body: () => ({ user_id: unique() }) },
  { method: "GET", path: "/v1/users", kind: "master", ok: 200 },
  { method: "GET", path: "/v1/users/auth-missing", kind: "master", ok: 404 },
  { method: "PATCH", path: "/v1/users/auth-missing", kind: "master", ok: 404, body: () => ({ alias: "x" }) },
  { method: "DELETE", path: "/v1/users/auth-missing", kind: "master", ok: 404 },
  { method: "GET", path: "/v1/users/auth-owner/usage", kind: "master", ok: 200 },
  { method: "POST", path: "/v1/budgets", kind: "master", ok: 200, body: () => ({ max_budget: 5 }) },
  { method: "GET", path: "/v1/budgets", kind: "master", ok: 200 },
  { method: "GET", path: `/v1/budgets/${MISSING}`, kind: "master", ok: 404 },
  { method: "PATCH", path: `/v1/budgets/${MISSING}`, kind: "master", ok: 404, body: () => ({ max_budget: 1 }) },
  { method: "DELETE", path: `/v1/budgets/${MISSING}`, kind: "master", ok: 404 },
  { method: "GET", path: "/v1/usage", kind: "master", ok: 200 },
  { method: "GET", path: "/trpc/users.list", kind: "master", ok: 200 },
  { method: "POST", path: "/trpc/users.create", kind: "master", ok: 200, body: () => ({ user_id: unique() }) },
];

/** How a credential form should fare: as the master key, as a usable virtual key, or refused outright. */
type Outcome = "master" | "key" | "refused";
interface Credential {
  name: string;
  headers: () => Record<string, string>;
  outcome: Outcome;
}

let db: TestDatabase;
let gw: TestGateway;
const keys: Record<string, { key: string; id: string }> = {};

beforeAll(async () => {
  db = await createSqliteDatabase();
  gw = await startTestGateway(db, { enable_metrics: true });
  await gw.admin("POST", "/v1/pricing", {
    model_key: "openai:gpt-4o-mini",
    input_price_per_million: 1,
    output_price_per_million: 1,
  });
  for (const u of ["auth-owner", "auth-other", "auth-scratch"]) await gw.admin("POST", "/v1/users", { user_id: u });
  for (const name of ["active", "inactive", "expired", "deleted", "rotated", "other"]) {
    const k = await gw.createKey({ user_id: name === "other" ? "auth-other" : "auth-owner", key_name: name });
    keys[name] = { key: k.key, id: k.id };
  }
  await gw.admin("PATCH", `/v1/keys/${keys.inactive!.id}`, { is_active: false });
  await gw.admin("PATCH", `/v1/keys/${keys.expired!.id}`, { expires_at: new Date(Date.now() - 60_000).toISOString() });
  await gw.admin("DELETE", `/v1/keys/${keys.deleted!.id}`);
  const rotated = await gw.admin<{ key: string }>("POST", `/v1/keys/${keys.rotated!.id}/rotate`);
  keys["rotated-old"] = keys.rotated!;
  keys["rotated-new"] = { key: rotated.key, id: keys.rotated!.id };
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await db?.drop();
});

function credentials(): Credential[] {
  const out: Credential[] = [
    { name: "none", headers: () => ({}), outcome: "refused" },
    { name: "empty Authorization", headers: () => ({ authorization: "" }), outcome: "refused" },
    { name: "garbage bearer", headers: () => ({ authorization: "Bearer not-a-key" }), outcome: "refused" },
    { name: "garbage gw- key", headers: () => ({ authorization: `Bearer gw-${"x".repeat(64)}` }), outcome: "refused" },
    {
      name: "Basic scheme",
      headers: () => ({ authorization: `Basic ${btoa(`user:${MASTER_KEY}`)}` }),
      outcome: "refused",
    },
    {
      name: "malformed Otari-Key over a valid Authorization",
      headers: () => ({ "otari-key": MASTER_KEY, authorization: `Bearer ${MASTER_KEY}` }),
      outcome: "refused",
    },
    {
      name: "Otari-Key beats Authorization (key over master)",
      headers: () => ({ "otari-key": `Bearer ${keys.active!.key}`, authorization: `Bearer ${MASTER_KEY}` }),
      outcome: "key",
    },
  ];
  for (const header of ["otari-key", "anyllm-key", "x-anyllm-key", "authorization"]) {
    for (const [who, outcome] of [
      ["master", "master"],
      ["active", "key"],
    ] as const) {
      const token = () => (who === "master" ? MASTER_KEY : keys.active!.key);
      out.push({ name: `${header}: Bearer <${who}>`, headers: () => ({ [header]: `Bearer ${token()}` }), outcome });
      out.push({
        name: `${header}: <${who}> without Bearer`,
        headers: () => ({ [header]: token() }),
        outcome: "refused",
      });
    }
  }
  for (const [who, outcome] of [
    ["master", "master"],
    ["active", "key"],
  ] as const) {
    const token = () => (who === "master" ? MASTER_KEY : keys.active!.key);
    out.push({ name: `x-api-key: <${who}>`, headers: () => ({ "x-api-key": token() }), outcome });
    out.push({ name: `x-api-key: Bearer <${who}>`, headers: () => ({ "x-api-key": `Bearer ${token()}` }), outcome });
  }
  for (const state of ["inactive", "expired", "deleted", "rotated-old"]) {
    out.push({
      name: `${state} key`,
      headers: () => ({ authorization: `Bearer ${keys[state]!.key}` }),
      outcome: "refused",
    });
  }
  out.push({
    name: "rotated-new key",
    headers: () => ({ authorization: `Bearer ${keys["rotated-new"]!.key}` }),
    outcome: "key",
  });
  out.push({
    name: "another user's key naming auth-owner",
    headers: () => ({ authorization: `Bearer ${keys.other!.key}` }),
    outcome: "key",
  });
  return out;
}

function expected(route: Route, outcome: Outcome): number {
  if (route.kind === "public") return route.ok;
  if (outcome === "master") return route.ok;
  if (outcome === "key" && route.kind === "km") return route.ok;
  return 401;
}

async function send(route: Route, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const body = route.body?.();
  const res = await fetch(gw.base + route.path, {
    method: route.method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

const counts = async () => {
  const rows = await db.store.query<{ t: string; n: unknown }>(
    "SELECT 'keys' AS t, COUNT(*) AS n FROM api_keys UNION ALL SELECT 'users', COUNT(*) FROM users UNION ALL SELECT 'budgets', COUNT(*) FROM budgets UNION ALL SELECT 'pricing', COUNT(*) FROM model_pricing",
  );
  return Object.fromEntries(rows.map((r) => [r.t, Number(r.n)]));
};

test("every route × every credential form gets its expected status", async () => {
  const creds = credentials();
  const mismatches: string[] = [];
  let cases = 0;
  const before = await counts();
  let masterCreates = { keys: 0, users: 0, budgets: 0, pricing: 0 };
  for (const route of ROUTES) {
    for (const cred of creds) {
      cases++;
      const r = await send(route, cred.headers());
      const want = expected(route, cred.outcome);
      if (r.status !== want)
        mismatches.push(
          `${route.method} ${route.path} with ${cred.name}: ${r.status} (want ${want}) ${r.text.slice(0, 160)}`,
        );
      if (want === 401 && r.status === 401 && !route.path.startsWith("/trpc")) {
        const detail = (JSON.parse(r.text) as { detail: string }).detail;
        // A virtual key on a master-only route is told it is not the master key (SPEC §13 item 2).
        if (route.kind === "master" && cred.outcome === "key" && detail !== "Invalid master key")
          mismatches.push(`${route.method} ${route.path} with ${cred.name}: detail ${detail}`);
      }
      if (r.status === 200 && route.kind === "master" && route.method === "POST") {
        const t = route.path.includes("keys")
          ? "keys"
          : route.path.includes("budgets")
            ? "budgets"
            : route.path.includes("pricing")
              ? "pricing"
              : "users";
        masterCreates = { ...masterCreates, [t]: masterCreates[t] + 1 };
      }
    }
  }
  // Nothing was created except by the master key.
  const after = await counts();
  for (const t of ["keys", "users", "budgets", "pricing"] as const)
    expect(after[t]! - before[t]!).toBe(masterCreates[t]);
  report("auth matrix", {
    routes: ROUTES.length,
    credential_forms: creds.length,
    cases,
    mismatches: mismatches.length,
  });
  expect(mismatches).toEqual([]);
}, 60_000);

test("no virtual key (in any state) can change or delete a real key, user, budget or price", async () => {
  const budget = await gw.admin<{ budget_id: string }>("POST", "/v1/budgets", { max_budget: 3 });
  const before = await counts();
  const owner = await gw.admin<Record<string, unknown>>("GET", "/v1/users/auth-owner");
  const actions: [string, string, unknown?][] = [
    ["DELETE", "/v1/users/auth-owner"],
    ["PATCH", "/v1/users/auth-owner", { blocked: true }],
    ["DELETE", `/v1/keys/${keys.active!.id}`],
    ["PATCH", `/v1/keys/${keys.inactive!.id}`, { is_active: true }],
    ["POST", `/v1/keys/${keys.active!.id}/rotate`],
    ["PATCH", `/v1/budgets/${budget.budget_id}`, { max_budget: 1000 }],
    ["DELETE", `/v1/budgets/${budget.budget_id}`],
    ["DELETE", "/v1/pricing/openai:gpt-4o-mini"],
    ["POST", "/trpc/keys.revoke", { key_id: keys.active!.id }],
  ];
  let cases = 0;
  for (const name of ["active", "inactive", "expired", "deleted", "rotated-old", "rotated-new", "other"]) {
    for (const [method, path, body] of actions) {
      for (const header of ["authorization", "x-api-key"]) {
        cases++;
        const token = keys[name]!.key;
        const res = await fetch(gw.base + path, {
          method,
          headers: { [header]: header === "x-api-key" ? token : `Bearer ${token}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        expect(res.status).toBe(401);
      }
    }
  }
  expect(await counts()).toEqual(before);
  const ownerAfter = await gw.admin<Record<string, unknown>>("GET", "/v1/users/auth-owner");
  expect(ownerAfter["blocked"]).toBe(owner["blocked"]);
  expect((await gw.admin<Record<string, unknown>>("GET", `/v1/keys/${keys.inactive!.id}`))["is_active"]).toBe(false);
  expect(
    (await fetch(`${gw.base}/v1/models`, { headers: { authorization: `Bearer ${keys.active!.key}` } })).status,
  ).toBe(200);
  report("auth management refusals", { cases });
}, 30_000);
