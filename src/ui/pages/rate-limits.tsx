/**
 * Rate limits: rules capping requests per minute, tokens per minute and requests in flight, for everything or per
 * team, user or key, optionally for one model or provider. Rules from config.yml are listed read-only.
 */
import { useState } from "preact/hooks";
import { api, type Outputs } from "../api";
import { int, text } from "../components/forms";
import { useAction, useAsync } from "../components/use-async";
import { Badge, Dialog, ErrorNote, Field, Loading, Select, SubmitForm, Table } from "../components/ui";
import { fmtInt, fmtTime } from "../format";

type Rule = Outputs["rateLimits"]["list"][number];
type Scope = Rule["scope"];

const SCOPES: [Scope, string][] = [
  ["global", "Global (one counter for everything)"],
  ["team", "Team"],
  ["user", "User"],
  ["key", "Key"],
];

const scopeText = (r: Rule) =>
  r.scope === "global" ? "global" : `${r.scope} ${r.scope_id ?? `(each ${r.scope} separately)`}`;

/** A rule in words, for labels: "user alice, openai:*". */
const ruleName = (r: Rule) => `${scopeText(r)}, ${r.model ?? "all models"}`;

function RuleForm(props: { initial?: Rule; onSubmit: (f: HTMLFormElement) => Promise<void> }) {
  const r = props.initial;
  return (
    <SubmitForm submit={r ? "Save" : "Add rule"} onSubmit={props.onSubmit}>
      {r ? (
        <p>
          Applies to <strong>{scopeText(r)}</strong> (scope is fixed: add a new rule for another one).
        </p>
      ) : (
        <>
          <Select label="Scope" name="scope" value="user" options={SCOPES} />
          <Field
            label="Scope id"
            name="scope_id"
            maxLength={256}
            hint="That one team, user or key id; empty: each of them separately (none for global)"
          />
        </>
      )}
      <Field
        label="Model"
        name="model"
        value={r?.model ?? ""}
        maxLength={512}
        placeholder="provider:model"
        hint="provider:model or provider:*; empty: all models"
      />
      <Field label="Requests per minute" name="rpm" type="number" min={1} value={r?.rpm ?? ""} />
      <Field label="Tokens per minute" name="tpm" type="number" min={1} value={r?.tpm ?? ""} />
      <Field
        label="Requests in flight at once"
        name="max_concurrent"
        type="number"
        min={1}
        value={r?.max_concurrent ?? ""}
        hint={r ? "An emptied limit is removed; at least one stays" : "At least one limit"}
      />
    </SubmitForm>
  );
}

export function RateLimits() {
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Rule | null>(null);
  const data = useAsync(() => api.rateLimits.list.query(), []);
  const { error, act } = useAction(data.reload);
  const done = () => {
    setCreating(false);
    setEditing(null);
    data.reload();
  };
  const limits = (f: HTMLFormElement) => ({
    model: text(f, "model"),
    rpm: int(f, "rpm"),
    tpm: int(f, "tpm"),
    max_concurrent: int(f, "max_concurrent"),
  });
  // An edit sends what the form shows: an emptied field clears its value (0 / "" in a PATCH), not "unchanged".
  const edits = (f: HTMLFormElement) => {
    const l = limits(f);
    return { model: l.model ?? "", rpm: l.rpm ?? 0, tpm: l.tpm ?? 0, max_concurrent: l.max_concurrent ?? 0 };
  };
  return (
    <section>
      <div class="page-head">
        <h1>Rate limits</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New rule
        </button>
      </div>
      <p class="muted">
        Every rule that matches a request must have room, on top of the rpm, tpm and in-flight limits of its key, user
        and team; a refusal is a 429 naming the rule. Rules from config.yml are read-only here.
      </p>
      <ErrorNote error={error ?? data.error} />
      <Loading when={data.loading && !data.data} />
      {data.data && (
        <Table
          caption="Rate-limit rules"
          rows={data.data}
          rowKey={(r) => r.id}
          empty="No rules yet."
          columns={[
            { title: "Scope", cell: scopeText },
            { title: "Model", cell: (r) => r.model ?? "all" },
            { title: "Requests / min", cell: (r) => fmtInt(r.rpm), numeric: true },
            { title: "Tokens / min", cell: (r) => fmtInt(r.tpm), numeric: true },
            { title: "In flight", cell: (r) => fmtInt(r.max_concurrent), numeric: true },
            {
              title: "Source",
              cell: (r) =>
                r.source === "config" ? <Badge tone="muted">config.yml</Badge> : <Badge tone="ok">API</Badge>,
            },
            { title: "Updated", cell: (r) => fmtTime(r.updated_at) },
            {
              title: "Actions",
              cell: (r) =>
                r.source === "config" ? (
                  <span class="muted">read-only</span>
                ) : (
                  <div class="row-actions">
                    <button type="button" onClick={() => setEditing(r)} aria-label={`Edit rule ${ruleName(r)}`}>
                      Edit
                    </button>
                    <button
                      type="button"
                      class="danger"
                      aria-label={`Delete rule ${ruleName(r)}`}
                      onClick={() =>
                        confirm("Delete this rule?") && act(() => api.rateLimits.delete.mutate({ id: r.id }))
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
      <Dialog title="New rate-limit rule" open={creating} onClose={() => setCreating(false)}>
        <RuleForm
          onSubmit={async (f) => {
            await api.rateLimits.create.mutate({
              scope: (text(f, "scope") ?? "user") as Scope,
              scope_id: text(f, "scope_id"),
              ...limits(f),
            });
            done();
          }}
        />
      </Dialog>
      <Dialog title="Edit rate-limit rule" open={editing !== null} onClose={() => setEditing(null)}>
        {editing && (
          <RuleForm
            initial={editing}
            onSubmit={async (f) => {
              await api.rateLimits.update.mutate({ id: editing.id, data: edits(f) });
              done();
            }}
          />
        )}
      </Dialog>
    </section>
  );
}
