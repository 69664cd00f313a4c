/** `pricing set <model_key>|list` (docs/cli.md#pricing): the same service calls as /v1/pricing, without HTTP. */
import { defineCommand } from "citty";
import { consola } from "consola";
import { paginationQuery } from "../core/schemas/common";
import { setPricingRequest } from "../core/schemas/pricing";
import { commonArgs, jsonArg, pageArgs } from "./_args";
import { parseInput, runCommand } from "./_run";
import { printTable } from "./_table";
import { numberFlag, pageFlags, parseFlags } from "./_usage";

const setCommand = defineCommand({
  meta: { name: "set", description: "Set a model's price (a new version per effective time)" },
  args: {
    ...commonArgs,
    ...jsonArg,
    model_key: { type: "positional", description: "Model as provider:model", required: true },
    input: { type: "string", description: "USD per million input tokens", required: true },
    output: { type: "string", description: "USD per million output tokens", required: true },
    "effective-at": { type: "string", description: "ISO 8601 time from which the price applies (default now)" },
  },
  run: ({ args }) => {
    const raw = parseFlags(args, () => ({
      model_key: args.model_key,
      input_price_per_million: numberFlag("input", args.input),
      output_price_per_million: numberFlag("output", args.output),
      effective_at: args["effective-at"],
    }));
    return runCommand(
      args,
      ({ services }) => services.pricing.set(parseInput(setPricingRequest, raw)),
      (p) =>
        consola.success(
          `Priced ${p.model_key}: $${p.input_price_per_million}/M input, $${p.output_price_per_million}/M output, effective ${p.effective_at}`,
        ),
    );
  },
});

const listCommand = defineCommand({
  meta: { name: "list", description: "List every pricing version" },
  args: { ...commonArgs, ...jsonArg, ...pageArgs },
  run: ({ args }) => {
    const page = parseFlags(args, () => pageFlags(args));
    return runCommand(
      args,
      ({ services }) => services.pricing.list(parseInput(paginationQuery, page)),
      (rows) =>
        printTable(
          rows,
          [
            ["MODEL", (p) => p.model_key],
            ["INPUT $/M", (p) => p.input_price_per_million],
            ["OUTPUT $/M", (p) => p.output_price_per_million],
            ["EFFECTIVE", (p) => p.effective_at],
          ],
          "No pricing.",
        ),
    );
  },
});

export const pricingCommand = defineCommand({
  meta: { name: "pricing", description: "Manage model pricing" },
  subCommands: { set: setCommand, list: listCommand },
});
