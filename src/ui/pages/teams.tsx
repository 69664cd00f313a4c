/** Teams: their members, spend in the current budget window and over the last day, limits, allow-list and blocking. */
import { useState } from "preact/hooks";
import { api, errorMessage, type Outputs } from "../api";
import { checked, int, list, text } from "../components/forms";
import { useAsync } from "../components/use-async";
import { Badge, Dialog, ErrorNote, Field, Loading, Table } from "../components/ui";
import { fmtInt, fmtTime, fmtUsd } from "../format";

type Team = Outputs["teams"]["list"][number];
type Budget = Outputs["budgets"]["list"][number];

const DAY_MS = 86_400_000;

function TeamForm(props: { initial?: Team; budgets: Budget[]; onSubmit: (f: HTMLFormElement) => Promise<void> }) {
  const team = props.initial;
  const [error, setError] = useState<string | null>(null);
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
      {!team && <Field label="Team id" name="team_id" required maxLength={256} />}
      <Field label="Alias" name="alias" value={team?.alias ?? ""} maxLength={256} />
      <label class="field">
        <span>Budget</span>
        <select name="budget_id" value={team?.budget_id ?? ""}>
          <option value="">{team?.budget_id ? "(keep the current one)" : "No budget"}</option>
          {props.budgets.map((b) => (
            <option key={b.budget_id} value={b.budget_id}>
              {b.budget_id} ({b.max_budget === null ? "no cap" : fmtUsd(b.max_budget)})
            </option>
          ))}
        </select>
      </label>
      <Field label="Requests per minute" name="rpm_limit" type="number" min={1} value={team?.rpm_limit ?? ""} />
      <Field label="Tokens per minute" name="tpm_limit" type="number" min={1} value={team?.tpm_limit ?? ""} />
      <Field
        label="Requests in flight at once"
        name="max_concurrent"
        type="number"
        min={1}
        value={team?.max_concurrent ?? ""}
      />
      <Field
        label="Allowed models (comma-separated, empty = all)"
        name="allowed_models"
        value={team?.allowed_models?.join(", ") ?? ""}
      />
      <label class="check">
        <input type="checkbox" name="blocked" checked={team?.blocked ?? false} /> Blocked
      </label>
      <ErrorNote error={error} />
      <button type="submit" class="primary">
        {team ? "Save" : "Create team"}
      </button>
    </form>
  );
}

/** The form's fields as the API takes them (both create and update). */
function fieldsOf(f: HTMLFormElement) {
  return {
    alias: text(f, "alias"),
    budget_id: text(f, "budget_id"),
    rpm_limit: int(f, "rpm_limit"),
    tpm_limit: int(f, "tpm_limit"),
    max_concurrent: int(f, "max_concurrent"),
    allowed_models: list(f, "allowed_models"),
    blocked: checked(f, "blocked"),
  };
}

const limitsOf = (t: Team) =>
  [
    t.rpm_limit ? `${fmtInt(t.rpm_limit)} rpm` : null,
    t.tpm_limit ? `${fmtInt(t.tpm_limit)} tpm` : null,
    t.max_concurrent ? `${fmtInt(t.max_concurrent)} in flight` : null,
  ]
    .filter(Boolean)
    .join(" / ") || "—";

export function Teams() {
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Team | null>(null);
  const [error, setError] = useState<string | null>(null);
  const data = useAsync(async () => {
    const end = new Date();
    const [teams, budgets, day] = await Promise.all([
      api.teams.list.query({ limit: 1000 }),
      api.budgets.list.query({ limit: 1000 }),
      api.usage.summary.query({
        start: new Date(end.getTime() - DAY_MS).toISOString(),
        end: end.toISOString(),
        group_by: "team",
        order_by: "cost",
        limit: 1000,
      }),
    ]);
    const lastDay = new Map(day.groups.map((g) => [g.key, g]));
    return { teams, budgets, lastDay };
  }, []);
  const budgetMax = (id: string | null) => {
    const b = id ? data.data?.budgets.find((x) => x.budget_id === id) : undefined;
    return b ? (b.max_budget === null ? "no cap" : fmtUsd(b.max_budget)) : "—";
  };
  return (
    <section>
      <div class="page-head">
        <h1>Teams</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New team
        </button>
      </div>
      <ErrorNote error={error ?? data.error} />
      <Loading when={data.loading && !data.data} />
      {data.data && (
        <Table
          caption="Teams"
          rows={data.data.teams}
          rowKey={(t) => t.team_id}
          columns={[
            { title: "Team", cell: (t) => t.team_id },
            { title: "Alias", cell: (t) => t.alias ?? "—" },
            { title: "Members", cell: (t) => fmtInt(t.members), numeric: true },
            { title: "Spend (window)", cell: (t) => fmtUsd(t.spend), numeric: true },
            { title: "Budget", cell: (t) => (t.budget_id ? `${t.budget_id}: ${budgetMax(t.budget_id)}` : "—") },
            { title: "Resets", cell: (t) => fmtTime(t.next_budget_reset_at) },
            {
              title: "Requests (24 h)",
              cell: (t) => fmtInt(data.data?.lastDay.get(t.team_id)?.requests ?? 0),
              numeric: true,
            },
            {
              title: "Cost (24 h)",
              cell: (t) => fmtUsd(data.data?.lastDay.get(t.team_id)?.cost ?? 0),
              numeric: true,
            },
            { title: "Limits", cell: limitsOf },
            { title: "Models", cell: (t) => t.allowed_models?.join(", ") ?? "all" },
            {
              title: "State",
              cell: (t) => (t.blocked ? <Badge tone="bad">blocked</Badge> : <Badge tone="ok">active</Badge>),
            },
            {
              title: "Actions",
              cell: (t) => (
                <div class="row-actions">
                  <button type="button" onClick={() => setEditing(t)} aria-label={`Edit team ${t.team_id}`}>
                    Edit
                  </button>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete team ${t.team_id}`}
                    onClick={async () => {
                      if (!confirm("Delete this team? A team with members cannot be deleted.")) return;
                      try {
                        await api.teams.delete.mutate({ team_id: t.team_id });
                        setError(null);
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
      <Dialog title="New team" open={creating} onClose={() => setCreating(false)}>
        <TeamForm
          budgets={data.data?.budgets ?? []}
          onSubmit={async (f) => {
            await api.teams.create.mutate({ team_id: text(f, "team_id") ?? "", ...fieldsOf(f) });
            setCreating(false);
            data.reload();
          }}
        />
      </Dialog>
      <Dialog title="Edit team" open={editing !== null} onClose={() => setEditing(null)}>
        {editing && (
          <TeamForm
            initial={editing}
            budgets={data.data?.budgets ?? []}
            onSubmit={async (f) => {
              const { budget_id, ...rest } = fieldsOf(f);
              // An empty budget field keeps the current one (assigning a budget starts a new window).
              await api.teams.update.mutate({
                team_id: editing.team_id,
                data: { ...rest, ...(budget_id ? { budget_id } : {}) },
              });
              setEditing(null);
              data.reload();
            }}
          />
        )}
      </Dialog>
    </section>
  );
}
