/** Overview: the range's spend and traffic in cards and charts, budget health, and who spends most. */
import { useState } from "preact/hooks";
import { api } from "../api";
import { AutoRefresh } from "../components/auto-refresh";
import { BarList, LineChart } from "../components/chart";
import { RangePicker, type RangeKey, rangeOf } from "../components/range";
import { useAsync } from "../components/use-async";
import { Card, ErrorNote, Loading, Table } from "../components/ui";
import { fmtCompact, fmtInt, fmtMs, fmtPct, fmtTime, fmtUsd, plural } from "../format";

export function Overview() {
  const [range, setRange] = useState<RangeKey>("24h");
  const data = useAsync(async () => {
    const r = rangeOf(range);
    const [overview, cost, requests] = await Promise.all([
      api.overview.query({ start: r.start, end: r.end }),
      api.usage.series.query({ start: r.start, end: r.end, bucket: r.bucket, metric: "cost" }),
      api.usage.series.query({ start: r.start, end: r.end, bucket: r.bucket, metric: "requests" }),
    ]);
    return { overview, cost, requests };
  }, [range]);
  const o = data.data?.overview;
  return (
    <section>
      <div class="page-head">
        <h1>Overview</h1>
        <div class="controls">
          <RangePicker value={range} onChange={setRange} />
          <AutoRefresh reload={data.reload} busy={data.loading} />
        </div>
      </div>
      <ErrorNote error={data.error} />
      <Loading when={data.loading && !data.data} />
      {o && data.data && (
        <>
          <div class="cards">
            <Card label="Spend today (UTC)" value={fmtUsd(o.spend_today)} testId="card-spend-today" />
            <Card label="Spend this month" value={fmtUsd(o.spend_month)} testId="card-spend-month" />
            <Card label="Spend in range" value={fmtUsd(o.window.cost)} testId="card-spend-window" />
            <Card label="Requests in range" value={fmtInt(o.window.requests)} testId="card-requests" />
            <Card
              label="Error rate"
              value={fmtPct(o.window.error_rate)}
              hint={`${fmtInt(o.window.errors)} errors`}
              testId="card-error-rate"
            />
            <Card
              label="Latency p50 / p95"
              value={`${fmtMs(o.window.latency_p50_ms)} / ${fmtMs(o.window.latency_p95_ms)}`}
              hint="approximate"
              testId="card-latency"
            />
            <Card
              label="Active keys"
              value={fmtInt(o.keys.active)}
              hint={`${fmtInt(o.keys.used_in_window)} used in range, ${fmtInt(o.keys.total)} in all`}
              testId="card-keys"
            />
          </div>
          <div class="grid2">
            <LineChart
              title="Spend (USD)"
              timestamps={data.data.cost.timestamps}
              series={[{ name: "Spend", values: data.data.cost.series[0]!.values }]}
              format={fmtUsd}
              testId="chart-spend"
            />
            <LineChart
              title="Requests"
              timestamps={data.data.requests.timestamps}
              series={[{ name: "Requests", values: data.data.requests.series[0]!.values }]}
              format={fmtCompact}
              testId="chart-requests"
            />
          </div>
          {o.budget_health.map((health) => (
            <section
              class="panel"
              aria-labelledby={`health-${health.level}`}
              data-testid={`budget-health-${health.level}`}
              key={health.level}
            >
              <h2 id={`health-${health.level}`}>Budget health ({health.level}s)</h2>
              <div class="cards">
                <Card label="With a budget" value={fmtInt(health.with_budget)} />
                <Card label="Above 80 %" value={fmtInt(health.above_80)} />
                <Card label="Exhausted (refusing)" value={fmtInt(health.exhausted)} />
                <Card label="Over the cap" value={fmtInt(health.over)} />
                <Card label="Blocked" value={fmtInt(health.blocked)} />
              </div>
              <Table
                caption={`${health.level}s closest to their budget`}
                rows={health.worst}
                rowKey={(r) => r.id}
                empty="Nothing spent from a budget yet."
                columns={[
                  {
                    title: health.level === "user" ? "User" : "Subject",
                    cell: (r) => (r.label ? `${r.label} (${r.id})` : r.id),
                  },
                  { title: "Spend", cell: (r) => fmtUsd(r.spend), numeric: true },
                  { title: "Budget", cell: (r) => fmtUsd(r.max_budget), numeric: true },
                  { title: "Used", cell: (r) => `${r.percent} %`, numeric: true },
                  { title: "Resets", cell: (r) => fmtTime(r.next_reset_at) },
                ]}
              />
            </section>
          ))}
          <div class="grid3">
            <BarList
              title="Top models by spend"
              items={o.top_models.map((m) => ({
                name: m.key ?? "(none)",
                value: m.cost,
                hint: plural(m.requests, "request"),
              }))}
              format={fmtUsd}
              testId="top-models"
            />
            <BarList
              title="Top users by spend"
              items={o.top_users.map((m) => ({
                name: m.label ? `${m.label} (${m.key})` : (m.key ?? "(none)"),
                value: m.cost,
                hint: plural(m.requests, "request"),
              }))}
              format={fmtUsd}
              testId="top-users"
            />
            <BarList
              title="Top keys by spend"
              items={o.top_keys.map((m) => ({
                name: m.label ?? m.key ?? "(master key)",
                value: m.cost,
                hint: plural(m.requests, "request"),
              }))}
              format={fmtUsd}
              testId="top-keys"
            />
          </div>
        </>
      )}
    </section>
  );
}
