/** Usage: a metric over time for the top groups, the groups' totals, and the rows as CSV. */
import { useState } from "preact/hooks";
import { api, type Inputs } from "../api";
import { LineChart } from "../components/chart";
import { AutoRefresh } from "../components/auto-refresh";
import { RangePicker, type RangeKey, rangeOf } from "../components/range";
import { useAsync } from "../components/use-async";
import { Card, ErrorNote, Loading, Select, Table } from "../components/ui";
import { fmtCompact, fmtInt, fmtMs, fmtPct, fmtUsd } from "../format";
import { FilterForm, filtersFromUrl, type UsageFilters } from "./filters";

/** The input object (the procedure also takes no input at all). */
type SeriesInput = Extract<Inputs["usage"]["series"], object>;
type Metric = NonNullable<SeriesInput["metric"]>;
type Dim = NonNullable<SeriesInput["group_by"]>;

const METRICS: [Metric, string, (n: number) => string][] = [
  ["requests", "Requests", fmtCompact],
  ["cost", "Spend (USD)", fmtUsd],
  ["tokens", "Tokens", fmtCompact],
  ["errors", "Errors", fmtCompact],
  ["latency_p50", "Latency p50 (ms)", fmtMs],
  ["latency_p95", "Latency p95 (ms)", fmtMs],
];

const DIMS: [Dim | "", string][] = [
  ["", "Nothing (total)"],
  ["model", "Model"],
  ["provider", "Provider"],
  ["key", "Key"],
  ["user", "User"],
  ["end_user", "End user"],
  ["team", "Team"],
  ["status", "Status"],
  ["status_code", "HTTP status"],
];

export function Usage() {
  const [range, setRange] = useState<RangeKey>("7d");
  const [metric, setMetric] = useState<Metric>("requests");
  const [dim, setDim] = useState<Dim | "">("model");
  const [filters, setFilters] = useState<UsageFilters>(filtersFromUrl);
  const data = useAsync(async () => {
    const r = rangeOf(range);
    const group = dim || undefined;
    const [series, summary] = await Promise.all([
      api.usage.series.query({
        start: r.start,
        end: r.end,
        bucket: r.bucket,
        metric,
        group_by: group,
        top: 5,
        ...filters,
      }),
      api.usage.summary.query({ start: r.start, end: r.end, group_by: group, order_by: "cost", limit: 50, ...filters }),
    ]);
    return { series, summary, range: r };
  }, [range, metric, dim, JSON.stringify(filters)]);
  const fmt = METRICS.find(([m]) => m === metric)![2];
  const d = data.data;
  const csv = d
    ? `/ui/api/usage/export.csv?${new URLSearchParams({ start_date: d.range.start, end_date: d.range.end, ...filters }).toString()}`
    : null;
  return (
    <section>
      <div class="page-head">
        <h1>Usage</h1>
        <div class="controls">
          <RangePicker value={range} onChange={setRange} />
          <Select
            label="Metric"
            value={metric}
            onChange={(v) => setMetric(v as Metric)}
            options={METRICS.map(([m, l]) => [m, l])}
          />
          <Select label="Group by" value={dim} onChange={(v) => setDim(v as Dim | "")} options={DIMS} />
          <AutoRefresh reload={data.reload} busy={data.loading} />
        </div>
      </div>
      <FilterForm value={filters} onApply={setFilters} />
      <ErrorNote error={data.error} />
      <Loading when={data.loading && !d} />
      {d && (
        <>
          <div class="cards">
            <Card label="Requests" value={fmtInt(d.summary.totals.requests)} testId="usage-requests" />
            <Card label="Spend" value={fmtUsd(d.summary.totals.cost)} testId="usage-cost" />
            <Card label="Tokens" value={fmtInt(d.summary.totals.total_tokens)} testId="usage-tokens" />
            <Card label="Error rate" value={fmtPct(d.summary.totals.error_rate)} />
            <Card label="Latency p95" value={fmtMs(d.summary.totals.latency_p95_ms)} hint="approximate" />
          </div>
          <LineChart
            title={METRICS.find(([m]) => m === metric)![1]}
            timestamps={d.series.timestamps}
            series={d.series.series
              .filter((s) => s.kind !== "total" || d.series.series.length === 1)
              .map((s) => ({
                name: s.kind === "other" ? "Other" : s.kind === "total" ? "Total" : (s.label ?? s.key ?? "(none)"),
                values: s.values,
              }))}
            format={fmt}
            testId="usage-chart"
          />
          {csv && (
            <p>
              <a class="button" href={csv} download>
                Export these rows as CSV
              </a>
            </p>
          )}
          {dim && (
            <Table
              caption={`Usage by ${DIMS.find(([k]) => k === dim)![1].toLowerCase()}`}
              rows={d.summary.groups}
              rowKey={(g) => g.key ?? "(none)"}
              columns={[
                {
                  title: DIMS.find(([k]) => k === dim)![1],
                  cell: (g) => (g.label ? `${g.label} (${g.key})` : (g.key ?? "(none)")),
                },
                { title: "Requests", cell: (g) => fmtInt(g.requests), numeric: true },
                { title: "Errors", cell: (g) => fmtInt(g.errors), numeric: true },
                { title: "Tokens", cell: (g) => fmtInt(g.total_tokens), numeric: true },
                { title: "Spend", cell: (g) => fmtUsd(g.cost), numeric: true },
                { title: "p95", cell: (g) => fmtMs(g.latency_p95_ms), numeric: true },
              ]}
            />
          )}
        </>
      )}
    </section>
  );
}
