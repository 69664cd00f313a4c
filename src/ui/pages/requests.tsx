/** Requests: the usage log newest first, keyset pages (every page costs the same), a detail view per request. */
import { useState } from "preact/hooks";
import { api, type Outputs } from "../api";
import { AutoRefresh } from "../components/auto-refresh";
import { useAsync } from "../components/use-async";
import { Badge, Dialog, ErrorNote, Loading, Table } from "../components/ui";
import { fmtInt, fmtMs, fmtTime, fmtUsd } from "../format";
import { FilterForm, filtersFromUrl, type UsageFilters } from "./filters";

type Row = Outputs["usage"]["page"]["items"][number];
const PAGE = 50;

function Detail(props: { row: Row }) {
  const r = props.row;
  const items: [string, string][] = [
    ["Request id", r.id],
    ["Time", fmtTime(r.timestamp)],
    ["Endpoint", r.endpoint],
    ["Model", r.provider ? `${r.provider}:${r.model}` : r.model],
    ["User", r.user_id ?? "—"],
    ["Key", r.api_key_id ?? "(master key)"],
    ["End user", r.end_user_id ?? "—"],
    ["Status", `${r.status}${r.status_code ? ` (${r.status_code})` : ""}`],
    ["Attempts", r.attempts ? `served by try ${r.attempt ?? "—"} of ${r.attempts}` : "—"],
    ["Prompt tokens", fmtInt(r.prompt_tokens)],
    ["Completion tokens", fmtInt(r.completion_tokens)],
    ["Total tokens", fmtInt(r.total_tokens)],
    ["Cache read / write", `${fmtInt(r.cache_read_tokens)} / ${fmtInt(r.cache_write_tokens)}`],
    ["Cost", `${fmtUsd(r.cost)}${r.estimated ? " (estimated: no usage reported)" : ""}`],
    ["Latency", fmtMs(r.latency_ms)],
    ["Upstream first byte", fmtMs(r.ttfb_ms)],
    ["Error", r.error_message ?? "—"],
  ];
  return (
    <dl class="details">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Requests() {
  const [filters, setFilters] = useState<UsageFilters>(filtersFromUrl);
  // Cursors of the pages before the current one; the current page's cursor is the last (null = first page).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [open, setOpen] = useState<Row | null>(null);
  const cursor = cursors[cursors.length - 1] ?? undefined;
  const page = useAsync(
    () => api.usage.page.query({ limit: PAGE, ...filters, cursor }),
    [JSON.stringify(filters), cursor],
  );
  return (
    <section>
      <div class="page-head">
        <h1>Requests</h1>
        <AutoRefresh
          reload={page.reload}
          busy={page.loading}
          paused={cursors.length > 1 ? "Paused past the first page" : null}
        />
      </div>
      <FilterForm
        value={filters}
        onApply={(f) => {
          setFilters(f);
          setCursors([null]);
        }}
      />
      <ErrorNote error={page.error} />
      <Loading when={page.loading && !page.data} />
      {page.data && (
        <>
          <Table
            caption="Requests, newest first"
            rows={page.data.items}
            rowKey={(r) => r.id}
            empty="No requests match."
            columns={[
              {
                title: "Time",
                cell: (r) => (
                  <button type="button" class="link" onClick={() => setOpen(r)}>
                    {fmtTime(r.timestamp)}
                  </button>
                ),
              },
              { title: "Model", cell: (r) => (r.provider ? `${r.provider}:${r.model}` : r.model) },
              { title: "User", cell: (r) => r.user_id ?? "—" },
              { title: "End user", cell: (r) => r.end_user_id ?? "—" },
              {
                title: "Status",
                cell: (r) => <Badge tone={r.status === "success" ? "ok" : "bad"}>{r.status_code ?? r.status}</Badge>,
              },
              { title: "Tokens", cell: (r) => fmtInt(r.total_tokens), numeric: true },
              { title: "Cost", cell: (r) => fmtUsd(r.cost), numeric: true },
              { title: "Latency", cell: (r) => fmtMs(r.latency_ms), numeric: true },
            ]}
          />
          <div class="pager">
            <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Newer
            </button>
            <span class="muted">Page {cursors.length}</span>
            <button
              type="button"
              disabled={!page.data.next_cursor}
              onClick={() => setCursors([...cursors, page.data!.next_cursor])}
            >
              Older
            </button>
          </div>
        </>
      )}
      <Dialog title="Request" open={open !== null} onClose={() => setOpen(null)}>
        {open && <Detail row={open} />}
      </Dialog>
    </section>
  );
}
