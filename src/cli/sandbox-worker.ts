/**
 * `gateway sandbox-worker` (hidden): the embedded code sandbox's child process
 * (docs/behaviour/tools.md#embedded-sandbox), or with `--extract` the web search's page-extraction child. The gateway
 * starts it itself, under OS limits, and talks JSON lines over stdin/stdout; it is not meant to be run by hand.
 */
import { defineCommand } from "citty";

export const sandboxWorkerCommand = defineCommand({
  meta: { name: "sandbox-worker", description: "Internal: the embedded code sandbox's worker process", hidden: true },
  args: {
    "memory-mb": { type: "string", description: "Heap cap of the interpreter, MiB", default: "256" },
    "output-cap": { type: "string", description: "Bytes of stdout/stderr kept per call", default: "65536" },
    extract: { type: "boolean", description: "Run the web-search page extractor instead of Python", default: false },
    "allow-unconfined": {
      type: "boolean",
      description: "Run code even where the seccomp confinement cannot be installed",
      default: false,
    },
    "probe-confinement": {
      type: "boolean",
      description: "Exit 0 when this host can confine a worker, else 1",
      default: false,
    },
  },
  run: async ({ args }) => {
    if (args["probe-confinement"]) {
      const { probeConfinement } = await import("../tools/code-execution/worker");
      process.exit(probeConfinement());
    }
    if (args.extract) {
      const { runExtractWorker } = await import("../tools/web-search/extract-worker");
      await runExtractWorker();
      return;
    }
    const { runSandboxWorker } = await import("../tools/code-execution/worker");
    const memoryMb = Number(args["memory-mb"]);
    const outputCapBytes = Number(args["output-cap"]);
    await runSandboxWorker({
      memoryMb: Number.isFinite(memoryMb) && memoryMb > 0 ? memoryMb : 256,
      outputCapBytes: Number.isFinite(outputCapBytes) && outputCapBytes > 0 ? outputCapBytes : 65536,
      allowUnconfined: args["allow-unconfined"],
    });
  },
});
