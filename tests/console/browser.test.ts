/**
 * The console in Chromium (playwright-core driving Debian's /usr/bin/chromium) against the compiled binary, seeded
 * through real inference calls to a mock upstream: sign in (the master key is not kept by the browser); overview
 * and usage numbers equal the API's; create a key and see its secret once (and copy it); revoke it and see the API
 * refuse it; change a budget and see /v1/budgets reflect it; assign a key's budget and end-user budget (and a
 * team's) and see /v1/keys, /v1/end-users and /v1/teams reflect it; add, edit and delete rate-limit rules and alerts
 * (and send a test alert to a webhook) and see /v1/rate-limits and /v1/alerts reflect them, a config.yml rule
 * read-only; auto-refresh shows new requests without a reload; a request without the CSRF token is refused; markup in key names, aliases and model names shows as
 * text; axe-core finds no serious or critical violation on any page in light or dark; screenshots of every page
 * (light, dark, phone) go to test-artifacts/console/; logout ends the session. One browser and one binary for the
 * whole file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type MockServer, startOpenAIMock } from "../../src/providers/_mocks";
import {
  admin,
  baseConfig,
  call,
  type GatewayProc,
  killAll,
  MASTER,
  openaiProvider,
  spawnGateway,
  tempDir,
  until,
  writeConfig,
} from "../reliability/_harness";
import { ROOT } from "../e2e/_gateway";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts", "console");
const MARKUP_KEY = "<img src=x onerror=alert(1)>";
const MARKUP_ALIAS = "<b>Alice</b>";
const MARKUP_MODEL = "openai:<svg onload=alert(2)>";
const PAGES: [string, string][] = [
  ["overview", "/ui"],
  ["usage", "/ui/usage"],
  ["requests", "/ui/requests"],
  ["keys", "/ui/keys"],
  ["users", "/ui/users"],
  ["teams", "/ui/teams"],
  ["budgets", "/ui/budgets"],
  ["rate-limits", "/ui/rate-limits"],
  ["alerts", "/ui/alerts"],
  ["pricing", "/ui/pricing"],
  ["providers", "/ui/providers"],
  ["settings", "/ui/settings"],
];

/** How the console formats counts and money (src/ui/format.ts), to compare screen and API. */
const fmtInt = (n: number) => new Intl.NumberFormat("en-US").format(n);
const fmtUsd = (n: number) => {
  const digits = n !== 0 && Math.abs(n) < 0.01 ? 6 : 2;
  return `$${n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
};

let mock: MockServer;
let gw: GatewayProc;
let context: BrowserContext;
let page: Page;
let userData: string;
let budgetId: string;
let endUserBudgetId: string;
let bobKey: string;
let webhook: ReturnType<typeof Bun.serve>;
const posted: { signature: string | null; body: { type?: string } }[] = [];
const dialogs: string[] = [];

const cardValue = async (testId: string) =>
  (await page.getByTestId(testId).locator(".card-value").textContent())?.trim();

beforeAll(async () => {
  mock = startOpenAIMock();
  const dir = tempDir("gw-console-");
  webhook = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      posted.push({ signature: req.headers.get("x-gateway-signature"), body: (await req.json()) as { type?: string } });
      return new Response("ok");
    },
  });
  const config = writeConfig(
    dir,
    baseConfig(`sqlite:///${join(dir, "gw.db")}`, {
      providers: openaiProvider(mock.apiBase),
      // Shown by the console, read-only; high enough never to refuse this file's calls.
      rate_limits: [{ scope: "global", model: "openai:*", rpm: 100_000 }],
    }),
  );
  gw = await spawnGateway({ cwd: dir, config });
  for (const model of ["openai:gpt-4o-mini", "openai:gpt-4o", MARKUP_MODEL]) {
    await admin(gw.url, "POST", "/v1/pricing", {
      model_key: model,
      input_price_per_million: 2.5,
      output_price_per_million: 10,
    });
  }
  budgetId = (
    await admin<{ budget_id: string }>(gw.url, "POST", "/v1/budgets", { max_budget: 5, budget_duration_sec: 86400 })
  ).budget_id;
  endUserBudgetId = (
    await admin<{ budget_id: string }>(gw.url, "POST", "/v1/budgets", { max_budget: 1, budget_duration_sec: 3600 })
  ).budget_id;
  await admin(gw.url, "POST", "/v1/users", { user_id: "alice", alias: MARKUP_ALIAS, budget_id: budgetId });
  await admin(gw.url, "POST", "/v1/users", { user_id: "bob" });
  const keys = [
    (await admin<{ key: string }>(gw.url, "POST", "/v1/keys", { user_id: "alice", key_name: MARKUP_KEY })).key,
    (await admin<{ key: string }>(gw.url, "POST", "/v1/keys", { user_id: "bob", key_name: "bob's key" })).key,
  ];
  bobKey = keys[1]!;
  const models = ["openai:gpt-4o-mini", "openai:gpt-4o", MARKUP_MODEL, "openai:gpt-4o-mini+error-500"];
  for (let i = 0; i < 24; i++) {
    await call(`${gw.url}/v1/chat/completions`, {
      token: keys[i % 2],
      body: {
        model: models[i % models.length],
        messages: [{ role: "user", content: `seed ${i}` }],
        max_tokens: 8,
        ...(i % 3 ? { user: `end-user-${i % 4}` } : {}),
      },
    });
  }
  // Every usage row written before the browser looks.
  await until(
    async () => /^gateway_usage_log_queue_depth 0$/m.test((await call(`${gw.url}/metrics`)).text),
    10_000,
    100,
  );
  mkdirSync(ARTIFACTS, { recursive: true });
  userData = mkdtempSync(join(tmpdir(), "gw-chromium-"));
  context = await chromium.launchPersistentContext(userData, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
    viewport: { width: 1280, height: 860 },
    permissions: ["clipboard-read", "clipboard-write"],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("dialog", (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void (d.type() === "confirm" ? d.accept() : d.dismiss());
  });
}, 120_000);

afterAll(async () => {
  await context?.close();
  if (userData) rmSync(userData, { recursive: true, force: true });
  await killAll();
  await mock?.stop();
  webhook?.stop(true);
});

/** Opens a console page and waits for its data. */
async function open(path: string): Promise<void> {
  await page.goto(gw.url + path);
  await page.locator("main h1").first().waitFor();
  // A function, not a string: the page's CSP forbids the eval a string predicate would need.
  type Doc = { document: { querySelector(s: string): { textContent: string | null } | null } };
  await page.waitForFunction(
    () => !(globalThis as unknown as Doc).document.querySelector("main")?.textContent?.includes("Loading…"),
  );
}

/** axe-core's serious and critical violations on the current page (axe is evaluated over CDP, outside the page's CSP). */
async function axeViolations(): Promise<string[]> {
  await page.evaluate(readFileSync(join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8"));
  // A string, evaluated in the page (this file is typed without the DOM).
  const result = (await page.evaluate(
    "axe.run(document).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => JSON.stringify(n.target)).slice(0, 3) })))",
  )) as { id: string; impact: string | null; targets: string[] }[];
  return result
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}) at ${v.targets.join(", ")}`);
}

describe("the console in Chromium", () => {
  test("sign in; the master key is neither stored nor in the cookie", async () => {
    await page.goto(`${gw.url}/ui`);
    await page.getByLabel("Master key").fill("not the key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "Invalid master key" }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, "sign-in-light.png") });
    await page.getByLabel("Master key").fill(MASTER);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    const storage = await page.evaluate("JSON.stringify({ ...localStorage, ...sessionStorage })");
    expect(storage).not.toContain(MASTER);
    const cookies = await context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite, c.path])).toEqual([
      ["otari_console", true, "Strict", "/ui"],
    ]);
    expect(cookies[0]!.value).not.toContain(MASTER);
  }, 30_000);

  test("overview cards and charts show the API's numbers", async () => {
    await open("/ui");
    await page.getByTestId("card-requests").waitFor();
    const end = new Date(Date.now() + 60_000).toISOString();
    const start = new Date(Date.now() - 86_400_000).toISOString();
    const o = await admin<{
      window: { requests: number; cost: number; errors: number };
      spend_today: number;
      top_models: { key: string }[];
    }>(gw.url, "GET", `/v1/overview?start=${start}&end=${end}`);
    expect(o.window.requests).toBe(24);
    expect(await cardValue("card-requests")).toBe(fmtInt(o.window.requests));
    expect(await cardValue("card-spend-window")).toBe(fmtUsd(o.window.cost));
    expect(await cardValue("card-spend-today")).toBe(fmtUsd(o.spend_today));
    // The chart's data table adds up to the same.
    const chart = page.getByTestId("chart-requests");
    await chart.getByRole("button", { name: "Show data" }).click();
    const cells = await chart.locator("tbody td.num").allTextContents();
    expect(cells.reduce((a, c) => a + Number(c.replace(/[^0-9.]/g, "") || 0), 0)).toBe(o.window.requests);
    await expect(
      page.getByTestId("top-models").getByText(MARKUP_MODEL.slice("openai:".length), { exact: false }).count(),
    ).resolves.toBeGreaterThan(0);
  }, 30_000);

  test("usage cards, chart and table equal the summary; markup in model names and aliases is text", async () => {
    await open("/ui/usage");
    await page.getByTestId("usage-requests").waitFor();
    const end = new Date(Date.now() + 60_000).toISOString();
    const start = new Date(Date.now() - 7 * 86_400_000).toISOString();
    const s = await admin<{
      totals: { requests: number; cost: number; total_tokens: number };
      groups: { key: string; requests: number }[];
    }>(gw.url, "GET", `/v1/usage/summary?start=${start}&end=${end}&group_by=model`);
    expect(await cardValue("usage-requests")).toBe(fmtInt(s.totals.requests));
    expect(await cardValue("usage-cost")).toBe(fmtUsd(s.totals.cost));
    expect(await cardValue("usage-tokens")).toBe(fmtInt(s.totals.total_tokens));
    const table = page.getByRole("region", { name: "Usage by model" });
    for (const g of s.groups)
      await table
        .getByRole("row")
        .filter({ hasText: g.key })
        .filter({ hasText: fmtInt(g.requests) })
        .first()
        .waitFor();
    expect(await page.locator("svg[onload], img[src='x']").count()).toBe(0);
    await open("/ui/users");
    await page.getByText(MARKUP_ALIAS, { exact: true }).waitFor();
    expect(await page.locator("main b").count()).toBe(0);
    await open("/ui/requests");
    await page.getByText(MARKUP_MODEL, { exact: true }).first().waitFor();
    expect(dialogs.filter((d) => d.startsWith("alert"))).toEqual([]);
  }, 30_000);

  test("requests: keyset pages and a detail view", async () => {
    await open("/ui/requests");
    await page.getByRole("region", { name: "Requests, newest first" }).locator("tbody tr").first().waitFor();
    expect(await page.getByRole("region", { name: "Requests, newest first" }).locator("tbody tr").count()).toBe(24);
    await page.getByRole("region", { name: "Requests, newest first" }).getByRole("button").first().click();
    const dialog = page.getByRole("dialog", { name: "Request" });
    await dialog.getByText("Upstream first byte").waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  }, 30_000);

  test("live updates: with auto-refresh on, the overview and the request log show new requests without a reload", async () => {
    const chat = (content: string) =>
      call(`${gw.url}/v1/chat/completions`, {
        token: bobKey,
        body: { model: "openai:gpt-4o-mini", messages: [{ role: "user", content }], max_tokens: 8 },
      });
    const written = () =>
      until(async () => /^gateway_usage_log_queue_depth 0$/m.test((await call(`${gw.url}/metrics`)).text), 10_000, 100);
    await open("/ui");
    expect(await cardValue("card-requests")).toBe(fmtInt(24));
    await page.getByLabel("Auto-refresh").selectOption("5");
    await chat("live 1");
    await written();
    await page
      .getByTestId("card-requests")
      .locator(".card-value")
      .filter({ hasText: fmtInt(25) })
      .waitFor();
    // The choice is kept: the request log refreshes too, on its first page.
    await open("/ui/requests");
    const rows = page.getByRole("region", { name: "Requests, newest first" }).locator("tbody tr");
    expect(await rows.count()).toBe(25);
    expect(await page.getByLabel("Auto-refresh").inputValue()).toBe("5");
    await chat("live 2");
    await written();
    expect(await until(async () => (await rows.count()) === 26, 15_000, 200)).toBe(true);
    await page.getByLabel("Auto-refresh").selectOption("0");
  }, 40_000);

  test("create a key: the secret is shown once, copies, and works; revoke it: the API refuses it", async () => {
    await open("/ui/keys");
    await page.getByRole("button", { name: "New key" }).click();
    const form = page.getByRole("dialog", { name: "New key" });
    await form.getByLabel("Name").fill("browser key");
    await form.getByLabel("User id").fill("bob");
    await form.getByLabel("Requests per minute").fill("100");
    await form.getByRole("button", { name: "Create key" }).click();
    const shown = page.getByRole("dialog", { name: "Save the key now" });
    const secret = (await shown.getByTestId("new-secret").textContent())!;
    expect(secret).toMatch(/^gw-[\w-]{64}$/);
    await shown.getByRole("button", { name: "Copy the key" }).click();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(secret);
    await shown.getByRole("button", { name: "I saved it" }).click();
    await shown.waitFor({ state: "hidden" });
    expect(await page.content()).not.toContain(secret);
    await open("/ui/keys");
    expect(await page.content()).not.toContain(secret);
    const ok = await call(`${gw.url}/v1/chat/completions`, {
      token: secret,
      body: { model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
    });
    expect(ok.status).toBe(200);
    await page.getByRole("button", { name: "Revoke key browser key" }).click();
    await page.getByRole("button", { name: "Revoke key browser key" }).waitFor({ state: "detached" });
    const refused = await call(`${gw.url}/v1/chat/completions`, {
      token: secret,
      body: { model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
    });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text).error.message).toBe("API key is inactive");
    // The markup-named key is listed as text.
    await page.getByRole("cell", { name: MARKUP_KEY, exact: true }).waitFor();
  }, 30_000);

  test("change a budget in the console and /v1/budgets reflects it", async () => {
    await open("/ui/budgets");
    await page.getByRole("button", { name: `Edit budget ${budgetId}` }).click();
    const form = page.getByRole("dialog", { name: "Edit budget" });
    await form.getByLabel("Cap (USD)").fill("12.5");
    await form.getByRole("button", { name: "Save" }).click();
    await form.waitFor({ state: "hidden" });
    await page
      .getByRole("region", { name: "Budgets", exact: true })
      .getByRole("row")
      .filter({ hasText: budgetId })
      .filter({ hasText: "$12.50" })
      .waitFor();
    expect((await admin<{ max_budget: number }>(gw.url, "GET", `/v1/budgets/${budgetId}`)).max_budget).toBe(12.5);
  }, 30_000);

  test("a mutation without the CSRF token is refused; with it, it passes", async () => {
    await open("/ui/keys");
    const statuses = await page.evaluate(async () => {
      const create = (headers: Record<string, string>) =>
        fetch("/ui/api/trpc/keys.create", {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ key_name: "csrf probe" }),
        }).then((r) => r.status);
      const { csrf_token } = (await (await fetch("/ui/api/session")).json()) as { csrf_token: string };
      return {
        without: await create({}),
        wrong: await create({ "x-csrf-token": "0".repeat(64) }),
        with: await create({ "x-csrf-token": csrf_token }),
      };
    });
    expect(statuses).toEqual({ without: 403, wrong: 403, with: 200 });
  }, 30_000);

  test("assign a key's budget and end-user budget on the Budgets page: /v1/keys and /v1/end-users reflect it", async () => {
    await open("/ui/budgets");
    await page.getByRole("button", { name: "Assign budgets to key bob's key" }).click();
    const form = page.getByRole("dialog", { name: "Assign budgets" });
    await form.getByLabel("Budget", { exact: true }).selectOption(budgetId);
    await form.getByLabel("End-user budget").selectOption(endUserBudgetId);
    await form.getByRole("button", { name: "Assign" }).click();
    await form.waitFor({ state: "hidden" });
    const keys = await admin<
      { id: string; key_name: string | null; budget_id: string | null; end_user_budget_id: string | null }[]
    >(gw.url, "GET", "/v1/keys");
    const bobs = keys.find((k) => k.key_name === "bob's key")!;
    expect([bobs.budget_id, bobs.end_user_budget_id]).toEqual([budgetId, endUserBudgetId]);
    const keyTable = page.getByRole("region", { name: "Key budgets" });
    await keyTable
      .getByRole("row")
      .filter({ hasText: "bob's key" })
      .filter({ hasText: `${budgetId}: $12.50` })
      .waitFor();
    // An end user of that key now gets its own window: listed with the API's spend.
    for (let i = 0; i < 2; i++) {
      const r = await call(`${gw.url}/v1/chat/completions`, {
        token: bobKey,
        body: {
          model: "openai:gpt-4o-mini",
          messages: [{ role: "user", content: `eu ${i}` }],
          max_tokens: 8,
          user: "eu-browser",
        },
      });
      expect(r.status).toBe(200);
    }
    await until(
      async () => /^gateway_usage_log_queue_depth 0$/m.test((await call(`${gw.url}/metrics`)).text),
      10_000,
      100,
    );
    const endUsers = await admin<{ end_user_id: string; budget_id: string | null; spend: number }[]>(
      gw.url,
      "GET",
      `/v1/end-users?key_id=${bobs.id}`,
    );
    const eu = endUsers.find((e) => e.end_user_id === "eu-browser")!;
    expect(eu.budget_id).toBe(endUserBudgetId);
    expect(eu.spend).toBeGreaterThan(0);
    await open("/ui/budgets");
    await page.getByLabel("Through key").selectOption(bobs.id);
    await page
      .getByRole("region", { name: "End users" })
      .getByRole("row")
      .filter({ hasText: "eu-browser" })
      .filter({ hasText: `${fmtUsd(eu.spend)} of $1.00` })
      .waitFor();
  }, 60_000);

  test("rate limits: the config.yml rule is read-only; add, edit and delete rules in the browser, as /v1/rate-limits has them", async () => {
    type Rule = {
      id: string;
      scope: string;
      scope_id: string | null;
      model: string | null;
      rpm: number | null;
      max_concurrent: number | null;
      source: string;
    };
    await open("/ui/rate-limits");
    const table = page.getByRole("region", { name: "Rate-limit rules" });
    const fromConfig = table.getByRole("row").filter({ hasText: "config.yml" });
    await fromConfig.filter({ hasText: "read-only" }).waitFor();
    expect(await fromConfig.getByRole("button").count()).toBe(0);
    const add = async (fill: Record<string, string>, scope: string) => {
      await page.getByRole("button", { name: "New rule" }).click();
      const form = page.getByRole("dialog", { name: "New rate-limit rule" });
      await form.getByLabel("Scope", { exact: true }).selectOption(scope);
      for (const [label, value] of Object.entries(fill)) await form.getByLabel(label, { exact: true }).fill(value);
      await form.getByRole("button", { name: "Add rule" }).click();
      await form.waitFor({ state: "hidden" });
    };
    await add(
      { "Scope id": "alice", Model: "openai:*", "Requests per minute": "50", "Requests in flight at once": "2" },
      "user",
    );
    await add({ "Tokens per minute": "900000" }, "global");
    let rules = await admin<Rule[]>(gw.url, "GET", "/v1/rate-limits");
    expect(rules.map((r) => [r.source, r.scope, r.scope_id, r.model, r.rpm, r.max_concurrent]).sort()).toEqual(
      [
        ["api", "global", null, null, null, null],
        ["api", "user", "alice", "openai:*", 50, 2],
        ["config", "global", null, "openai:*", 100_000, null],
      ].sort(),
    );
    await page.getByRole("button", { name: "Edit rule user alice, openai:*" }).click();
    const edit = page.getByRole("dialog", { name: "Edit rate-limit rule" });
    await edit.getByLabel("Requests per minute").fill("60");
    // An emptied limit is removed (the rule keeps its rpm).
    await edit.getByLabel("Requests in flight at once").fill("");
    await edit.getByRole("button", { name: "Save" }).click();
    await edit.waitFor({ state: "hidden" });
    await page.getByRole("button", { name: "Delete rule global, all models" }).click();
    await page.getByRole("button", { name: "Delete rule global, all models" }).waitFor({ state: "detached" });
    rules = await admin<Rule[]>(gw.url, "GET", "/v1/rate-limits");
    expect(rules.filter((r) => r.source === "api").map((r) => [r.scope_id, r.model, r.rpm, r.max_concurrent])).toEqual([
      ["alice", "openai:*", 60, null],
    ]);
    await table.getByRole("row").filter({ hasText: "user alice" }).filter({ hasText: "60" }).waitFor();
    // The API's refusal of a bad rule is shown, and nothing is stored.
    await page.getByRole("button", { name: "New rule" }).click();
    const bad = page.getByRole("dialog", { name: "New rate-limit rule" });
    await bad.getByLabel("Model").fill("openai:gpt-4o");
    await bad.getByRole("button", { name: "Add rule" }).click();
    await bad.getByRole("alert").filter({ hasText: "at least one of rpm, tpm, max_concurrent is required" }).waitFor();
    await page.keyboard.press("Escape");
    expect((await admin<Rule[]>(gw.url, "GET", "/v1/rate-limits")).length).toBe(2);
  }, 60_000);

  test("alerts: add one in the browser, send a test to its webhook (signed), edit it; /v1/alerts has it", async () => {
    type Alert = {
      id: string;
      scope: string;
      scope_id: string | null;
      thresholds: number[];
      url: string;
      format: string;
      has_secret: boolean;
    };
    const url = `http://127.0.0.1:${webhook.port}/hook`;
    await open("/ui/alerts");
    await page.getByRole("button", { name: "New alert" }).click();
    const form = page.getByRole("dialog", { name: "New alert" });
    await form.getByLabel("Level").selectOption("user");
    await form.getByLabel("Subject id").fill("alice");
    await form.getByLabel("Thresholds (% of the budget)").fill("50, 90");
    // Not http(s): the API refuses it, the console shows why.
    await form.getByLabel("Webhook URL").fill("ftp://127.0.0.1/hook");
    await form.getByRole("button", { name: "Add alert" }).click();
    await form.getByRole("alert").filter({ hasText: "must be an http(s) URL" }).waitFor();
    expect(await admin<Alert[]>(gw.url, "GET", "/v1/alerts")).toEqual([]);
    await form.getByLabel("Webhook URL").fill(url);
    await form.getByLabel("Signing secret").fill("s3cret");
    await form.getByRole("button", { name: "Add alert" }).click();
    await form.waitFor({ state: "hidden" });
    const [alert] = await admin<Alert[]>(gw.url, "GET", "/v1/alerts");
    expect(alert).toMatchObject({
      scope: "user",
      scope_id: "alice",
      thresholds: [50, 90],
      url,
      format: "json",
      has_secret: true,
    });
    await page.getByRole("button", { name: `Send test to ${url}` }).click();
    const result = page.getByRole("dialog", { name: "Test alert" });
    await result.getByText("HTTP 200").waitFor();
    await result.getByText("delivered", { exact: true }).waitFor();
    expect(posted.map((p) => [p.body.type, /^t=\d+,v1=[0-9a-f]{64}$/.test(p.signature ?? "")])).toEqual([
      ["test", true],
    ]);
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: `Edit alert to ${url}` }).click();
    const edit = page.getByRole("dialog", { name: "Edit alert" });
    await edit.getByLabel("Thresholds (% of the budget)").fill("75");
    await edit.getByLabel("Format").selectOption("slack");
    await edit.getByLabel("Remove the secret").check();
    await edit.getByRole("button", { name: "Save" }).click();
    await edit.waitFor({ state: "hidden" });
    expect(await admin<Alert>(gw.url, "GET", `/v1/alerts/${alert!.id}`)).toMatchObject({
      thresholds: [75],
      format: "slack",
      has_secret: false,
    });
    await page
      .getByRole("region", { name: "Spend alerts" })
      .getByRole("row")
      .filter({ hasText: "75 %" })
      .filter({ hasText: "unsigned" })
      .waitFor();
    // A rule that fires on bob's next request (any level, a tiny share of its budget): its delivery history shows
    // the alert the webhook received.
    const anyUrl = `${url}?any`;
    const fired = await admin<Alert>(gw.url, "POST", "/v1/alerts", { scope: "any", thresholds: [0.001], url: anyUrl });
    await open("/ui/alerts");
    await page.getByRole("button", { name: `Deliveries of the alert to ${anyUrl}` }).click();
    const history = page.getByRole("dialog", { name: "Alert deliveries" });
    await history.getByText("No alert has fired for this rule yet.").waitFor();
    await page.keyboard.press("Escape");
    await call(`${gw.url}/v1/chat/completions`, {
      token: bobKey,
      body: { model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "alert" }], max_tokens: 8 },
    });
    type Delivery = { status: string; level: string; subject_id: string };
    const delivered = async () =>
      (await admin<Delivery[]>(gw.url, "GET", `/v1/alerts/${fired.id}/deliveries`)).filter(
        (d) => d.status === "delivered",
      );
    expect(await until(async () => (await delivered()).length > 0, 15_000, 100)).toBe(true);
    expect(posted.some((p) => p.body.type === "budget.threshold")).toBe(true);
    const first = (await delivered())[0]!;
    await page.getByRole("button", { name: `Deliveries of the alert to ${anyUrl}` }).click();
    await history
      .getByRole("row")
      .filter({ hasText: `${first.level.replace("_", " ")} ${first.subject_id}` })
      .filter({ hasText: "delivered" })
      .first()
      .waitFor();
    await page.keyboard.press("Escape");
  }, 60_000);

  test("every page: no serious or critical axe violation in light and dark; screenshots in light, dark and on a phone", async () => {
    const problems: string[] = [];
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [name, path] of PAGES) {
        await open(path);
        await page.screenshot({ path: join(ARTIFACTS, `${name}-${scheme}.png`), fullPage: true });
        for (const v of await axeViolations()) problems.push(`${name} (${scheme}): ${v}`);
      }
    }
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, path] of PAGES) {
      await open(path);
      await page.screenshot({ path: join(ARTIFACTS, `${name}-phone.png`), fullPage: true });
      for (const v of await axeViolations()) problems.push(`${name} (phone): ${v}`);
    }
    // The phone menu opens and names the current page.
    await page.getByRole("button", { name: "Menu" }).click();
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Settings" }).waitFor();
    await page.setViewportSize({ width: 1280, height: 860 });
    expect(problems).toEqual([]);
  }, 240_000);

  test("teams: create one in the console; members, window spend and the last day's usage as the API has them", async () => {
    await open("/ui/teams");
    await page.getByRole("button", { name: "New team" }).click();
    const form = page.getByRole("dialog", { name: "New team" });
    await form.getByLabel("Team id").fill("research");
    await form.getByLabel("Alias").fill("Research");
    await form.getByLabel("Requests in flight at once").fill("3");
    await form.getByRole("button", { name: "Create team" }).click();
    await form.waitFor({ state: "hidden" });
    const table = page.getByRole("region", { name: "Teams" });
    await table.getByRole("row").filter({ hasText: "research" }).filter({ hasText: "3 in flight" }).waitFor();
    // A member spends through the gateway: the team's row shows what the API shows.
    await admin(gw.url, "PATCH", "/v1/users/bob", { team_id: "research" });
    const { key } = await admin<{ key: string }>(gw.url, "POST", "/v1/keys", { user_id: "bob" });
    for (let i = 0; i < 2; i++) {
      const r = await call(`${gw.url}/v1/chat/completions`, {
        token: key,
        body: { model: "openai:gpt-4o-mini", messages: [{ role: "user", content: `team ${i}` }], max_tokens: 8 },
      });
      expect(r.status).toBe(200);
    }
    await until(
      async () => /^gateway_usage_log_queue_depth 0$/m.test((await call(`${gw.url}/metrics`)).text),
      10_000,
      100,
    );
    const team = await admin<{ spend: number; members: number }>(gw.url, "GET", "/v1/teams/research");
    expect(team.members).toBe(1);
    expect(team.spend).toBeGreaterThan(0);
    const end = new Date(Date.now() + 60_000).toISOString();
    const start = new Date(Date.now() - 86_400_000).toISOString();
    const day = await admin<{ groups: { key: string; requests: number; cost: number }[] }>(
      gw.url,
      "GET",
      `/v1/usage/summary?start=${start}&end=${end}&group_by=team&team_id=research`,
    );
    expect(day.groups.map((g) => [g.key, g.requests])).toEqual([["research", 2]]);
    await open("/ui/teams");
    const row = table.getByRole("row").filter({ hasText: "research" });
    await row
      .filter({ hasText: fmtUsd(team.spend) })
      .filter({ hasText: fmtUsd(day.groups[0]!.cost) })
      .waitFor();
    expect((await row.locator("td").allTextContents()).map((c) => c.trim())).toContain("2");
    // A team with members is not deleted: the console shows the API's refusal.
    await row.getByRole("button", { name: "Delete team research" }).click();
    await page.getByRole("alert").filter({ hasText: "Team 'research' has 1 member(s)" }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, "teams.png"), fullPage: true });
    // Its budget, assigned on the Budgets page, is the API's.
    await open("/ui/budgets");
    await page.getByRole("button", { name: "Assign budgets to team research" }).click();
    const assign = page.getByRole("dialog", { name: "Assign budgets" });
    expect(await assign.getByLabel("End-user budget").count()).toBe(0);
    await assign.getByLabel("Budget", { exact: true }).selectOption(endUserBudgetId);
    await assign.getByRole("button", { name: "Assign" }).click();
    await assign.waitFor({ state: "hidden" });
    expect((await admin<{ budget_id: string | null }>(gw.url, "GET", "/v1/teams/research")).budget_id).toBe(
      endUserBudgetId,
    );
    await page
      .getByRole("region", { name: "Team budgets" })
      .getByRole("row")
      .filter({ hasText: "research" })
      .filter({ hasText: `${endUserBudgetId}: $1.00` })
      .waitFor();
  }, 60_000);

  test("the theme switch applies and is remembered", async () => {
    await open("/ui");
    await page.getByLabel("Theme").selectOption("dark");
    expect(await page.evaluate("document.documentElement.dataset.theme")).toBe("dark");
    await open("/ui/keys");
    expect(await page.evaluate("document.documentElement.dataset.theme")).toBe("dark");
    await page.getByLabel("Theme").selectOption("system");
  }, 30_000);

  test("logout ends the session: the old cookie is refused", async () => {
    await open("/ui");
    const [cookie] = await context.cookies();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Master key").waitFor();
    const res = await call(`${gw.url}/ui/api/session`, { headers: { cookie: `${cookie!.name}=${cookie!.value}` } });
    expect(res.status).toBe(401);
    expect(await context.cookies()).toEqual([]);
  }, 30_000);
});
