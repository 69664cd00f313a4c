/** Users: who is billed, their spend in the current budget period, limits, budget and blocking. */
import { useState } from "preact/hooks";
import { api, errorMessage, type Outputs } from "../api";
import { checked, int, text } from "../components/forms";
import { useAsync } from "../components/use-async";
import { Badge, Dialog, ErrorNote, Field, Loading, Table } from "../components/ui";
import { fmtInt, fmtTime, fmtUsd } from "../format";
import { Link } from "../router";

type User = Outputs["users"]["list"][number];
type Budget = Outputs["budgets"]["list"][number];

function UserForm(props: { initial?: User; budgets: Budget[]; onSubmit: (f: HTMLFormElement) => Promise<void> }) {
  const u = props.initial;
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
      {!u && <Field label="User id" name="user_id" required maxLength={256} />}
      <Field label="Alias" name="alias" value={u?.alias ?? ""} maxLength={256} />
      <label class="field">
        <span>Budget</span>
        <select name="budget_id" value={u?.budget_id ?? ""}>
          <option value="">{u?.budget_id ? "(keep the current one)" : "No budget"}</option>
          {props.budgets.map((b) => (
            <option key={b.budget_id} value={b.budget_id}>
              {b.budget_id} ({b.max_budget === null ? "no cap" : fmtUsd(b.max_budget)})
            </option>
          ))}
        </select>
      </label>
      <Field label="Requests per minute" name="rpm_limit" type="number" min={1} value={u?.rpm_limit ?? ""} />
      <Field label="Tokens per minute" name="tpm_limit" type="number" min={1} value={u?.tpm_limit ?? ""} />
      <label class="check">
        <input type="checkbox" name="blocked" checked={u?.blocked ?? false} /> Blocked
      </label>
      <ErrorNote error={error} />
      <button type="submit" class="primary">
        {u ? "Save" : "Create user"}
      </button>
    </form>
  );
}

export function Users() {
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);
  const data = useAsync(async () => {
    const [users, budgets] = await Promise.all([
      api.users.list.query({ limit: 1000 }),
      api.budgets.list.query({ limit: 1000 }),
    ]);
    return { users, budgets };
  }, []);
  const budgetMax = (id: string | null) => {
    const b = id ? data.data?.budgets.find((x) => x.budget_id === id) : undefined;
    return b ? (b.max_budget === null ? "no cap" : fmtUsd(b.max_budget)) : "—";
  };
  return (
    <section>
      <div class="page-head">
        <h1>Users</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New user
        </button>
      </div>
      <ErrorNote error={error ?? data.error} />
      <Loading when={data.loading && !data.data} />
      {data.data && (
        <Table
          caption="Users"
          rows={data.data.users}
          rowKey={(u) => u.user_id}
          columns={[
            { title: "User", cell: (u) => u.user_id },
            { title: "Alias", cell: (u) => u.alias ?? "—" },
            { title: "Spend (period)", cell: (u) => fmtUsd(u.spend), numeric: true },
            { title: "Budget", cell: (u) => (u.budget_id ? `${u.budget_id}: ${budgetMax(u.budget_id)}` : "—") },
            { title: "Resets", cell: (u) => fmtTime(u.next_budget_reset_at) },
            {
              title: "Limits",
              cell: (u) =>
                `${u.rpm_limit ? `${fmtInt(u.rpm_limit)} rpm` : "—"} / ${u.tpm_limit ? `${fmtInt(u.tpm_limit)} tpm` : "—"}`,
            },
            {
              title: "State",
              cell: (u) => (u.blocked ? <Badge tone="bad">blocked</Badge> : <Badge tone="ok">active</Badge>),
            },
            {
              title: "Actions",
              cell: (u) => (
                <div class="row-actions">
                  <button type="button" onClick={() => setEditing(u)} aria-label={`Edit user ${u.user_id}`}>
                    Edit
                  </button>
                  <Link href={`/ui/requests?user_id=${encodeURIComponent(u.user_id)}`}>Requests</Link>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete user ${u.user_id}`}
                    onClick={async () => {
                      if (!confirm("Delete this user? Its keys are deactivated; its usage stays.")) return;
                      try {
                        await api.users.delete.mutate({ user_id: u.user_id });
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
      <Dialog title="New user" open={creating} onClose={() => setCreating(false)}>
        <UserForm
          budgets={data.data?.budgets ?? []}
          onSubmit={async (f) => {
            await api.users.create.mutate({
              user_id: text(f, "user_id") ?? "",
              alias: text(f, "alias"),
              budget_id: text(f, "budget_id"),
              rpm_limit: int(f, "rpm_limit"),
              tpm_limit: int(f, "tpm_limit"),
              blocked: checked(f, "blocked"),
            });
            setCreating(false);
            data.reload();
          }}
        />
      </Dialog>
      <Dialog title="Edit user" open={editing !== null} onClose={() => setEditing(null)}>
        {editing && (
          <UserForm
            initial={editing}
            budgets={data.data?.budgets ?? []}
            onSubmit={async (f) => {
              await api.users.update.mutate({
                user_id: editing.user_id,
                data: {
                  alias: text(f, "alias"),
                  budget_id: text(f, "budget_id"),
                  rpm_limit: int(f, "rpm_limit"),
                  tpm_limit: int(f, "tpm_limit"),
                  blocked: checked(f, "blocked"),
                },
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
