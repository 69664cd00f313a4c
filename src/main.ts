#!/usr/bin/env bun
/** The binary's entry: hands argv to the CLI, nothing else (`serve` first makes sure of its upstream capacity). */
import { ensureUpstreamCapacity } from "./runtime/upstream-capacity";

// Before anything else loads: when it re-executes, the work done so far is thrown away.
if (process.argv.includes("serve")) ensureUpstreamCapacity();
const [{ runMain }, { mainCommand }] = await Promise.all([import("citty"), import("./cli")]);
await runMain(mainCommand);
