/** Providers: each configured provider's deployments with routing health (this replica's view) and its models. */
import { api } from "../api";
import { AutoRefresh } from "../components/auto-refresh";
import { useAsync } from "../components/use-async";
import { Badge, ErrorNote, Loading, Table } from "../components/ui";
import { fmtInt, fmtTime } from "../format";

export function Providers() {
  const data = useAsync(() => api.providers.query(), []);
  return (
    <section>
      <div class="page-head">
        <h1>Providers</h1>
        <div class="controls">
          <AutoRefresh reload={data.reload} busy={data.loading} />
          <button type="button" onClick={data.reload}>
            Refresh
          </button>
        </div>
      </div>
      <p class="muted">
        Health is what this replica's routing has seen: a deployment that failed three times in a row is skipped during
        its cool-down.
      </p>
      <ErrorNote error={data.error} />
      <Loading when={data.loading && !data.data} />
      {data.data && data.data.providers.length === 0 && (
        <p>No provider is configured; providers are used through their environment variables.</p>
      )}
      {data.data?.providers.map((p) => (
        <section class="panel" key={p.name} aria-labelledby={`provider-${p.name}`}>
          <h2 id={`provider-${p.name}`}>
            {p.name} {p.kind && p.kind !== p.name && <span class="muted">({p.kind})</span>}{" "}
            {!p.kind && <Badge tone="bad">unknown provider type</Badge>}
          </h2>
          <Table
            caption={`Deployments of ${p.name}`}
            rows={p.deployments}
            rowKey={(d) => `${d.api_base}#${d.weight}`}
            columns={[
              { title: "Endpoint", cell: (d) => <code>{d.api_base}</code> },
              { title: "Weight", cell: (d) => String(d.weight), numeric: true },
              { title: "Failures in a row", cell: (d) => fmtInt(d.failures_in_a_row), numeric: true },
              {
                title: "Health",
                cell: (d) =>
                  d.cooling_until ? (
                    <Badge tone="warn">cooling down until {fmtTime(d.cooling_until)}</Badge>
                  ) : d.failures_in_a_row ? (
                    <Badge tone="warn">failing</Badge>
                  ) : (
                    <Badge tone="ok">healthy</Badge>
                  ),
              },
            ]}
          />
          <details>
            <summary>{p.models.length} models</summary>
            <ul class="models">
              {p.models.map((m) => (
                <li key={m.id}>
                  <code>{m.id}</code>
                  {m.input_price_per_million !== null && (
                    <span class="muted">
                      {" "}
                      ${m.input_price_per_million} / ${m.output_price_per_million} per 1M tokens
                    </span>
                  )}
                </li>
              ))}
            </ul>
          </details>
        </section>
      ))}
      {data.data && data.data.aliases.length > 0 && (
        <Table
          caption="Aliases"
          rows={data.data.aliases}
          rowKey={(a) => a.name}
          columns={[
            { title: "Alias", cell: (a) => a.name },
            { title: "First target", cell: (a) => a.target },
          ]}
        />
      )}
    </section>
  );
}
