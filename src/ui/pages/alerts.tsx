/**
 * Alerts: webhook rules that post when a key's, user's, team's or end user's spend crosses a share of its budget in
 * the current window, and when a budget starts refusing; each (rule, subject, window, threshold) once. "Send test"
 * posts a test event now and shows how the webhook answered; "Deliveries" lists what the rule has posted, what is
 * still being retried and what gave up, with the webhook's last error.
 */
import { useState } from "preact/hooks";
import { api, type Outputs } from "../api";
import { checked, list, text } from "../components/forms";
import { useAction, useAsync } from "../components/use-async";
import { Badge, Dialog, ErrorNote, Field, Loading, Select, SubmitForm, Table } from "../components/ui";
import { fmtTime, fmtUsd } from "../format";

type Alert = Outputs["alerts"]["list"][number];
type Scope = Alert["scope"];
type TestResult = Outputs["alerts"]["test"];
type Delivery = Outputs["alerts"]["deliveries"][number];

const STATUS_TONE: Record<Delivery["status"], "ok" | "warn" | "bad"> = {
  delivered: "ok",
  pending: "warn",
  failed: "bad",
};

/** A rule's latest alerts (the API's default 100, newest first). */
function Deliveries(props: { alert: Alert }) {
  const data = useAsync(
    () => api.alerts.deliveries.query({ id: props.alert.id, query: { limit: 100 } }),
    [props.alert.id],
  );
  return (
    <>
      <ErrorNote error={data.error} />
      <Loading when={data.loading && !data.data} />
      {data.data && (
        <Table
          caption={`Deliveries of the alert to ${props.alert.url}`}
          rows={data.data}
          rowKey={(d) => d.id}
          empty="No alert has fired for this rule yet."
          columns={[
            { title: "Crossed", cell: (d) => fmtTime(d.created_at) },
            { title: "Subject", cell: (d) => `${d.level.replace("_", " ")} ${d.subject_id}` },
            { title: "Threshold", cell: (d) => (d.threshold === null ? "refusing" : `${d.threshold} %`) },
            { title: "Spend / budget", cell: (d) => `${fmtUsd(d.spend)} / ${fmtUsd(d.max_budget)}` },
            { title: "Status", cell: (d) => <Badge tone={STATUS_TONE[d.status]}>{d.status}</Badge> },
            { title: "Attempts", cell: (d) => String(d.attempts), numeric: true },
            {
              title: "Last error / delivered",
              cell: (d) =>
                d.status === "delivered"
                  ? fmtTime(d.delivered_at)
                  : `${d.last_error ?? ""}${d.next_attempt_at ? ` (next try ${fmtTime(d.next_attempt_at)})` : ""}`,
            },
          ]}
        />
      )}
    </>
  );
}

const SCOPES: [Scope, string][] = [
  ["any", "Any level"],
  ["key", "Key"],
  ["user", "User"],
  ["team", "Team"],
  ["end_user", "End user"],
];
const FORMATS: [Alert["format"], string][] = [
  ["json", "JSON"],
  ["slack", "Slack"],
];

const scopeText = (a: Alert) =>
  a.scope === "any" ? "any level" : `${a.scope.replace("_", " ")} ${a.scope_id ?? "(each)"}`;

/** Comma-separated percents; a word that is not a number is sent as NaN, which the API refuses by name. */
function thresholds(f: HTMLFormElement): number[] | null {
  return list(f, "thresholds")?.map(Number) ?? null;
}

function AlertForm(props: { initial?: Alert; onSubmit: (f: HTMLFormElement) => Promise<void> }) {
  const a = props.initial;
  return (
    <SubmitForm submit={a ? "Save" : "Add alert"} onSubmit={props.onSubmit}>
      {a ? (
        <p>
          Watches <strong>{scopeText(a)}</strong> (scope is fixed: add a new alert for another one).
        </p>
      ) : (
        <>
          <Select label="Level" name="scope" value="any" options={SCOPES} />
          <Field
            label="Subject id"
            name="scope_id"
            maxLength={256}
            hint="Only this key, user, team or end-user id; empty: all of them"
          />
        </>
      )}
      <Field
        label="Thresholds (% of the budget)"
        name="thresholds"
        value={a?.thresholds.join(", ") ?? ""}
        placeholder="80, 100"
        hint={a ? "Comma-separated" : "Comma-separated; empty: 80, 100"}
      />
      <Field label="Webhook URL" name="url" type="url" required value={a?.url ?? ""} maxLength={2048} />
      <Select label="Format" name="format" value={a?.format ?? "json"} options={FORMATS} />
      <Field
        label="Signing secret"
        name="secret"
        type="password"
        autoComplete="off"
        maxLength={512}
        hint={
          a?.has_secret
            ? "Empty: keep the current one"
            : "Optional: the body is then signed (X-Gateway-Signature, HMAC-SHA256)"
        }
      />
      {a?.has_secret && (
        <label class="check">
          <input type="checkbox" name="remove_secret" /> Remove the secret
        </label>
      )}
    </SubmitForm>
  );
}

export function Alerts() {
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Alert | null>(null);
  const [tested, setTested] = useState<{ alert: Alert; result: TestResult } | null>(null);
  const [history, setHistory] = useState<Alert | null>(null);
  const data = useAsync(() => api.alerts.list.query(), []);
  const { error, act } = useAction(data.reload);
  const done = () => {
    setCreating(false);
    setEditing(null);
    data.reload();
  };
  return (
    <section>
      <div class="page-head">
        <h1>Alerts</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New alert
        </button>
      </div>
      <p class="muted">
        Delivery is off the request path and retried with backoff; a dead webhook never slows a request.
      </p>
      <ErrorNote error={error ?? data.error} />
      <Loading when={data.loading && !data.data} />
      {data.data && (
        <Table
          caption="Spend alerts"
          rows={data.data}
          rowKey={(a) => a.id}
          empty="No alerts yet."
          columns={[
            { title: "Watches", cell: scopeText },
            { title: "Thresholds", cell: (a) => a.thresholds.map((t) => `${t} %`).join(", ") },
            { title: "Webhook", cell: (a) => <code>{a.url}</code> },
            { title: "Format", cell: (a) => a.format },
            {
              title: "Signed",
              cell: (a) => (a.has_secret ? <Badge tone="ok">signed</Badge> : <Badge tone="muted">unsigned</Badge>),
            },
            { title: "Updated", cell: (a) => fmtTime(a.updated_at) },
            {
              title: "Actions",
              cell: (a) => (
                <div class="row-actions">
                  <button type="button" onClick={() => setEditing(a)} aria-label={`Edit alert to ${a.url}`}>
                    Edit
                  </button>
                  <button
                    type="button"
                    aria-label={`Send test to ${a.url}`}
                    onClick={() =>
                      act(async () => setTested({ alert: a, result: await api.alerts.test.mutate({ id: a.id }) }))
                    }
                  >
                    Send test
                  </button>
                  <button
                    type="button"
                    aria-label={`Deliveries of the alert to ${a.url}`}
                    onClick={() => setHistory(a)}
                  >
                    Deliveries
                  </button>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete alert to ${a.url}`}
                    onClick={() =>
                      confirm("Delete this alert and its delivery history?") &&
                      act(() => api.alerts.delete.mutate({ id: a.id }))
                    }
                  >
                    Delete
                  </button>
                </div>
              ),
            },
          ]}
        />
      )}
      <Dialog title="New alert" open={creating} onClose={() => setCreating(false)}>
        <AlertForm
          onSubmit={async (f) => {
            await api.alerts.create.mutate({
              scope: (text(f, "scope") ?? "any") as Scope,
              scope_id: text(f, "scope_id"),
              url: text(f, "url") ?? "",
              format: (text(f, "format") ?? "json") as Alert["format"],
              secret: text(f, "secret"),
              ...(thresholds(f) ? { thresholds: thresholds(f)! } : {}),
            });
            done();
          }}
        />
      </Dialog>
      <Dialog title="Edit alert" open={editing !== null} onClose={() => setEditing(null)}>
        {editing && (
          <AlertForm
            initial={editing}
            onSubmit={async (f) => {
              await api.alerts.update.mutate({
                id: editing.id,
                data: {
                  thresholds: thresholds(f),
                  url: text(f, "url"),
                  format: text(f, "format") as Alert["format"] | null,
                  secret: checked(f, "remove_secret") ? "" : text(f, "secret"),
                },
              });
              done();
            }}
          />
        )}
      </Dialog>
      <Dialog title="Alert deliveries" open={history !== null} onClose={() => setHistory(null)}>
        {history && <Deliveries alert={history} />}
      </Dialog>
      <Dialog title="Test alert" open={tested !== null} onClose={() => setTested(null)}>
        {tested && (
          <div role="status">
            <p>
              {tested.result.delivered ? <Badge tone="ok">delivered</Badge> : <Badge tone="bad">not delivered</Badge>}{" "}
              to <code>{tested.alert.url}</code>
            </p>
            <p>
              Webhook answered: {tested.result.status_code === null ? "no answer" : `HTTP ${tested.result.status_code}`}
              {tested.result.error ? ` (${tested.result.error})` : ""}
            </p>
          </div>
        )}
      </Dialog>
    </section>
  );
}
