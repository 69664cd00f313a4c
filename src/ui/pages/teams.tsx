/** Teams: their members, spend in the current budget window and over the last day, limits, allow-list and blocking. */
import { api, type Outputs } from "../api";
import { PrincipalPage, type PrincipalKind } from "../components/principals";
import { fmtInt } from "../format";

type Team = Outputs["teams"]["list"][number];

const teams: PrincipalKind<Team, null> = {
  noun: "team",
  title: "Teams",
  groupBy: "team",
  idOf: (t) => t.team_id,
  load: async () => ({ rows: await api.teams.list.query({ limit: 1000 }), extra: null }),
  columns: () => [{ title: "Members", cell: (t) => fmtInt(t.members), numeric: true }],
  fields: () => null,
  create: (team_id, fields) => api.teams.create.mutate({ team_id, ...fields }),
  update: (t, fields) => api.teams.update.mutate({ team_id: t.team_id, data: fields }),
  remove: (team_id) => api.teams.delete.mutate({ team_id }),
  deleteWarning: "Delete this team? A team with members cannot be deleted.",
};

export function Teams() {
  return <PrincipalPage kind={teams} />;
}
