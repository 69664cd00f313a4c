/** `usage` (SPEC §11): the records GET /v1/usage returns, with the same filters, newest first. */
import { defineCommand } from "citty";
import { usageQuery } from "../core/schemas/usage";
import { commonArgs, jsonArg, pageArgs } from "./_args";
import { parseInput, runCommand } from "./_run";
import { printTable, usd } from "./_table";
import { pageFlags, parseFlags } from "./_usage";

export const usageCommand = defineCommand({
  meta: { name: "usage", description: "Show usage records, newest first" },
  args: {
    ...commonArgs,
    ...jsonArg,
    ...pageArgs,
    start: { type: "string", description: "From this time (ISO 8601 or Unix epoch seconds)" },
    end: { type: "string", description: "Until this time (ISO 8601 or Unix epoch seconds)" },
    "user-id": { type: "string", description: "Only this user" },
    "api-key-id": { type: "string", description: "Only this key" },
    model: { type: "string", description: "Only this model" },
    provider: { type: "string", description: "Only this provider" },
    endpoint: { type: "string", description: "Only this endpoint (e.g. /v1/chat/completions)" },
    status: { type: "string", description: "success | error" },
    "end-user-id": { type: "string", description: "Only this end user (the `user` a virtual key's request carried)" },
  },
  run: ({ args }) => {
    const query = parseFlags(args, () => ({
      ...pageFlags(args),
      start_date: args.start,
      end_date: args.end,
      user_id: args["user-id"],
      api_key_id: args["api-key-id"],
      model: args.model,
      provider: args.provider,
      endpoint: args.endpoint,
      status: args.status,
      end_user_id: args["end-user-id"],
    }));
    return runCommand(
      args,
      ({ services }) => services.usage.list(parseInput(usageQuery, query)),
      (rows) =>
        printTable(
          rows,
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
        ),
    );
  },
});
