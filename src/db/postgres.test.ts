/**
 * The Postgres store's connections run without JIT compilation: an analytics read whose estimate passes
 * jit_above_cost (ten million usage rows) would otherwise spend tens to hundreds of ms compiling (postgres.ts).
 */
import { expect, test } from "bun:test";
import { PG_ADMIN_URL } from "../../tests/helpers/db";
import { openStore } from "./client";

test("Postgres connections have JIT off, whatever the server's default", async () => {
  const store = openStore(PG_ADMIN_URL, {
    poolSize: 2,
    maxOverflow: 0,
    poolTimeoutSeconds: 30,
    poolRecycleSeconds: -1,
  });
  try {
    // Two at once: both pool connections answer.
    const rows = await Promise.all([0, 1].map(() => store.query<{ jit: string }>("SHOW jit")));
    expect(rows.map((r) => r[0]?.jit)).toEqual(["off", "off"]);
  } finally {
    await store.close();
  }
});
