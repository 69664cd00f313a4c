/** `alerts add|list|test|deliveries`: the same service calls as /v1/alerts, without HTTP. */
import { defineCommand } from "citty";
import { consola } from "consola";
import { alertDeliveriesQuery, createAlertRequest } from "../core/schemas/alerts";
import { commonArgs, jsonArg } from "./_args";
import { parseInput, runCommand, UsageError } from "./_run";
import { printTable } from "./_table";
import { intFlag, parseFlags } from "./_usage";

/** `--thresholds 50,80,100` as numbers. */
function thresholdsFlag(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").map((part) => {
    const n = Number(part.trim());
    if (part.trim() === "" || !Number.isFinite(n))
      throw new UsageError(`--thresholds must be comma-separated numbers, got '${value}'`);
    return n;
  });
}

const addCommand = defineCommand({
  meta: { name: "add", description: "Add a spend alert rule" },
  args: {
    ...commonArgs,
    ...jsonArg,
    scope: { type: "string", description: "key, user, team, end_user or any", required: true },
    "scope-id": { type: "string", description: "Only this key/user/team/end-user id" },
    thresholds: { type: "string", description: "Percent of the budget, comma-separated (default 80,100)" },
    url: { type: "string", description: "Webhook URL (http or https)", required: true },
    format: { type: "string", description: "json (default) or slack" },
    secret: { type: "string", description: "Signs each body (X-Gateway-Signature, HMAC-SHA256)" },
  },
  run: ({ args }) => {
    const raw = parseFlags(args, () => ({
      scope: args.scope,
      scope_id: args["scope-id"],
      thresholds: thresholdsFlag(args.thresholds),
      url: args.url,
      format: args.format,
      secret: args.secret,
    }));
    return runCommand(
      args,
      ({ services }) => services.alerts.create(parseInput(createAlertRequest, raw)),
      (rule) => consola.success(`Added alert rule ${rule.id}: ${rule.thresholds.join("%, ")}% to ${rule.url}`),
    );
  },
});

const listCommand = defineCommand({
  meta: { name: "list", description: "List spend alert rules" },
  args: { ...commonArgs, ...jsonArg },
  run: ({ args }) =>
    runCommand(
      args,
      ({ services }) => services.alerts.list(),
      (rules) =>
        printTable(
          rules,
          [
            ["ID", (r) => r.id],
            ["SCOPE", (r) => (r.scope_id ? `${r.scope}:${r.scope_id}` : r.scope)],
            ["THRESHOLDS", (r) => r.thresholds.join(",")],
            ["FORMAT", (r) => r.format],
            ["SIGNED", (r) => r.has_secret],
            ["URL", (r) => r.url],
          ],
          "No alert rules.",
        ),
    ),
});

const testCommand = defineCommand({
  meta: { name: "test", description: "Post a test alert to a rule's webhook now" },
  args: { ...commonArgs, ...jsonArg, id: { type: "positional", description: "The rule's id", required: true } },
  run: ({ args }) =>
    runCommand(
      args,
      ({ services }) => services.alerts.test(args.id),
      (result) =>
        result.delivered
          ? consola.success(`Delivered (HTTP ${result.status_code})`)
          : consola.warn(`Not delivered: ${result.error}`),
    ),
});

const deliveriesCommand = defineCommand({
  meta: { name: "deliveries", description: "A rule's alerts, newest first: delivered, pending a retry, or failed" },
  args: {
    ...commonArgs,
    ...jsonArg,
    id: { type: "positional", description: "The rule's id", required: true },
    status: { type: "string", description: "Only pending, delivered or failed" },
    limit: { type: "string", description: "At most this many (default 100, at most 500)" },
  },
  run: ({ args }) => {
    const raw = parseFlags(args, () => ({ status: args.status, limit: intFlag("limit", args.limit) }));
    return runCommand(
      args,
      ({ services }) => services.alerts.deliveries(args.id, parseInput(alertDeliveriesQuery, raw)),
      (rows) =>
        printTable(
          rows,
          [
            ["CREATED", (d) => d.created_at],
            ["LEVEL", (d) => d.level],
            ["SUBJECT", (d) => d.subject_id],
            ["THRESHOLD", (d) => (d.threshold === null ? "refusing" : `${d.threshold} %`)],
            ["STATUS", (d) => d.status],
            ["ATTEMPTS", (d) => d.attempts],
            ["LAST ERROR", (d) => d.last_error],
          ],
          "No alerts recorded for this rule.",
        ),
    );
  },
});

export const alertsCommand = defineCommand({
  meta: { name: "alerts", description: "Manage spend alert rules" },
  subCommands: { add: addCommand, list: listCommand, test: testCommand, deliveries: deliveriesCommand },
});
