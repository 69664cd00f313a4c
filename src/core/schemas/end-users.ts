/** Wire schemas of /v1/end-users (EndUserResponse). */
import { z } from "zod";
import { paginationQuery } from "./common";

export const endUsersQuery = paginationQuery.extend({
  user_id: z.string().optional().describe("Only end users of this billed user"),
  key_id: z.string().optional().describe("Only end users that made requests through this key"),
});
export type EndUsersQuery = z.infer<typeof endUsersQuery>;

export const endUserResponse = z
  .object({
    user_id: z.string().describe("The billed user"),
    end_user_id: z.string().describe("The client's own end-user id (`user` with a virtual key)"),
    budget_id: z.string().nullable(),
    spend: z.number(),
    reserved: z.number(),
    budget_started_at: z.string().nullable(),
    next_budget_reset_at: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: "EndUserResponse" });
export type EndUserResponse = z.infer<typeof endUserResponse>;
