/** Budgets: caps and periods, who is on each, and each budget's reset log. Alerts arrive with key and team budgets. */
import { useState } from "preact/hooks";
import { api, errorMessage, type Outputs } from "../api";
import { int, num } from "../components/forms";
import { useAsync } from "../components/use-async";
import { Dialog, ErrorNote, Field, Loading, Select, Table } from "../components/ui";
import { fmtDuration, fmtTime, fmtUsd } from "../format";

type Budget = Outputs["budgets"]["list"][number];

const PERIODS: [string, string][] = [
  ["", "Never resets"],
  ["3600", "Hourly"],
  ["86400", "Daily"],
  ["604800", "Weekly"],
  ["2592000", "Every 30 days"],
];

function BudgetForm(props: { initial?: Budget; onSubmit: (f: HTMLFormElement) => Promise<void> }) {
  const b = props.initial;
  const [error, setError] = useState<string | null>(null);
  const [period, setPeriod] = useState(b?.budget_duration_sec ? String(b.budget_duration_sec) : "");
  return (
    <form
      class="stack"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await props.onSubmit(e.currentTarget);
        } catch (err) {
          setError(errorMessage(err));
        }
      }}
    >
      <Field
        label="Cap (USD)"
        name="max_budget"
        type="number"
        min={0}
        step="any"
        value={b?.max_budget ?? ""}
        hint="Empty: no cap"
      />
      <Select
        label="Period"
        value={PERIODS.some(([v]) => v === period) ? period : "custom"}
        onChange={setPeriod}
        options={[
          ...PERIODS,
          ...(PERIODS.some(([v]) => v === period) ? [] : ([["custom", "Custom"]] as [string, string][])),
        ]}
      />
      <Field
        label="Period in seconds"
        name="budget_duration_sec"
        type="number"
        min={1}
        value={period}
        onInput={(e) => setPeriod(e.currentTarget.value)}
      />
      <ErrorNote error={error} />
      <button type="submit" class="primary">
        {b ? "Save" : "Create budget"}
      </button>
    </form>
  );
}

function ResetLog(props: { budgetId: string }) {
  const log = useAsync(() => api.budgets.resetLogs.query({ budget_id: props.budgetId, limit: 100 }), [props.budgetId]);
  return (
    <>
      <ErrorNote error={log.error} />
      {log.data && (
        <Table
          caption={`Resets of budget ${props.budgetId}`}
          rows={log.data}
          rowKey={(r) => String(r.id)}
          empty="No reset yet."
          columns={[
            { title: "Reset at", cell: (r) => fmtTime(r.reset_at) },
            { title: "User", cell: (r) => r.user_id ?? "—" },
            { title: "Spend before", cell: (r) => fmtUsd(r.previous_spend), numeric: true },
            { title: "Next reset", cell: (r) => fmtTime(r.next_reset_at) },
          ]}
        />
      )}
    </>
  );
}

export function Budgets() {
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Budget | null>(null);
  const [resets, setResets] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const data = useAsync(async () => {
    const [budgets, users] = await Promise.all([
      api.budgets.list.query({ limit: 1000 }),
      api.users.list.query({ limit: 1000 }),
    ]);
    return { budgets, users };
  }, []);
  const submit =
    (fn: (input: { max_budget: number | null; budget_duration_sec: number | null }) => Promise<unknown>) =>
    async (f: HTMLFormElement) => {
      await fn({ max_budget: num(f, "max_budget"), budget_duration_sec: int(f, "budget_duration_sec") });
      setCreating(false);
      setEditing(null);
      data.reload();
    };
  return (
    <section>
      <div class="page-head">
        <h1>Budgets</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New budget
        </button>
      </div>
      <p class="muted">
        Budgets cap a user's spend per period; assign them on the Users page. Spend alerts come with key and team
        budgets.
      </p>
      <ErrorNote error={error ?? data.error} />
      <Loading when={data.loading && !data.data} />
      {data.data && (
        <Table
          caption="Budgets"
          rows={data.data.budgets}
          rowKey={(b) => b.budget_id}
          empty="No budgets yet."
          columns={[
            { title: "Budget", cell: (b) => <code>{b.budget_id}</code> },
            { title: "Cap", cell: (b) => (b.max_budget === null ? "no cap" : fmtUsd(b.max_budget)), numeric: true },
            { title: "Period", cell: (b) => fmtDuration(b.budget_duration_sec) },
            {
              title: "Users",
              cell: (b) => String(data.data!.users.filter((u) => u.budget_id === b.budget_id).length),
              numeric: true,
            },
            {
              title: "Actions",
              cell: (b) => (
                <div class="row-actions">
                  <button type="button" onClick={() => setEditing(b)} aria-label={`Edit budget ${b.budget_id}`}>
                    Edit
                  </button>
                  <button
                    type="button"
                    onClick={() => setResets(b.budget_id)}
                    aria-label={`Resets of budget ${b.budget_id}`}
                  >
                    Resets
                  </button>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete budget ${b.budget_id}`}
                    onClick={async () => {
                      if (!confirm("Delete this budget?")) return;
                      try {
                        await api.budgets.delete.mutate({ budget_id: b.budget_id });
                        data.reload();
                      } catch (err) {
                        setError(errorMessage(err));
                      }
                    }}
                  >
                    Delete
                  </button>
                </div>
              ),
            },
          ]}
        />
      )}
      <Dialog title="New budget" open={creating} onClose={() => setCreating(false)}>
        <BudgetForm onSubmit={submit((input) => api.budgets.create.mutate(input))} />
      </Dialog>
      <Dialog title="Edit budget" open={editing !== null} onClose={() => setEditing(null)}>
        {editing && (
          <BudgetForm
            initial={editing}
            onSubmit={submit((input) => api.budgets.update.mutate({ budget_id: editing.budget_id, data: input }))}
          />
        )}
      </Dialog>
      <Dialog title="Reset log" open={resets !== null} onClose={() => setResets(null)}>
        {resets && <ResetLog budgetId={resets} />}
      </Dialog>
    </section>
  );
}
