/** `rate-limits add|update|list|rm`: the same service calls as /v1/rate-limits, without HTTP. */
import { defineCommand } from "citty";
import { consola } from "consola";
import { rateLimitRuleInput, updateRateLimitRequest } from "../core/schemas/rate-limits";
import { commonArgs, jsonArg } from "./_args";
import { parseInput, runCommand } from "./_run";
import { printTable } from "./_table";
import { intFlag, parseFlags } from "./_usage";

/** The limit flags as the API's fields (absent flags stay absent). */
const limitFlags = (args: { rpm?: string; tpm?: string; "max-concurrent"?: string }) => ({
  rpm: intFlag("rpm", args.rpm),
  tpm: intFlag("tpm", args.tpm),
  max_concurrent: intFlag("max-concurrent", args["max-concurrent"]),
});

const addCommand = defineCommand({
  meta: { name: "add", description: "Add a rate-limit rule" },
  args: {
    ...commonArgs,
    ...jsonArg,
    scope: { type: "string", description: "global, team, user or key", required: true },
    "scope-id": { type: "string", description: "That one team/user/key (omitted: each of them separately)" },
    model: { type: "string", description: "Only this model: provider:model or provider:*" },
    rpm: { type: "string", description: "Requests per minute" },
    tpm: { type: "string", description: "Tokens per minute" },
    "max-concurrent": { type: "string", description: "Requests in flight at once" },
  },
  run: ({ args }) => {
    const raw = parseFlags(args, () => ({
      scope: args.scope,
      scope_id: args["scope-id"],
      model: args.model,
      ...limitFlags(args),
    }));
    return runCommand(
      args,
      ({ services }) => services.rateLimits.create(parseInput(rateLimitRuleInput, raw)),
      (rule) => consola.success(`Added rate-limit rule ${rule.id}`),
    );
  },
});

const updateCommand = defineCommand({
  meta: {
    name: "update",
    description: "Change a rule's model or limits (0 removes a limit, an empty --model counts every model)",
  },
  args: {
    ...commonArgs,
    ...jsonArg,
    id: { type: "positional", description: "The rule's id", required: true },
    model: { type: "string", description: 'Only this model: provider:model or provider:*; "": every model' },
    rpm: { type: "string", description: "Requests per minute (0: no limit)" },
    tpm: { type: "string", description: "Tokens per minute (0: no limit)" },
    "max-concurrent": { type: "string", description: "Requests in flight at once (0: no limit)" },
  },
  run: ({ args }) => {
    const raw = parseFlags(args, () => ({ model: args.model, ...limitFlags(args) }));
    return runCommand(
      args,
      ({ services }) => services.rateLimits.update(args.id, parseInput(updateRateLimitRequest, raw)),
      (rule) => consola.success(`Updated rate-limit rule ${rule.id}`),
    );
  },
});

const listCommand = defineCommand({
  meta: { name: "list", description: "List rate-limit rules (config.yml's first)" },
  args: { ...commonArgs, ...jsonArg },
  run: ({ args }) =>
    runCommand(
      args,
      ({ services }) => services.rateLimits.list(),
      (rules) =>
        printTable(
          rules,
          [
            ["ID", (r) => r.id],
            ["SCOPE", (r) => (r.scope_id ? `${r.scope}:${r.scope_id}` : r.scope)],
            ["MODEL", (r) => r.model],
            ["RPM", (r) => r.rpm],
            ["TPM", (r) => r.tpm],
            ["CONCURRENT", (r) => r.max_concurrent],
            ["SOURCE", (r) => r.source],
          ],
          "No rate-limit rules.",
        ),
    ),
});

const rmCommand = defineCommand({
  meta: { name: "rm", description: "Delete a rate-limit rule" },
  args: { ...commonArgs, ...jsonArg, id: { type: "positional", description: "The rule's id", required: true } },
  run: ({ args }) =>
    runCommand(
      args,
      async ({ services }) => {
        await services.rateLimits.remove(args.id);
        return { deleted: true as const, id: args.id };
      },
      (result) => consola.success(`Deleted rate-limit rule ${result.id}`),
    ),
});

export const rateLimitsCommand = defineCommand({
  meta: { name: "rate-limits", description: "Manage rate-limit rules" },
  subCommands: { add: addCommand, update: updateCommand, list: listCommand, rm: rmCommand },
});
