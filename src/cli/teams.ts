/** `teams create|list|update`: the same service calls as /v1/teams, without HTTP. */
import { defineCommand } from "citty";
import { consola } from "consola";
import { paginationQuery } from "../core/schemas/common";
import { createTeamRequest, updateTeamRequest } from "../core/schemas/teams";
import { commonArgs, jsonArg, pageArgs } from "./_args";
import { parseInput, runCommand } from "./_run";
import { printTable, usd } from "./_table";
import { intFlag, jsonFlag, pageFlags, parseFlags } from "./_usage";

const teamFlags = {
  alias: { type: "string", description: "Admin-facing alias" },
  "budget-id": { type: "string", description: 'Budget over all members\' requests ("" removes it on update)' },
  metadata: { type: "string", description: "Metadata as a JSON object" },
  rpm: { type: "string", description: "Requests per minute over all members" },
  tpm: { type: "string", description: "Tokens per minute over all members" },
  "max-concurrent": { type: "string", description: "Requests in flight at once over all members (0 = none)" },
  "allowed-models": { type: "string", description: "Comma-separated provider:model or provider:* entries" },
} as const;

interface TeamFlagValues {
  alias?: string;
  "budget-id"?: string;
  metadata?: string;
  rpm?: string;
  tpm?: string;
  "max-concurrent"?: string;
  "allowed-models"?: string;
}

/** The body fields the team flags set (absent flags stay absent). */
function teamBody(args: TeamFlagValues) {
  return {
    alias: args.alias,
    budget_id: args["budget-id"],
    metadata: jsonFlag("metadata", args.metadata),
    rpm_limit: intFlag("rpm", args.rpm),
    tpm_limit: intFlag("tpm", args.tpm),
    max_concurrent: intFlag("max-concurrent", args["max-concurrent"]),
    allowed_models: args["allowed-models"]?.split(",").map((m) => m.trim()),
  };
}

const createCommand = defineCommand({
  meta: { name: "create", description: "Create a team" },
  args: {
    ...commonArgs,
    ...jsonArg,
    team_id: { type: "positional", description: "Unique team identifier", required: true },
    ...teamFlags,
    blocked: { type: "boolean", description: "Create the team blocked", default: false },
  },
  run: ({ args }) => {
    const raw = parseFlags(args, () => ({ team_id: args.team_id, blocked: args.blocked, ...teamBody(args) }));
    return runCommand(
      args,
      ({ services }) => services.teams.create(parseInput(createTeamRequest, raw)),
      (team) =>
        consola.success(`Created team ${team.team_id}${team.budget_id ? ` with budget ${team.budget_id}` : ""}`),
    );
  },
});

const updateCommand = defineCommand({
  meta: { name: "update", description: "Update a team (absent flags are left unchanged)" },
  args: {
    ...commonArgs,
    ...jsonArg,
    team_id: { type: "positional", description: "The team's id", required: true },
    ...teamFlags,
    blocked: { type: "boolean", description: "Block (--blocked) or unblock (--no-blocked) the team" },
  },
  run: ({ args }) => {
    const raw = parseFlags(args, () => ({ blocked: args.blocked, ...teamBody(args) }));
    return runCommand(
      args,
      ({ services }) => services.teams.update(args.team_id, parseInput(updateTeamRequest, raw)),
      (team) => consola.success(`Updated team ${team.team_id}`),
    );
  },
});

const listCommand = defineCommand({
  meta: { name: "list", description: "List teams" },
  args: { ...commonArgs, ...jsonArg, ...pageArgs },
  run: ({ args }) => {
    const page = parseFlags(args, () => pageFlags(args));
    return runCommand(
      args,
      ({ services }) => services.teams.list(parseInput(paginationQuery, page)),
      (teams) =>
        printTable(
          teams,
          [
            ["ID", (t) => t.team_id],
            ["ALIAS", (t) => t.alias],
            ["MEMBERS", (t) => t.members],
            ["SPEND", (t) => usd(t.spend)],
            ["BUDGET", (t) => t.budget_id],
            ["BLOCKED", (t) => t.blocked],
          ],
          "No teams.",
        ),
    );
  },
});

export const teamsCommand = defineCommand({
  meta: { name: "teams", description: "Manage teams" },
  subCommands: { create: createCommand, list: listCommand, update: updateCommand },
});
