/**
 * The console in Chromium (playwright-core driving Debian's /usr/bin/chromium) against the compiled binary, seeded
 * through real inference calls to a mock upstream: sign in (the master key is not kept by the browser); overview
 * and usage numbers equal the API's; create a key and see its secret once (and copy it); revoke it and see the API
 * refuse it; change a budget and see /v1/budgets reflect it; a request without the CSRF token is refused; markup
 * in key names, aliases and model names shows as text; axe-core finds no serious or critical violation on any page
 * in light or dark; screenshots of every page (light, dark, phone) go to test-artifacts/console/; logout ends the
 * session. One browser and one binary for the whole file.
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
const dialogs: string[] = [];

const cardValue = async (testId: string) =>
  (await page.getByTestId(testId).locator(".card-value").textContent())?.trim();

beforeAll(async () => {
  mock = startOpenAIMock();
  const dir = tempDir("gw-console-");
  const config = writeConfig(
    dir,
    baseConfig(`sqlite:///${join(dir, "gw.db")}`, { providers: openaiProvider(mock.apiBase) }),
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
  await admin(gw.url, "POST", "/v1/users", { user_id: "alice", alias: MARKUP_ALIAS, budget_id: budgetId });
  await admin(gw.url, "POST", "/v1/users", { user_id: "bob" });
  const keys = [
    (await admin<{ key: string }>(gw.url, "POST", "/v1/keys", { user_id: "alice", key_name: MARKUP_KEY })).key,
    (await admin<{ key: string }>(gw.url, "POST", "/v1/keys", { user_id: "bob", key_name: "bob's key" })).key,
  ];
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
    await page.getByRole("row").filter({ hasText: budgetId }).filter({ hasText: "$12.50" }).waitFor();
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
  }, 120_000);

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
