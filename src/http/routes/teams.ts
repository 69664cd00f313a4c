/** /v1/teams: master key only. */
import { Elysia } from "elysia";
import { z } from "zod";
import { paginationQuery } from "../../core/schemas/common";
import { createTeamRequest, teamResponse, updateTeamRequest } from "../../core/schemas/teams";
import { usageEntry } from "../../core/schemas/usage";
import { bodyParser } from "../body";
import type { HttpContext } from "../context";
import { bodySchema, querySchema } from "../fast-schema";
import { requireMaster, securedDetail } from "../plugins/auth";

const params = z.object({ team_id: z.string() });

export function teamsRoutes(ctx: HttpContext) {
  const teams = ctx.services.teams;
  return new Elysia({ name: "teams", prefix: "/v1/teams", detail: { tags: ["teams"], ...securedDetail } })
    .onParse(bodyParser((request) => requireMaster(ctx, request), ctx.config))
    .onTransform(({ request }) => requireMaster(ctx, request))
    .post("", ({ body }) => teams.create(body), {
      body: bodySchema(createTeamRequest),
      response: { 200: teamResponse },
      detail: { summary: "Create a team" },
    })
    .get("", ({ query }) => teams.list(query), {
      query: querySchema(paginationQuery),
      response: { 200: z.array(teamResponse) },
      detail: { summary: "List teams" },
    })
    .get("/:team_id", ({ params }) => teams.get(params.team_id), {
      params,
      response: { 200: teamResponse },
      detail: { summary: "Get a team" },
    })
    .patch("/:team_id", ({ params, body }) => teams.update(params.team_id, body), {
      params,
      body: bodySchema(updateTeamRequest),
      response: { 200: teamResponse },
      detail: { summary: "Update a team" },
    })
    .delete(
      "/:team_id",
      async ({ params }) => {
        await teams.remove(params.team_id);
        return new Response(null, { status: 204 });
      },
      { params, detail: { summary: "Delete a team (409 while it has members)" } },
    )
    .get("/:team_id/usage", ({ params, query }) => teams.usage(params.team_id, query), {
      params,
      query: querySchema(paginationQuery),
      response: { 200: z.array(usageEntry) },
      detail: { summary: "The team's usage (rows made while users were members), newest first" },
    });
}
