/**
 * Teams (docs/behaviour/cost-control.md#teams): a budget, limits and an allow-list over all their members'
 * requests. A user belongs to at most one team (users.team_id); a team with live members cannot be deleted (409).
 */
import { and, count, desc, eq, inArray, isNotNull, isNull } from "drizzle-orm";
import { conflict } from "../core/errors";
import { microsToUsd } from "../core/money";
import type { Pagination } from "../core/schemas/common";
import type { CreateTeamInput, TeamResponse, UpdateTeamInput } from "../core/schemas/teams";
import type { UsageEntry } from "../core/schemas/usage";
import { toIso, toIsoOrNull } from "../core/time";
import type { ServiceDeps } from "./deps";
import { assignBudget, createResetOnRead, teamNotFound } from "./spend-windows";
import { toUsageEntry } from "./usage";

export type TeamRow = ServiceDeps["store"]["t"]["teams"]["$inferSelect"];

function toTeamResponse(row: TeamRow, members: number): TeamResponse {
  return {
    team_id: row.teamId,
    alias: row.alias,
    spend: microsToUsd(row.spendMicros),
    reserved: microsToUsd(row.reservedMicros),
    budget_id: row.budgetId,
    budget_started_at: toIsoOrNull(row.budgetStartedAt),
    next_budget_reset_at: toIsoOrNull(row.nextBudgetResetAt),
    blocked: row.blocked,
    metadata: row.metadata,
    rpm_limit: row.rpmLimit,
    tpm_limit: row.tpmLimit,
    max_concurrent: row.maxConcurrent,
    allowed_models: row.allowedModels,
    members,
    created_at: toIso(row.createdAt),
    updated_at: toIso(row.updatedAt),
  };
}

export function createTeamsService({ store, now, changed, flushSpend }: ServiceDeps) {
  const { db, t } = store;
  const resetOnRead = createResetOnRead(store);
  const liveMember = (teamId: string) => and(eq(t.users.teamId, teamId), isNull(t.users.deletedAt));

  async function getRow(teamId: string): Promise<TeamRow> {
    const [row] = await db.select().from(t.teams).where(eq(t.teams.teamId, teamId));
    if (!row) throw teamNotFound(teamId);
    return row;
  }

  async function members(teamId: string): Promise<number> {
    const [row] = await db.select({ n: count() }).from(t.users).where(liveMember(teamId));
    return Number(row?.n ?? 0);
  }

  /** The team as shown: spend settled so far, a due window reset applied, its live member count. */
  async function show(row: TeamRow, memberCount?: number): Promise<TeamResponse> {
    let current = row;
    if (await resetOnRead("team", row.teamId, row, now())) {
      current = await getRow(row.teamId);
      changed("teams");
    }
    return toTeamResponse(current, memberCount ?? (await members(row.teamId)));
  }

  return {
    /** 409 when the id is taken; 404 for an unknown budget (nothing is stored). */
    async create(input: CreateTeamInput): Promise<TeamResponse> {
      const at = now();
      const window = await assignBudget(db, t, input.budget_id ?? "", at);
      const row = await store.tx(async (tx) => {
        const [existing] = await tx
          .select({ id: t.teams.teamId })
          .from(t.teams)
          .where(eq(t.teams.teamId, input.team_id));
        if (existing) throw conflict(`Team with id '${input.team_id}' already exists`);
        const [created] = await tx
          .insert(t.teams)
          .values({
            teamId: input.team_id,
            alias: input.alias ?? null,
            ...window,
            blocked: input.blocked,
            metadata: input.metadata,
            rpmLimit: input.rpm_limit ?? null,
            tpmLimit: input.tpm_limit ?? null,
            maxConcurrent: input.max_concurrent || null,
            allowedModels: input.allowed_models ?? null,
            createdAt: at,
            updatedAt: at,
          })
          .returning();
        return created!;
      });
      changed("teams");
      return toTeamResponse(row, 0);
    },

    async list({ skip, limit }: Pagination): Promise<TeamResponse[]> {
      await flushSpend();
      const rows = await db.select().from(t.teams).orderBy(t.teams.createdAt, t.teams.teamId).limit(limit).offset(skip);
      if (rows.length === 0) return [];
      const counts = await db
        .select({ teamId: t.users.teamId, n: count() })
        .from(t.users)
        .where(
          and(
            inArray(
              t.users.teamId,
              rows.map((r) => r.teamId),
            ),
            isNull(t.users.deletedAt),
          ),
        )
        .groupBy(t.users.teamId);
      const byTeam = new Map(counts.map((c) => [c.teamId, Number(c.n)]));
      return Promise.all(rows.map((row) => show(row, byTeam.get(row.teamId) ?? 0)));
    },

    async get(teamId: string): Promise<TeamResponse> {
      await flushSpend();
      return show(await getRow(teamId));
    },

    /**
     * Absent or null fields are unchanged; assigning a budget (even the same one) starts a new window; "" removes
     * the budget, max_concurrent 0 the limit.
     */
    async update(teamId: string, input: UpdateTeamInput): Promise<TeamResponse> {
      await getRow(teamId);
      const at = now();
      const patch: Partial<TeamRow> = { updatedAt: at };
      if (input.alias != null) patch.alias = input.alias;
      if (input.blocked != null) patch.blocked = input.blocked;
      if (input.metadata != null) patch.metadata = input.metadata;
      if (input.rpm_limit != null) patch.rpmLimit = input.rpm_limit;
      if (input.tpm_limit != null) patch.tpmLimit = input.tpm_limit;
      if (input.max_concurrent != null) patch.maxConcurrent = input.max_concurrent || null;
      if (input.allowed_models != null) patch.allowedModels = input.allowed_models;
      if (input.budget_id != null) Object.assign(patch, await assignBudget(db, t, input.budget_id, at));
      const [row] = await db.update(t.teams).set(patch).where(eq(t.teams.teamId, teamId)).returning();
      changed("teams");
      return toTeamResponse(row!, await members(teamId));
    },

    /**
     * 409 while live users belong to it (move or delete them first); soft-deleted users that still name it are
     * detached in the same transaction. Usage rows keep the team id they were made under.
     */
    async remove(teamId: string): Promise<void> {
      await getRow(teamId);
      await store.tx(async (tx) => {
        const [live] = await tx.select({ n: count() }).from(t.users).where(liveMember(teamId));
        const n = Number(live?.n ?? 0);
        if (n > 0) throw conflict(`Team '${teamId}' has ${n} member(s); move or delete them first`);
        await tx
          .update(t.users)
          .set({ teamId: null })
          .where(and(eq(t.users.teamId, teamId), isNotNull(t.users.deletedAt)));
        await tx.delete(t.teams).where(eq(t.teams.teamId, teamId));
      });
      changed("teams");
    },

    /** The team's usage rows (stamped with the team at request time), newest first. */
    async usage(teamId: string, { skip, limit }: Pagination): Promise<UsageEntry[]> {
      await getRow(teamId);
      const rows = await db
        .select()
        .from(t.usageLogs)
        .where(eq(t.usageLogs.teamId, teamId))
        .orderBy(desc(t.usageLogs.timestamp), desc(t.usageLogs.id))
        .limit(limit)
        .offset(skip);
      return rows.map(toUsageEntry);
    },
  };
}

export type TeamsService = ReturnType<typeof createTeamsService>;
