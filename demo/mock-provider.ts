/**
 * An OpenAI-format mock upstream for demos (the repo's test mock, src/providers/_mocks): no API key, no network.
 * Prints `MOCK_API_BASE=<url>` once listening and runs until SIGTERM/SIGINT.
 *
 *   bun demo/mock-provider.ts [--port 9911]
 * Model names pick behaviours (src/providers/_mocks/scenario.ts): `gpt-4o-mini` answers, `chunks-20+interval-50`
 * streams slowly, `error-429` is rate limited...
 */
import { startOpenAIMock } from "../src/providers/_mocks";

const i = process.argv.indexOf("--port");
const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
const mock = startOpenAIMock({ port });
console.log(`MOCK_API_BASE=${mock.apiBase}`);
const stop = () => void mock.stop().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
