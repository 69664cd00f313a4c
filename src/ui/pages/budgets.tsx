/**
 * Budgets: caps and periods, and each budget's reset log; which keys, teams and users are on which budget (and
 * which end-user budget), assigned here; the end users with their own windows. Alerts on them: the Alerts page.
 */
import { useState } from "preact/hooks";
import { api, type Outputs } from "../api";
import { type Budget, BudgetSelect, budgetLabel, SpendCell } from "../components/budgets";
import { int, num, refChange } from "../components/forms";
import { useAction, useAsync } from "../components/use-async";
import { Dialog, ErrorNote, Field, Loading, Select, SubmitForm, Table } from "../components/ui";
import { fmtDuration, fmtTime, fmtUsd, plural } from "../format";
import { Link } from "../router";

type Key = Outputs["keys"]["list"][number];

const PERIODS: [string, string][] = [
  ["", "Never resets"],
  ["3600", "Hourly"],
  ["86400", "Daily"],
  ["604800", "Weekly"],
  ["2592000", "Every 30 days"],
];

function BudgetForm(props: { initial?: Budget; onSubmit: (f: HTMLFormElement) => Promise<void> }) {
  const b = props.initial;
  const [period, setPeriod] = useState(b?.budget_duration_sec ? String(b.budget_duration_sec) : "");
  return (
    <SubmitForm submit={b ? "Save" : "Create budget"} onSubmit={props.onSubmit}>
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
    </SubmitForm>
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
            { title: "Level", cell: (r) => LEVEL_NAMES[r.level] },
            { title: "Of", cell: (r) => r.subject_id ?? r.user_id ?? "—" },
            { title: "Spend before", cell: (r) => fmtUsd(r.previous_spend), numeric: true },
            { title: "Next reset", cell: (r) => fmtTime(r.next_reset_at) },
          ]}
        />
      )}
    </>
  );
}

const LEVEL_NAMES = { key: "key", user: "user", team: "team", end_user: "end user" } as const;

/** Whose budgets the assign dialog changes; `endUserBudget` only where the level has one (keys, users). */
interface Assignment {
  level: "key" | "team" | "user";
  id: string;
  name: string;
  budgetId: string | null;
  endUserBudget?: string | null;
}

function AssignForm(props: { target: Assignment; budgets: Budget[]; onDone: () => void }) {
  const a = props.target;
  return (
    <SubmitForm
      submit="Assign"
      onSubmit={async (f) => {
        const data = {
          budget_id: refChange(f, "budget_id", a.budgetId),
          ...(a.endUserBudget !== undefined
            ? { end_user_budget_id: refChange(f, "end_user_budget_id", a.endUserBudget) }
            : {}),
        };
        if (a.level === "key") await api.keys.update.mutate({ key_id: a.id, data });
        else if (a.level === "team") await api.teams.update.mutate({ team_id: a.id, data });
        else await api.users.update.mutate({ user_id: a.id, data });
        props.onDone();
      }}
    >
      <p>
        {LEVEL_NAMES[a.level]} <strong>{a.name}</strong>
      </p>
      <BudgetSelect
        label="Budget"
        name="budget_id"
        value={a.budgetId}
        budgets={props.budgets}
        hint="Choosing another budget starts a new window"
      />
      {a.endUserBudget !== undefined && (
        <BudgetSelect
          label="End-user budget"
          name="end_user_budget_id"
          value={a.endUserBudget}
          budgets={props.budgets}
          hint={`Each end user gets its own window on it${a.level === "user" ? " (a key's own wins)" : ""}`}
        />
      )}
    </SubmitForm>
  );
}

const keyName = (k: Key) => k.key_name ?? `${k.key_prefix}…`;

function AssignButton(props: { target: Assignment; onClick: (a: Assignment) => void }) {
  return (
    <button
      type="button"
      onClick={() => props.onClick(props.target)}
      aria-label={`Assign budgets to ${LEVEL_NAMES[props.target.level]} ${props.target.name}`}
    >
      Assign
    </button>
  );
}

/** End users (the `user` of requests) with their own windows, optionally of one user or key. */
function EndUsers(props: { budgetById: Map<string, Budget>; users: string[]; keys: Key[] }) {
  const [filter, setFilter] = useState<{ user_id?: string; key_id?: string }>({});
  const list = useAsync(() => api.endUsers.list.query({ ...filter, limit: 1000 }), [filter.user_id, filter.key_id]);
  return (
    <>
      <div class="filters">
        <Select
          label="Billed user"
          value={filter.user_id ?? ""}
          onChange={(v) => setFilter({ ...filter, user_id: v || undefined })}
          options={[["", "All users"], ...props.users.map((u): [string, string] => [u, u])]}
        />
        <Select
          label="Through key"
          value={filter.key_id ?? ""}
          onChange={(v) => setFilter({ ...filter, key_id: v || undefined })}
          options={[["", "All keys"], ...props.keys.map((k): [string, string] => [k.id, keyName(k)])]}
        />
      </div>
      <ErrorNote error={list.error} />
      {list.data && (
        <Table
          caption="End users"
          rows={list.data}
          rowKey={(e) => `${e.user_id}\u0000${e.end_user_id}`}
          empty="No end user yet: they appear with the first request naming one (the `user` field) under an end-user budget."
          columns={[
            { title: "End user", cell: (e) => e.end_user_id },
            { title: "Billed user", cell: (e) => e.user_id },
            { title: "Budget", cell: (e) => budgetLabel(e.budget_id, props.budgetById) },
            {
              title: "Spend (window)",
              cell: (e) => <SpendCell spend={e.spend} budgetId={e.budget_id} budgets={props.budgetById} />,
              numeric: true,
            },
            { title: "Reserved (in flight)", cell: (e) => fmtUsd(e.reserved), numeric: true },
            { title: "Window from", cell: (e) => fmtTime(e.budget_started_at) },
            { title: "Resets", cell: (e) => fmtTime(e.next_budget_reset_at) },
            {
              title: "Requests",
              cell: (e) => (
                <Link
                  href={`/ui/requests?user_id=${encodeURIComponent(e.user_id)}&end_user_id=${encodeURIComponent(e.end_user_id)}`}
                >
                  Requests
                </Link>
              ),
            },
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
  const [assigning, setAssigning] = useState<Assignment | null>(null);
  const data = useAsync(async () => {
    const [budgets, users, teams, keys] = await Promise.all([
      api.budgets.list.query({ limit: 1000 }),
      api.users.list.query({ limit: 1000 }),
      api.teams.list.query({ limit: 1000 }),
      api.keys.list.query({ limit: 1000 }),
    ]);
    return { budgets, users, teams, keys, budgetById: new Map(budgets.map((b) => [b.budget_id, b])) };
  }, []);
  const { error, act } = useAction(data.reload);
  const submit =
    (fn: (input: { max_budget: number | null; budget_duration_sec: number | null }) => Promise<unknown>) =>
    async (f: HTMLFormElement) => {
      await fn({ max_budget: num(f, "max_budget"), budget_duration_sec: int(f, "budget_duration_sec") });
      setCreating(false);
      setEditing(null);
      data.reload();
    };
  const d = data.data;
  /** "1 key, 2 users, end users of 1 key": who is on a budget, and whose end users get windows on it. */
  const assignedTo = (b: Budget) => {
    const count = (n: number, noun: string) => (n ? plural(n, noun) : null);
    const on = (rows: { budget_id: string | null }[], noun: string) =>
      count(rows.filter((r) => r.budget_id === b.budget_id).length, noun);
    const perEndUser = (rows: { end_user_budget_id: string | null }[], noun: string) =>
      count(rows.filter((r) => r.end_user_budget_id === b.budget_id).length, noun);
    const endUsersOf = [perEndUser(d!.keys, "key"), perEndUser(d!.users, "user")].filter(Boolean).join(" and ");
    return (
      [on(d!.keys, "key"), on(d!.teams, "team"), on(d!.users, "user"), endUsersOf ? `end users of ${endUsersOf}` : null]
        .filter(Boolean)
        .join(", ") || "—"
    );
  };
  const spendCell = (r: { spend: number; budget_id: string | null }) => (
    <SpendCell spend={r.spend} budgetId={r.budget_id} budgets={d!.budgetById} />
  );
  return (
    <section>
      <div class="page-head">
        <h1>Budgets</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New budget
        </button>
      </div>
      <p class="muted">
        A request is served only if every budget on its path has room: its key's, its user's, its team's and, with an
        end-user budget, its end user's. Assign them below; alerts before money runs out are on the{" "}
        <Link href="/ui/alerts">Alerts</Link> page.
      </p>
      <ErrorNote error={error ?? data.error} />
      <Loading when={data.loading && !d} />
      {d && (
        <>
          <Table
            caption="Budgets"
            rows={d.budgets}
            rowKey={(b) => b.budget_id}
            empty="No budgets yet."
            columns={[
              { title: "Budget", cell: (b) => <code>{b.budget_id}</code> },
              { title: "Cap", cell: (b) => (b.max_budget === null ? "no cap" : fmtUsd(b.max_budget)), numeric: true },
              { title: "Period", cell: (b) => fmtDuration(b.budget_duration_sec) },
              { title: "Assigned to", cell: assignedTo },
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
                      onClick={() =>
                        confirm("Delete this budget?") &&
                        act(() => api.budgets.delete.mutate({ budget_id: b.budget_id }))
                      }
                    >
                      Delete
                    </button>
                  </div>
                ),
              },
            ]}
          />
          <h2>Key budgets</h2>
          <Table
            caption="Key budgets"
            rows={d.keys}
            rowKey={(k) => k.id}
            empty="No keys yet."
            columns={[
              { title: "Key", cell: keyName },
              { title: "User", cell: (k) => k.user_id ?? "—" },
              { title: "Budget", cell: (k) => budgetLabel(k.budget_id, d.budgetById) },
              { title: "Spend (window)", cell: spendCell, numeric: true },
              { title: "Resets", cell: (k) => fmtTime(k.next_budget_reset_at) },
              { title: "End-user budget", cell: (k) => budgetLabel(k.end_user_budget_id, d.budgetById) },
              {
                title: "Actions",
                cell: (k) => (
                  <AssignButton
                    onClick={setAssigning}
                    target={{
                      level: "key",
                      id: k.id,
                      name: keyName(k),
                      budgetId: k.budget_id,
                      endUserBudget: k.end_user_budget_id,
                    }}
                  />
                ),
              },
            ]}
          />
          <h2>Team budgets</h2>
          <Table
            caption="Team budgets"
            rows={d.teams}
            rowKey={(t) => t.team_id}
            empty="No teams yet."
            columns={[
              { title: "Team", cell: (t) => t.team_id },
              { title: "Budget", cell: (t) => budgetLabel(t.budget_id, d.budgetById) },
              { title: "Spend (window)", cell: spendCell, numeric: true },
              { title: "Resets", cell: (t) => fmtTime(t.next_budget_reset_at) },
              {
                title: "Actions",
                cell: (t) => (
                  <AssignButton
                    onClick={setAssigning}
                    target={{ level: "team", id: t.team_id, name: t.team_id, budgetId: t.budget_id }}
                  />
                ),
              },
            ]}
          />
          <h2>User budgets</h2>
          <Table
            caption="User budgets"
            rows={d.users}
            rowKey={(u) => u.user_id}
            empty="No users yet."
            columns={[
              { title: "User", cell: (u) => u.user_id },
              { title: "Team", cell: (u) => u.team_id ?? "—" },
              { title: "Budget", cell: (u) => budgetLabel(u.budget_id, d.budgetById) },
              { title: "Spend (window)", cell: spendCell, numeric: true },
              { title: "Resets", cell: (u) => fmtTime(u.next_budget_reset_at) },
              { title: "End-user budget", cell: (u) => budgetLabel(u.end_user_budget_id, d.budgetById) },
              {
                title: "Actions",
                cell: (u) => (
                  <AssignButton
                    onClick={setAssigning}
                    target={{
                      level: "user",
                      id: u.user_id,
                      name: u.user_id,
                      budgetId: u.budget_id,
                      endUserBudget: u.end_user_budget_id,
                    }}
                  />
                ),
              },
            ]}
          />
          <h2>End users</h2>
          <EndUsers budgetById={d.budgetById} users={d.users.map((u) => u.user_id)} keys={d.keys} />
        </>
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
      <Dialog title="Assign budgets" open={assigning !== null} onClose={() => setAssigning(null)}>
        {assigning && d && (
          <AssignForm
            target={assigning}
            budgets={d.budgets}
            onDone={() => {
              setAssigning(null);
              data.reload();
            }}
          />
        )}
      </Dialog>
    </section>
  );
}
