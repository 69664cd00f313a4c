/**
 * The page of a billed principal, shared by Users and Teams: both have an alias, a budget window, rate and in-flight
 * limits, an allow-list and blocking, and the same create/edit/delete. Each page adds its own columns and fields.
 */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api } from "../api";
import { fmtInt, fmtLimits, fmtTime, fmtUsd } from "../format";
import { type Budget, BudgetSelect, budgetLabel, SpendCell } from "./budgets";
import { checked, int, list, refChange, text } from "./forms";
import { useAction, useAsync } from "./use-async";
import { Badge, type Column, Dialog, ErrorNote, Field, Loading, SubmitForm, Table } from "./ui";

export interface Principal {
  alias: string | null;
  spend: number;
  budget_id: string | null;
  next_budget_reset_at: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  max_concurrent: number | null;
  allowed_models: string[] | null;
  blocked: boolean;
}

/** The fields both pages' create and update take; an unchanged budget is left out (undefined). */
export interface PrincipalFields {
  alias: string | null;
  budget_id: string | null | undefined;
  rpm_limit: number | null;
  tpm_limit: number | null;
  max_concurrent: number | null;
  allowed_models: string[] | null;
  blocked: boolean;
}

export interface PrincipalKind<T extends Principal, X> {
  /** "user", "team": in titles, labels and buttons. */
  noun: string;
  title: string;
  /** The dimension of the last day's usage summary. */
  groupBy: "user" | "team";
  idOf: (row: T) => string;
  /** The rows, and whatever the page's own columns and fields need. */
  load: () => Promise<{ rows: T[]; extra: X }>;
  /** Columns after the alias. */
  columns: (extra: X) => Column<T>[];
  /** Form fields after the budget. */
  fields: (row: T | undefined, extra: X, budgets: Budget[]) => ComponentChildren;
  links?: (row: T) => ComponentChildren;
  create: (id: string, fields: PrincipalFields, form: HTMLFormElement) => Promise<unknown>;
  update: (row: T, fields: PrincipalFields, form: HTMLFormElement) => Promise<unknown>;
  remove: (id: string) => Promise<unknown>;
  deleteWarning: string;
}

const DAY_MS = 86_400_000;
const capitalized = (s: string) => s[0]!.toUpperCase() + s.slice(1);

function fieldsOf<T extends Principal>(f: HTMLFormElement, initial: T | undefined): PrincipalFields {
  return {
    alias: text(f, "alias"),
    budget_id: initial ? refChange(f, "budget_id", initial.budget_id) : text(f, "budget_id"),
    rpm_limit: int(f, "rpm_limit"),
    tpm_limit: int(f, "tpm_limit"),
    max_concurrent: int(f, "max_concurrent"),
    allowed_models: list(f, "allowed_models"),
    blocked: checked(f, "blocked"),
  };
}

function PrincipalForm<T extends Principal, X>(props: {
  kind: PrincipalKind<T, X>;
  initial?: T;
  extra: X;
  budgets: Budget[];
  onSubmit: (f: HTMLFormElement) => Promise<void>;
}) {
  const { kind: k, initial: r } = props;
  return (
    <SubmitForm submit={r ? "Save" : `Create ${k.noun}`} onSubmit={props.onSubmit}>
      {!r && <Field label={`${capitalized(k.noun)} id`} name="id" required maxLength={256} />}
      <Field label="Alias" name="alias" value={r?.alias ?? ""} maxLength={256} />
      <BudgetSelect
        label="Budget"
        name="budget_id"
        value={r?.budget_id}
        budgets={props.budgets}
        hint={r ? "Choosing another budget starts a new window" : undefined}
      />
      {k.fields(r, props.extra, props.budgets)}
      <Field label="Requests per minute" name="rpm_limit" type="number" min={1} value={r?.rpm_limit ?? ""} />
      <Field label="Tokens per minute" name="tpm_limit" type="number" min={1} value={r?.tpm_limit ?? ""} />
      <Field
        label="Requests in flight at once"
        name="max_concurrent"
        type="number"
        min={0}
        value={r?.max_concurrent ?? ""}
        hint={r ? "0 removes the limit" : undefined}
      />
      <Field
        label="Allowed models"
        name="allowed_models"
        hint="provider:model or provider:*, comma-separated; empty: all"
        value={r?.allowed_models?.join(", ") ?? ""}
      />
      <label class="check">
        <input type="checkbox" name="blocked" checked={r?.blocked ?? false} /> Blocked
      </label>
    </SubmitForm>
  );
}

export function PrincipalPage<T extends Principal, X>(props: { kind: PrincipalKind<T, X> }) {
  const k = props.kind;
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<T | null>(null);
  const data = useAsync(async () => {
    const end = new Date();
    const [own, budgets, day] = await Promise.all([
      k.load(),
      api.budgets.list.query({ limit: 1000 }),
      api.usage.summary.query({
        start: new Date(end.getTime() - DAY_MS).toISOString(),
        end: end.toISOString(),
        group_by: k.groupBy,
        order_by: "cost",
        limit: 1000,
      }),
    ]);
    return {
      ...own,
      budgets,
      budgetById: new Map(budgets.map((b) => [b.budget_id, b])),
      lastDay: new Map(day.groups.map((g) => [g.key, g])),
    };
  }, []);
  const { error, act } = useAction(data.reload);
  const done = () => {
    setCreating(false);
    setEditing(null);
    data.reload();
  };
  const d = data.data;
  return (
    <section>
      <div class="page-head">
        <h1>{k.title}</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          New {k.noun}
        </button>
      </div>
      <ErrorNote error={error ?? data.error} />
      <Loading when={data.loading && !d} />
      {d && (
        <Table
          caption={k.title}
          rows={d.rows}
          rowKey={k.idOf}
          empty={`No ${k.noun}s yet.`}
          columns={[
            { title: capitalized(k.noun), cell: k.idOf },
            { title: "Alias", cell: (r) => r.alias ?? "—" },
            ...k.columns(d.extra),
            {
              title: "Spend (window)",
              cell: (r) => <SpendCell spend={r.spend} budgetId={r.budget_id} budgets={d.budgetById} />,
              numeric: true,
            },
            { title: "Budget", cell: (r) => budgetLabel(r.budget_id, d.budgetById) },
            { title: "Resets", cell: (r) => fmtTime(r.next_budget_reset_at) },
            { title: "Requests (24 h)", cell: (r) => fmtInt(d.lastDay.get(k.idOf(r))?.requests ?? 0), numeric: true },
            { title: "Cost (24 h)", cell: (r) => fmtUsd(d.lastDay.get(k.idOf(r))?.cost ?? 0), numeric: true },
            {
              title: "Limits",
              cell: (r) => fmtLimits({ rpm: r.rpm_limit, tpm: r.tpm_limit, concurrent: r.max_concurrent }),
            },
            { title: "Models", cell: (r) => r.allowed_models?.join(", ") ?? "all" },
            {
              title: "State",
              cell: (r) => (r.blocked ? <Badge tone="bad">blocked</Badge> : <Badge tone="ok">active</Badge>),
            },
            {
              title: "Actions",
              cell: (r) => (
                <div class="row-actions">
                  <button type="button" onClick={() => setEditing(r)} aria-label={`Edit ${k.noun} ${k.idOf(r)}`}>
                    Edit
                  </button>
                  {k.links?.(r)}
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete ${k.noun} ${k.idOf(r)}`}
                    onClick={() => confirm(k.deleteWarning) && act(() => k.remove(k.idOf(r)))}
                  >
                    Delete
                  </button>
                </div>
              ),
            },
          ]}
        />
      )}
      <Dialog title={`New ${k.noun}`} open={creating} onClose={() => setCreating(false)}>
        {d && (
          <PrincipalForm
            kind={k}
            extra={d.extra}
            budgets={d.budgets}
            onSubmit={async (f) => {
              await k.create(text(f, "id") ?? "", fieldsOf(f, undefined), f);
              done();
            }}
          />
        )}
      </Dialog>
      <Dialog title={`Edit ${k.noun}`} open={editing !== null} onClose={() => setEditing(null)}>
        {d && editing && (
          <PrincipalForm
            kind={k}
            initial={editing}
            extra={d.extra}
            budgets={d.budgets}
            onSubmit={async (f) => {
              await k.update(editing, fieldsOf(f, editing), f);
              done();
            }}
          />
        )}
      </Dialog>
    </section>
  );
}
