/** Cells render exactly what prom-client's own Counter and Histogram render for the same observations. */
import { expect, test } from "bun:test";
import { Counter, Histogram, Registry } from "prom-client";
import { CellCounter, CellHistogram } from "./cells";

const BOUNDS = [0.005, 0.1, 1, 10];
const observations: [string, string, number][] = [
  ["POST", "/v1/chat/completions", 0.004],
  ["POST", "/v1/chat/completions", 0.1],
  ["GET", "/v1/models", 12],
  ["POST", "/v1/chat/completions", 0.5],
];

test("counter and histogram text match prom-client's", async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const c1 = new CellCounter("t_requests_total", "requests", ["method", "endpoint"], ours);
  const h1 = new CellHistogram("t_duration_seconds", "duration", ["method", "endpoint"], ours, BOUNDS);
  const c2 = new Counter({
    name: "t_requests_total",
    help: "requests",
    labelNames: ["method", "endpoint"],
    registers: [theirs],
  });
  const h2 = new Histogram({
    name: "t_duration_seconds",
    help: "duration",
    labelNames: ["method", "endpoint"],
    buckets: BOUNDS,
    registers: [theirs],
  });
  for (const [method, endpoint, seconds] of observations) {
    c1.cell(method, endpoint).value++;
    h1.observe(h1.cell(method, endpoint), seconds);
    c2.inc({ method, endpoint });
    h2.observe({ method, endpoint }, seconds);
  }
  expect(await ours.metrics()).toBe(await theirs.metrics());
  // prom-client adds an empty `exemplar` member to histogram values; nothing reads it without exemplars enabled.
  const json = async (r: Registry) =>
    JSON.parse(JSON.stringify(await r.getMetricsAsJSON(), (k, v) => (k === "exemplar" ? undefined : v)));
  expect(await json(ours)).toEqual(await json(theirs));
});

test("reset empties the cells", async () => {
  const registry = new Registry();
  const c = new CellCounter("t_total", "t", ["a"], registry);
  c.cell("x").value += 3;
  registry.resetMetrics();
  expect(await registry.metrics()).toBe("# HELP t_total t\n# TYPE t_total counter\n");
});
