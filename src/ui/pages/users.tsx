/** Users: who is billed, their team, spend in the current budget window and over the last day, limits and blocking. */
import { api, type Outputs } from "../api";
import { BudgetSelect } from "../components/budgets";
import { refChange, text } from "../components/forms";
import { PrincipalPage, type PrincipalKind } from "../components/principals";
import { Select } from "../components/ui";
import { Link } from "../router";

type User = Outputs["users"]["list"][number];
type Team = Outputs["teams"]["list"][number];

const users: PrincipalKind<User, { teams: Team[] }> = {
  noun: "user",
  title: "Users",
  groupBy: "user",
  idOf: (u) => u.user_id,
  load: async () => {
    const [rows, teams] = await Promise.all([
      api.users.list.query({ limit: 1000 }),
      api.teams.list.query({ limit: 1000 }),
    ]);
    return { rows, extra: { teams } };
  },
  columns: () => [{ title: "Team", cell: (u) => u.team_id ?? "—" }],
  fields: (u, { teams }, budgets) => (
    <>
      <Select
        label="Team"
        name="team_id"
        value={u?.team_id ?? ""}
        options={[["", "No team"], ...teams.map((t): [string, string] => [t.team_id, t.alias ?? t.team_id])]}
      />
      <BudgetSelect
        label="End-user budget"
        name="end_user_budget_id"
        value={u?.end_user_budget_id}
        budgets={budgets}
        hint="Each end user of this user gets a window on it (a key's own wins)"
      />
    </>
  ),
  links: (u) => <Link href={`/ui/requests?user_id=${encodeURIComponent(u.user_id)}`}>Requests</Link>,
  create: (user_id, fields, f) =>
    api.users.create.mutate({
      user_id,
      ...fields,
      team_id: text(f, "team_id"),
      end_user_budget_id: text(f, "end_user_budget_id"),
    }),
  update: (u, fields, f) =>
    api.users.update.mutate({
      user_id: u.user_id,
      data: {
        ...fields,
        team_id: refChange(f, "team_id", u.team_id),
        end_user_budget_id: refChange(f, "end_user_budget_id", u.end_user_budget_id),
      },
    }),
  remove: (user_id) => api.users.delete.mutate({ user_id }),
  deleteWarning: "Delete this user? Its keys are deactivated; its usage stays.",
};

export function Users() {
  return <PrincipalPage kind={users} />;
}
