/**
 * `budgets set|list` (docs/cli.md#budgets): the same service calls as /v1/budgets, and PATCH /v1/users|teams|keys/{id}
 * for
 * --user, --team and --key.
 */
import { defineCommand } from "citty";
import { consola } from "consola";
import { createBudgetRequest, updateBudgetRequest } from "../core/schemas/budgets";
import { paginationQuery } from "../core/schemas/common";
import { commonArgs, jsonArg, pageArgs } from "./_args";
import { parseInput, runCommand, UsageError } from "./_run";
import { printTable, usd } from "./_table";
import { intFlag, numberFlag, pageFlags, parseFlags } from "./_usage";

const duration = (seconds: number | null) => (seconds === null ? "never resets" : `resets every ${seconds}s`);

const setCommand = defineCommand({
  meta: {
    name: "set",
    description: "Create a budget, or update one with --id; --user, --team or --key also assigns it there",
  },
  args: {
    ...commonArgs,
    ...jsonArg,
    id: { type: "string", description: "Budget to update (omitted: create a new one)" },
    "max-budget": { type: "string", description: "Spending cap in USD" },
    "duration-sec": { type: "string", description: "Reset period in seconds (e.g. 86400 for daily)" },
    user: { type: "string", description: "Also assign the budget to this user" },
    team: { type: "string", description: "Also assign the budget to this team" },
    key: { type: "string", description: "Also assign the budget to this key (by id)" },
  },
  run: ({ args }) => {
    const raw = parseFlags(args, () => {
      const targets = [args.user, args.team, args.key].filter((v) => v !== undefined);
      if (targets.length > 1) throw new UsageError("Give at most one of --user, --team and --key");
      return {
        max_budget: numberFlag("max-budget", args["max-budget"]),
        budget_duration_sec: intFlag("duration-sec", args["duration-sec"]),
      };
    });
    return runCommand(
      args,
      async ({ services }) => {
        const input = parseInput(args.id === undefined ? createBudgetRequest : updateBudgetRequest, raw);
        // Check the holder first so a typo does not leave an orphan budget behind.
        if (args.user !== undefined) await services.users.get(args.user);
        if (args.team !== undefined) await services.teams.get(args.team);
        if (args.key !== undefined) await services.keys.get(args.key);
        const budget =
          args.id === undefined ? await services.budgets.create(input) : await services.budgets.update(args.id, input);
        const assign = { budget_id: budget.budget_id };
        if (args.user !== undefined) await services.users.update(args.user, assign);
        if (args.team !== undefined) await services.teams.update(args.team, assign);
        if (args.key !== undefined) await services.keys.update(args.key, assign);
        return budget;
      },
      (budget) =>
        consola.success(
          `${args.id === undefined ? "Created" : "Updated"} budget ${budget.budget_id}: ${usd(budget.max_budget)}, ${duration(budget.budget_duration_sec)}` +
            (args.user === undefined ? "" : `; assigned to user ${args.user}`) +
            (args.team === undefined ? "" : `; assigned to team ${args.team}`) +
            (args.key === undefined ? "" : `; assigned to key ${args.key}`),
        ),
    );
  },
});

const listCommand = defineCommand({
  meta: { name: "list", description: "List budgets" },
  args: { ...commonArgs, ...jsonArg, ...pageArgs },
  run: ({ args }) => {
    const page = parseFlags(args, () => pageFlags(args));
    return runCommand(
      args,
      ({ services }) => services.budgets.list(parseInput(paginationQuery, page)),
      (budgets) =>
        printTable(
          budgets,
          [
            ["ID", (b) => b.budget_id],
            ["MAX", (b) => usd(b.max_budget)],
            ["DURATION", (b) => duration(b.budget_duration_sec)],
            ["CREATED", (b) => b.created_at],
          ],
          "No budgets.",
        ),
    );
  },
});

export const budgetsCommand = defineCommand({
  meta: { name: "budgets", description: "Manage budgets" },
  subCommands: { set: setCommand, list: listCommand },
});
