/** Keys: create (the secret is shown once), rotate, revoke, delete, limits, the key's own budget and end-user budget. */
import { useState } from "preact/hooks";
import { api, type Outputs } from "../api";
import { type Budget, BudgetSelect, budgetLabel, SpendCell } from "../components/budgets";
import { checked, dateTime, int, list, refChange, text, toLocalInput } from "../components/forms";
import { useAction, useAsync } from "../components/use-async";
import { Badge, CopyButton, Dialog, ErrorNote, Field, Loading, SubmitForm, Table } from "../components/ui";
import { fmtLimits, fmtTime } from "../format";

type Key = Outputs["keys"]["list"][number];

/** The secret of a new or rotated key, shown once, with a copy button. */
function SecretDialog(props: { secret: { id: string; key: string } | null; onClose: () => void }) {
  return (
    <Dialog title="Save the key now" open={props.secret !== null} onClose={props.onClose}>
      {props.secret && (
        <>
          <p>This secret is shown once. Store it somewhere safe; the gateway keeps only its hash.</p>
          <p class="secret">
            <code data-testid="new-secret">{props.secret.key}</code>
          </p>
          <div class="actions">
            <CopyButton text={props.secret.key} label="Copy the key" />
            <button type="button" class="primary" onClick={props.onClose}>
              I saved it
            </button>
          </div>
        </>
      )}
    </Dialog>
  );
}

function KeyForm(props: { initial?: Key; budgets: Budget[]; onSubmit: (form: HTMLFormElement) => Promise<void> }) {
  const k = props.initial;
  return (
    <SubmitForm submit={k ? "Save" : "Create key"} onSubmit={props.onSubmit}>
      <Field label="Name" name="key_name" value={k?.key_name ?? ""} maxLength={256} />
      {!k && (
        <Field label="User id" name="user_id" hint="Created if missing; empty: a user of its own" maxLength={256} />
      )}
      <Field label="Expires" name="expires_at" type="datetime-local" value={toLocalInput(k?.expires_at ?? null)} />
      <Field label="Requests per minute" name="rpm_limit" type="number" min={1} value={k?.rpm_limit ?? ""} />
      <Field label="Tokens per minute" name="tpm_limit" type="number" min={1} value={k?.tpm_limit ?? ""} />
      <Field
        label="Requests in flight at once"
        name="max_concurrent"
        type="number"
        min={0}
        value={k?.max_concurrent ?? ""}
        hint={k ? "0 removes the limit" : undefined}
      />
      <BudgetSelect
        label="Budget"
        name="budget_id"
        value={k?.budget_id}
        budgets={props.budgets}
        hint="The key's own, on top of its user's and team's"
      />
      <BudgetSelect
        label="End-user budget"
        name="end_user_budget_id"
        value={k?.end_user_budget_id}
        budgets={props.budgets}
        hint="Each end user of this key gets a window on it"
      />
      <Field
        label="Allowed models"
        name="allowed_models"
        hint="provider:model or provider:*, comma-separated; empty: all"
        value={k?.allowed_models?.join(", ") ?? ""}
      />
      {k && (
        <label class="check">
          <input type="checkbox" name="is_active" checked={k.is_active} /> Active
        </label>
      )}
    </SubmitForm>
  );
}

export function Keys() {
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Key | null>(null);
  const [secret, setSecret] = useState<{ id: string; key: string } | null>(null);
  const data = useAsync(async () => {
    const [keys, budgets] = await Promise.all([
      api.keys.list.query({ limit: 1000 }),
      api.budgets.list.query({ limit: 1000 }),
    ]);
    return { keys, budgets, budgetById: new Map(budgets.map((b) => [b.budget_id, b])) };
  }, []);
  const { error, act } = useAction(data.reload);
  return (
    <section>
      <div class="page-head">
        <h1>Keys</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New key
        </button>
      </div>
      <ErrorNote error={error ?? data.error} />
      <Loading when={data.loading && !data.data} />
      {data.data && (
        <Table
          caption="Virtual API keys"
          rows={data.data.keys}
          rowKey={(k) => k.id}
          empty="No keys yet."
          columns={[
            { title: "Name", cell: (k) => k.key_name ?? "—" },
            { title: "Prefix", cell: (k) => <code>{k.key_prefix}…</code> },
            { title: "User", cell: (k) => k.user_id ?? "—" },
            {
              title: "State",
              cell: (k) => (k.is_active ? <Badge tone="ok">active</Badge> : <Badge tone="muted">revoked</Badge>),
            },
            {
              title: "Limits",
              cell: (k) => fmtLimits({ rpm: k.rpm_limit, tpm: k.tpm_limit, concurrent: k.max_concurrent }),
            },
            { title: "Budget", cell: (k) => budgetLabel(k.budget_id, data.data!.budgetById) },
            {
              title: "Spend (window)",
              cell: (k) => <SpendCell spend={k.spend} budgetId={k.budget_id} budgets={data.data!.budgetById} />,
              numeric: true,
            },
            { title: "Expires", cell: (k) => fmtTime(k.expires_at) },
            { title: "Last used", cell: (k) => fmtTime(k.last_used_at) },
            {
              title: "Actions",
              cell: (k) => (
                <div class="row-actions">
                  <button
                    type="button"
                    onClick={() => setEditing(k)}
                    aria-label={`Edit key ${k.key_name ?? k.key_prefix}`}
                  >
                    Edit
                  </button>
                  <button
                    type="button"
                    aria-label={`Rotate key ${k.key_name ?? k.key_prefix}`}
                    onClick={() =>
                      confirm("Rotate this key? The old secret stops working at once.") &&
                      act(async () => setSecret(await api.keys.rotate.mutate({ key_id: k.id })))
                    }
                  >
                    Rotate
                  </button>
                  {k.is_active && (
                    <button
                      type="button"
                      aria-label={`Revoke key ${k.key_name ?? k.key_prefix}`}
                      onClick={() =>
                        confirm("Revoke this key? It stops working at once.") &&
                        act(() => api.keys.revoke.mutate({ key_id: k.id }))
                      }
                    >
                      Revoke
                    </button>
                  )}
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete key ${k.key_name ?? k.key_prefix}`}
                    onClick={() =>
                      confirm("Delete this key for good?") && act(() => api.keys.delete.mutate({ key_id: k.id }))
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
      <Dialog title="New key" open={creating} onClose={() => setCreating(false)}>
        <KeyForm
          budgets={data.data?.budgets ?? []}
          onSubmit={async (f) => {
            const created = await api.keys.create.mutate({
              key_name: text(f, "key_name"),
              user_id: text(f, "user_id"),
              expires_at: dateTime(f, "expires_at"),
              rpm_limit: int(f, "rpm_limit"),
              tpm_limit: int(f, "tpm_limit"),
              max_concurrent: int(f, "max_concurrent"),
              budget_id: text(f, "budget_id"),
              end_user_budget_id: text(f, "end_user_budget_id"),
              allowed_models: list(f, "allowed_models"),
            });
            setCreating(false);
            setSecret(created);
            data.reload();
          }}
        />
      </Dialog>
      <Dialog title="Edit key" open={editing !== null} onClose={() => setEditing(null)}>
        {editing && (
          <KeyForm
            initial={editing}
            budgets={data.data?.budgets ?? []}
            onSubmit={async (f) => {
              await api.keys.update.mutate({
                key_id: editing.id,
                data: {
                  key_name: text(f, "key_name"),
                  expires_at: dateTime(f, "expires_at"),
                  rpm_limit: int(f, "rpm_limit"),
                  tpm_limit: int(f, "tpm_limit"),
                  max_concurrent: int(f, "max_concurrent"),
                  budget_id: refChange(f, "budget_id", editing.budget_id),
                  end_user_budget_id: refChange(f, "end_user_budget_id", editing.end_user_budget_id),
                  allowed_models: list(f, "allowed_models"),
                  is_active: checked(f, "is_active"),
                },
              });
              setEditing(null);
              data.reload();
            }}
          />
        )}
      </Dialog>
      <SecretDialog secret={secret} onClose={() => setSecret(null)} />
    </section>
  );
}
