/** `keys create|list|revoke|rotate` (docs/cli.md#keys): the same service calls as /v1/keys, without HTTP. */
import { defineCommand } from "citty";
import { consola } from "consola";
import { paginationQuery } from "../core/schemas/common";
import { createKeyRequest } from "../core/schemas/keys";
import { commonArgs, jsonArg, pageArgs } from "./_args";
import { parseInput, runCommand } from "./_run";
import { printTable, usd } from "./_table";
import { intFlag, jsonFlag, pageFlags, parseFlags } from "./_usage";

const keyIdArg = { key_id: { type: "positional", description: "The key's id", required: true } } as const;

const createCommand = defineCommand({
  meta: { name: "create", description: "Create a virtual API key and print its secret (shown once)" },
  args: {
    ...commonArgs,
    ...jsonArg,
    name: { type: "string", description: "Key name" },
    "user-id": { type: "string", description: "Owning user (created if missing; default: a virtual user per key)" },
    "expires-at": { type: "string", description: "Expiry, ISO 8601" },
    metadata: { type: "string", description: "Metadata as a JSON object" },
    rpm: { type: "string", description: "Requests per minute limit" },
    tpm: { type: "string", description: "Tokens per minute limit" },
    "budget-id": { type: "string", description: "The key's own budget" },
    "max-concurrent": { type: "string", description: "Requests in flight at once" },
    "end-user-budget-id": { type: "string", description: "Budget each end user of this key gets a window on" },
    "capture-content": {
      type: "boolean",
      description:
        "Capture this key's prompts and completions in traces (redacted); --no-capture-content keeps them out",
    },
  },
  run: ({ args }) => {
    const raw = parseFlags(args, () => ({
      key_name: args.name,
      user_id: args["user-id"],
      expires_at: args["expires-at"],
      metadata: jsonFlag("metadata", args.metadata),
      rpm_limit: intFlag("rpm", args.rpm),
      tpm_limit: intFlag("tpm", args.tpm),
      budget_id: args["budget-id"],
      max_concurrent: intFlag("max-concurrent", args["max-concurrent"]),
      end_user_budget_id: args["end-user-budget-id"],
      capture_content: args["capture-content"],
    }));
    return runCommand(
      args,
      ({ services }) => services.keys.create(parseInput(createKeyRequest, raw)),
      (key) => {
        consola.success(`Created key ${key.id} for user ${key.user_id}. Save the secret now, it is not shown again:`);
        process.stdout.write(`${key.key}\n`);
      },
    );
  },
});

const listCommand = defineCommand({
  meta: { name: "list", description: "List keys, newest first" },
  args: { ...commonArgs, ...jsonArg, ...pageArgs },
  run: ({ args }) => {
    const page = parseFlags(args, () => pageFlags(args));
    return runCommand(
      args,
      ({ services }) => services.keys.list(parseInput(paginationQuery, page)),
      (keys) =>
        printTable(
          keys,
          [
            ["ID", (k) => k.id],
            ["PREFIX", (k) => k.key_prefix],
            ["NAME", (k) => k.key_name],
            ["USER", (k) => k.user_id],
            ["ACTIVE", (k) => k.is_active],
            ["SPEND", (k) => usd(k.spend)],
            ["EXPIRES", (k) => k.expires_at],
            ["LAST USED", (k) => k.last_used_at],
          ],
          "No keys.",
        ),
    );
  },
});

const revokeCommand = defineCommand({
  meta: { name: "revoke", description: "Deactivate a key (is_active=false), or delete it with --delete" },
  args: {
    ...commonArgs,
    ...jsonArg,
    ...keyIdArg,
    delete: { type: "boolean", description: "Hard delete, like DELETE /v1/keys/{id}", default: false },
  },
  run: ({ args }) =>
    runCommand(
      args,
      async ({ services }) => {
        if (!args.delete) return services.keys.revoke(args.key_id);
        await services.keys.remove(args.key_id);
        return { deleted: true as const, id: args.key_id };
      },
      (result) =>
        consola.success(
          "deleted" in result
            ? `Deleted key ${result.id}`
            : `Revoked key ${result.id}: it now gets 401 API key is inactive`,
        ),
    ),
});

const rotateCommand = defineCommand({
  meta: { name: "rotate", description: "Give a key a new secret (the old one stops working at once)" },
  args: { ...commonArgs, ...jsonArg, ...keyIdArg },
  run: ({ args }) =>
    runCommand(
      args,
      ({ services }) => services.keys.rotate(args.key_id),
      (key) => {
        consola.success(`Rotated key ${key.id}. Save the new secret now, it is not shown again:`);
        process.stdout.write(`${key.key}\n`);
      },
    ),
});

export const keysCommand = defineCommand({
  meta: { name: "keys", description: "Manage virtual API keys" },
  subCommands: { create: createCommand, list: listCommand, revoke: revokeCommand, rotate: rotateCommand },
});
