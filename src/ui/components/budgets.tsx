/** Budget pickers and cells shared by the pages that assign budgets (keys, users, teams, budgets). */
import type { Outputs } from "../api";
import { fmtUsd } from "../format";
import { Badge, Select } from "./ui";

export type Budget = Outputs["budgets"]["list"][number];

export const capOf = (b: Budget | undefined): string =>
  b ? (b.max_budget === null ? "no cap" : fmtUsd(b.max_budget)) : "—";

/** "id: cap" for a budget id, "—" without one. */
export function budgetLabel(id: string | null, budgets: Map<string, Budget>): string {
  return id ? `${id}: ${capOf(budgets.get(id))}` : "—";
}

/** A select of every budget ("" = none). Edit forms send it only when it changed (forms.ts refChange). */
export function BudgetSelect(props: {
  label: string;
  name: string;
  value: string | null | undefined;
  budgets: Budget[];
  hint?: string;
}) {
  return (
    <Select
      label={props.label}
      name={props.name}
      value={props.value ?? ""}
      hint={props.hint}
      options={[
        ["", "No budget"],
        ...props.budgets.map((b): [string, string] => [b.budget_id, `${b.budget_id} (${capOf(b)})`]),
      ]}
    />
  );
}

/** Spend in the current window against the budget's cap, marked from 80 % and when the cap is reached. */
export function SpendCell(props: { spend: number; budgetId: string | null; budgets: Map<string, Budget> }) {
  const budget = props.budgetId ? props.budgets.get(props.budgetId) : undefined;
  const cap = budget?.max_budget ?? null;
  if (!budget) return <>{fmtUsd(props.spend)}</>;
  return (
    <>
      {fmtUsd(props.spend)} of {capOf(budget)}
      {cap !== null && props.spend >= cap ? (
        <>
          {" "}
          <Badge tone="bad">at cap</Badge>
        </>
      ) : cap !== null && props.spend >= 0.8 * cap ? (
        <>
          {" "}
          <Badge tone="warn">80 %+</Badge>
        </>
      ) : null}
    </>
  );
}
