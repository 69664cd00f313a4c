/**
 * `usage [list]|summary|series|export` (docs/cli.md#usage): the records GET /v1/usage returns, with the same filters,
 * newest first (keyset pages with --cursor), and the analytics twins of /v1/usage/summary, /v1/usage/series and
 * /v1/usage/export.csv. `gateway usage` alone lists, as it always did.
 */
import { createWriteStream } from "node:fs";
import { Writable } from "node:stream";
import { defineCommand } from "citty";
import { consola } from "consola";
import { exportQuery, seriesQuery, summaryQuery } from "../core/schemas/analytics";
import { usageQuery } from "../core/schemas/usage";
import { commonArgs, jsonArg, pageArgs } from "./_args";
import { openRuntime, parseInput, runCommand, fail } from "./_run";
import { printTable, usd } from "./_table";
import { intFlag, pageFlags, parseFlags } from "./_usage";

const filterArgs = {
  "user-id": { type: "string", description: "Only this user" },
  "api-key-id": { type: "string", description: "Only this key" },
  "end-user-id": { type: "string", description: "Only this end user (the `user` a virtual key's request carried)" },
  "team-id": { type: "string", description: "Only this team (the billed user's team when the request was made)" },
  model: { type: "string", description: "Only this model" },
  provider: { type: "string", description: "Only this provider" },
  status: { type: "string", description: "success | error" },
} as const;

const rangeArgs = {
  start: { type: "string", description: "From this time (ISO 8601 or Unix epoch seconds)" },
  end: { type: "string", description: "Until this time (ISO 8601 or Unix epoch seconds)" },
} as const;

type FilterFlags = { [K in keyof typeof filterArgs]?: string };

const filters = (args: FilterFlags) => ({
  user_id: args["user-id"],
  api_key_id: args["api-key-id"],
  end_user_id: args["end-user-id"],
  team_id: args["team-id"],
  model: args.model,
  provider: args.provider,
  status: args.status,
});

const listArgs = {
  ...commonArgs,
  ...jsonArg,
  ...pageArgs,
  ...rangeArgs,
  ...filterArgs,
  endpoint: { type: "string", description: "Only this endpoint (e.g. /v1/chat/completions)" },
  cursor: { type: "string", description: "Keyset page: the cursor the previous page printed (newest first)" },
} as const;

const listCommand = defineCommand({
  meta: { name: "list", description: "Show usage records, newest first (the default)" },
  args: listArgs,
  run: ({ args }) => {
    const query = parseFlags(args, () => ({
      ...pageFlags(args),
      start_date: args.start,
      end_date: args.end,
      ...filters(args),
      endpoint: args.endpoint,
      cursor: args.cursor,
    }));
    return runCommand(
      args,
      ({ services }) => services.usage.page(parseInput(usageQuery, query)),
      (page) => {
        printTable(
          page.items,
          [
            ["TIME", (u) => u.timestamp],
            ["USER", (u) => u.user_id],
            ["MODEL", (u) => (u.provider ? `${u.provider}:${u.model}` : u.model)],
            ["ENDPOINT", (u) => u.endpoint],
            ["TOKENS", (u) => u.total_tokens],
            ["COST", (u) => (u.cost === null ? null : usd(u.cost))],
            ["STATUS", (u) => u.status],
          ],
          "No usage records.",
        );
        if (page.next_cursor) consola.info(`More rows: --cursor ${page.next_cursor}`);
      },
      // --json prints what GET /v1/usage returns: the rows.
      (page) => page.items,
    );
  },
});

const summaryCommand = defineCommand({
  meta: { name: "summary", description: "Usage totals over a range, overall and per group (GET /v1/usage/summary)" },
  args: {
    ...commonArgs,
    ...jsonArg,
    ...rangeArgs,
    ...filterArgs,
    "group-by": {
      type: "string",
      description: "user | key | end_user | model | provider | status | status_code | team",
    },
    "order-by": { type: "string", description: "cost (default) | requests | tokens | errors" },
    limit: { type: "string", description: "Groups to show (1..1000, default 100)" },
  },
  run: ({ args }) => {
    const query = parseFlags(args, () => ({
      start: args.start,
      end: args.end,
      ...filters(args),
      group_by: args["group-by"],
      order_by: args["order-by"],
      limit: intFlag("limit", args.limit),
    }));
    return runCommand(
      args,
      ({ services }) => services.analytics.summary(parseInput(summaryQuery, query)),
      (s) => {
        const t = s.totals;
        consola.info(
          `${s.start} .. ${s.end}: ${t.requests} requests, ${t.errors} errors, ${t.total_tokens} tokens, ${usd(t.cost)}`,
        );
        if (s.group_by) {
          printTable(s.groups, [
            [s.group_by.toUpperCase(), (g) => g.key ?? "(none)"],
            ["LABEL", (g) => g.label],
            ["REQUESTS", (g) => g.requests],
            ["ERRORS", (g) => g.errors],
            ["TOKENS", (g) => g.total_tokens],
            ["COST", (g) => usd(g.cost)],
            ["P95_MS", (g) => g.latency_p95_ms],
          ]);
        }
      },
    );
  },
});

const seriesCommand = defineCommand({
  meta: { name: "series", description: "A usage metric per time bucket, zero-filled (GET /v1/usage/series)" },
  args: {
    ...commonArgs,
    ...jsonArg,
    ...rangeArgs,
    ...filterArgs,
    bucket: { type: "string", description: "minute | hour (default) | day" },
    metric: { type: "string", description: "requests (default) | tokens | cost | errors | latency_p50 | latency_p95" },
    "group-by": {
      type: "string",
      description: "user | key | end_user | model | provider | status | status_code | team",
    },
    top: { type: "string", description: "With --group-by: groups with a series of their own (1..20, default 5)" },
  },
  run: ({ args }) => {
    const query = parseFlags(args, () => ({
      start: args.start,
      end: args.end,
      ...filters(args),
      bucket: args.bucket,
      metric: args.metric,
      group_by: args["group-by"],
      top: intFlag("top", args.top),
    }));
    return runCommand(
      args,
      ({ services }) => services.analytics.series(parseInput(seriesQuery, query)),
      (s) =>
        printTable(
          s.timestamps.map((t, i) => ({ t, i })),
          [
            ["TIME", (r) => r.t],
            ...s.series.map(
              (x) =>
                [
                  x.kind === "group" ? (x.label ?? x.key ?? "(none)") : x.kind.toUpperCase(),
                  (r: { i: number }) => x.values[r.i],
                ] as [string, (r: { i: number }) => number | null],
            ),
          ],
        ),
    );
  },
});

const exportCommand = defineCommand({
  meta: { name: "export", description: "Usage records as CSV, streamed (GET /v1/usage/export.csv)" },
  args: {
    ...commonArgs,
    ...rangeArgs,
    ...filterArgs,
    endpoint: { type: "string", description: "Only this endpoint" },
    output: { type: "string", alias: "o", description: "Write to this file (default: stdout)" },
  },
  run: async ({ args }) => {
    const query = parseFlags({ json: false }, () => ({
      start_date: args.start,
      end_date: args.end,
      ...filters(args),
      endpoint: args.endpoint,
    }));
    try {
      const rt = await openRuntime(args);
      try {
        const csv = rt.services.usage.exportCsv(parseInput(exportQuery, query));
        const sink = args.output ? createWriteStream(args.output) : process.stdout;
        await csv.pipeTo(Writable.toWeb(sink) as WritableStream<Uint8Array>);
      } finally {
        await rt.store.close();
      }
    } catch (err) {
      fail(err, false);
    }
  },
});

export const usageCommand = defineCommand({
  meta: { name: "usage", description: "Usage records (list, the default), summaries, series and the CSV export" },
  args: listArgs,
  default: "list",
  subCommands: { list: listCommand, summary: summaryCommand, series: seriesCommand, export: exportCommand },
});

export const overviewCommand = defineCommand({
  meta: { name: "overview", description: "Spend, traffic, keys, budget health and top spenders (GET /v1/overview)" },
  args: { ...commonArgs, ...jsonArg, ...rangeArgs },
  run: ({ args }) =>
    runCommand(
      args,
      ({ services }) =>
        services.analytics.overview({
          start: args.start ? parseInput(summaryQuery.shape.start, args.start) : undefined,
          end: args.end ? parseInput(summaryQuery.shape.end, args.end) : undefined,
        }),
      (o) => {
        consola.info(`Spend today ${usd(o.spend_today)}, this month ${usd(o.spend_month)}`);
        consola.info(
          `${o.window.start} .. ${o.window.end}: ${o.window.requests} requests, error rate ${(o.window.error_rate * 100).toFixed(2)} %, ${usd(o.window.cost)}`,
        );
        consola.info(`Keys: ${o.keys.active} active of ${o.keys.total}, ${o.keys.used_in_window} used`);
        for (const h of o.budget_health)
          consola.info(
            `Budgets (${h.level}): ${h.with_budget} capped, ${h.above_80} above 80 %, ${h.exhausted} exhausted, ${h.blocked} blocked`,
          );
        printTable(o.top_models, [
          ["TOP MODEL", (m) => m.key],
          ["REQUESTS", (m) => m.requests],
          ["COST", (m) => usd(m.cost)],
        ]);
      },
    ),
});
