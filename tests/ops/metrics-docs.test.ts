/**
 * The metrics reference in docs/operations.md is generated from the live registry (scripts/gen-metrics-docs.ts) and
 * names every registered metric; the Grafana dashboard in demo/grafana/ queries only metrics and labels that exist
 * and covers the documented families.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gatewayMetrics, METRICS_DOC, renderMetricsReference } from "../../scripts/gen-metrics-docs";
import { ROOT } from "../e2e/_gateway";

const page = readFileSync(METRICS_DOC, "utf8");
const metrics = gatewayMetrics();

test("docs/operations.md's metrics reference matches the registry (run `bun scripts/gen-metrics-docs.ts`)", () => {
  expect(page).toContain(renderMetricsReference());
});

test("every registered metric is named in docs/operations.md", () => {
  expect(metrics.length).toBeGreaterThanOrEqual(15);
  for (const m of metrics) expect(page).toContain(`\`${m.name}`);
});

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string }[];
}

test("the Grafana dashboard queries only registered metrics and their labels, and covers the documented ones", () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, "demo", "grafana", "gateway-dashboard.json"), "utf8")) as {
    uid: string;
    title: string;
    panels: Panel[];
    templating: { list: { name: string; type: string }[] };
  };
  expect(dashboard.uid).toBeString();
  const ids = dashboard.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(dashboard.templating.list.map((t) => t.name)).toEqual(["datasource", "instance", "endpoint"]);

  // Exposed series -> the metric's labels (histograms expose _bucket (+le), _sum and _count).
  const series = new Map<string, Set<string>>();
  for (const m of metrics) {
    const labels = new Set([...m.labels, "instance", "job"]);
    if (m.type === "histogram") {
      series.set(`${m.name}_bucket`, new Set([...labels, "le"]));
      series.set(`${m.name}_sum`, labels);
      series.set(`${m.name}_count`, labels);
    } else series.set(m.name, labels);
  }
  const used = new Set<string>();
  for (const panel of dashboard.panels.filter((p) => p.type !== "row")) {
    expect(panel.targets?.length).toBeGreaterThan(0);
    for (const { expr } of panel.targets ?? []) {
      const names = [...expr.matchAll(/\b(gateway_\w+)/g)].map((m) => m[1]!);
      expect(names.length).toBeGreaterThan(0);
      const allowed = new Set<string>();
      for (const name of names) {
        expect({ panel: panel.title, name, known: series.has(name) }).toEqual({
          panel: panel.title,
          name,
          known: true,
        });
        used.add(name);
        for (const l of series.get(name) ?? []) allowed.add(l);
      }
      for (const m of expr.matchAll(/(gateway_\w+)\{([^}]*)\}/g)) {
        for (const matcher of m[2]!.matchAll(/(\w+)\s*(=~|!~|!=|=)/g))
          expect({ metric: m[1], label: matcher[1], known: series.get(m[1]!)?.has(matcher[1]!) }).toEqual({
            metric: m[1],
            label: matcher[1],
            known: true,
          });
      }
      for (const by of expr.matchAll(/by \(([^)]*)\)/g)) {
        for (const label of by[1]!.split(",").map((s) => s.trim()))
          expect({ panel: panel.title, label, known: allowed.has(label) }).toEqual({
            panel: panel.title,
            label,
            known: true,
          });
      }
    }
  }
  for (const needed of [
    "gateway_requests_total",
    "gateway_request_duration_seconds_bucket",
    "gateway_tokens_total",
    "gateway_request_cost_dollars_sum",
    "gateway_budget_exceeded_total",
    "gateway_rate_limit_hits_total",
    "gateway_usage_log_queue_depth",
    "gateway_active_requests",
  ]) {
    expect(used).toContain(needed);
  }
});
