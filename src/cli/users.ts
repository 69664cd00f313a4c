/** `users create <user_id>|list` (docs/cli.md#users): the same service calls as /v1/users, without HTTP. */
import { defineCommand } from "citty";
import { consola } from "consola";
import { paginationQuery } from "../core/schemas/common";
import { createUserRequest } from "../core/schemas/users";
import { commonArgs, jsonArg, pageArgs } from "./_args";
import { parseInput, runCommand } from "./_run";
import { printTable, usd } from "./_table";
import { intFlag, jsonFlag, pageFlags, parseFlags } from "./_usage";

const createCommand = defineCommand({
  meta: { name: "create", description: "Create (or revive) a user" },
  args: {
    ...commonArgs,
    ...jsonArg,
    user_id: { type: "positional", description: "Unique user identifier", required: true },
    alias: { type: "string", description: "Admin-facing alias" },
    "budget-id": { type: "string", description: "Budget to assign" },
    blocked: { type: "boolean", description: "Create the user blocked", default: false },
    metadata: { type: "string", description: "Metadata as a JSON object" },
    rpm: { type: "string", description: "Requests per minute limit" },
    tpm: { type: "string", description: "Tokens per minute limit" },
    "team-id": { type: "string", description: "The team the user belongs to" },
    "max-concurrent": { type: "string", description: "Requests in flight at once" },
  },
  run: ({ args }) => {
    const raw = parseFlags(args, () => ({
      user_id: args.user_id,
      alias: args.alias,
      budget_id: args["budget-id"],
      blocked: args.blocked,
      metadata: jsonFlag("metadata", args.metadata),
      rpm_limit: intFlag("rpm", args.rpm),
      tpm_limit: intFlag("tpm", args.tpm),
      team_id: args["team-id"],
      max_concurrent: intFlag("max-concurrent", args["max-concurrent"]),
    }));
    return runCommand(
      args,
      ({ services }) => services.users.create(parseInput(createUserRequest, raw)),
      (user) =>
        consola.success(
          `Created user ${user.user_id}${user.budget_id ? ` with budget ${user.budget_id}` : ""}${user.blocked ? " (blocked)" : ""}`,
        ),
    );
  },
});

const listCommand = defineCommand({
  meta: { name: "list", description: "List users" },
  args: { ...commonArgs, ...jsonArg, ...pageArgs },
  run: ({ args }) => {
    const page = parseFlags(args, () => pageFlags(args));
    return runCommand(
      args,
      ({ services }) => services.users.list(parseInput(paginationQuery, page)),
      (users) =>
        printTable(
          users,
          [
            ["USER", (u) => u.user_id],
            ["ALIAS", (u) => u.alias],
            ["SPEND", (u) => usd(u.spend)],
            ["BUDGET", (u) => u.budget_id],
            ["NEXT RESET", (u) => u.next_budget_reset_at],
            ["BLOCKED", (u) => u.blocked],
          ],
          "No users.",
        ),
    );
  },
});

export const usersCommand = defineCommand({
  meta: { name: "users", description: "Manage users" },
  subCommands: { create: createCommand, list: listCommand },
});
