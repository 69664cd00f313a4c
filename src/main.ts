#!/usr/bin/env bun
/** The binary's entry: hands argv to the CLI, nothing else. */
import { runMain } from "citty";
import { mainCommand } from "./cli";

await runMain(mainCommand);
