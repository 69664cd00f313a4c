/**
 * GET /v1/usage (docs/api.md#usage) and its analytics: summary, series, CSV export. Master key only. The listing keeps
 * skip/limit and adds keyset paging: `X-Next-Cursor` names the next page (absent on the last one).
 */
import { Elysia } from "elysia";
import { z } from "zod";
import { exportQuery, seriesQuery, seriesResponse, summaryQuery, summaryResponse } from "../../core/schemas/analytics";
import { usageEntry, usageQuery } from "../../core/schemas/usage";
import type { HttpContext } from "../context";
import { querySchema } from "../fast-schema";
import { masterOnly, securedDetail } from "../plugins/auth";
import { takeSetHeaders } from "../set-headers";

/** The CSV download's headers (a file name with the date it was taken). */
export function csvHeaders(at: Date): Record<string, string> {
  return {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `attachment; filename="usage-${at.toISOString().slice(0, 10)}.csv"`,
  };
}

export function usageRoutes(ctx: HttpContext) {
  const { usage, analytics } = ctx.services;
  return new Elysia({ name: "usage", detail: { tags: ["usage"], ...securedDetail } })
    .use(masterOnly(ctx))
    .get(
      "/v1/usage",
      async ({ query, set }) => {
        const page = await usage.page(query);
        if (page.next_cursor) set.headers["x-next-cursor"] = page.next_cursor;
        return page.items;
      },
      {
        query: querySchema(usageQuery),
        response: { 200: z.array(usageEntry) },
        detail: {
          summary: "Usage records, newest first",
          description:
            "Offset (`skip`) or keyset (`cursor`) paging. When more rows follow, the `X-Next-Cursor` response header holds the `cursor` of the next page.",
        },
      },
    )
    .get("/v1/usage/summary", ({ query }) => analytics.summary(query), {
      query: querySchema(summaryQuery),
      response: { 200: summaryResponse },
      detail: { summary: "Usage totals over a range, overall and per group" },
    })
    .get("/v1/usage/series", ({ query }) => analytics.series(query), {
      query: querySchema(seriesQuery),
      response: { 200: seriesResponse },
      detail: { summary: "A usage metric per time bucket (zero-filled), overall and for the top groups" },
    })
    .get(
      "/v1/usage/export.csv",
      ({ query, set }) =>
        new Response(usage.exportCsv(query), {
          headers: { ...takeSetHeaders(set), ...csvHeaders(ctx.services.now()) },
        }),
      {
        query: querySchema(exportQuery),
        detail: {
          summary: "Usage records as CSV (streamed), newest first, with the filters of GET /v1/usage",
          responses: {
            200: {
              description: "CSV, a header line then one line per record",
              content: { "text/csv": { schema: { type: "string" } } },
            },
          },
        },
      },
    );
}
