/** Settings: the configuration in force, secrets redacted by the server. */
import { api } from "../api";
import { useAsync } from "../components/use-async";
import { ErrorNote, Loading, Table } from "../components/ui";

const show = (v: unknown) =>
  v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v, null, 1) : String(v);

export function Settings() {
  const data = useAsync(() => api.settings.query(), []);
  return (
    <section>
      <div class="page-head">
        <h1>Settings</h1>
      </div>
      <p class="muted">
        The effective configuration (file, environment and flags merged); secrets show as [redacted]. Change it in
        config.yml or the environment and restart.
      </p>
      <ErrorNote error={data.error} />
      <Loading when={data.loading && !data.data} />
      {data.data && (
        <>
          <p>
            Config file: <code>{data.data.config_path ?? "none (defaults and environment)"}</code>
          </p>
          <Table
            caption="Configuration"
            rows={Object.entries(data.data.values)}
            rowKey={([k]) => k}
            columns={[
              { title: "Key", cell: ([k]) => <code>{k}</code> },
              { title: "Value", cell: ([, v]) => <pre class="value">{show(v)}</pre> },
            ]}
          />
        </>
      )}
    </section>
  );
}
