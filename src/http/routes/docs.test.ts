/**
 * Docs assets (docs/api.md#api-documentation-pages): a name that is not an asset is the standard 404 envelope, like
 * every other 404.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createTestApp, expectError, type TestApp } from "../../../tests/helpers/app";
import { createSqliteDatabase, type TestDatabase } from "../../../tests/helpers/db";

let db: TestDatabase;
let t: TestApp;
beforeAll(async () => {
  db = await createSqliteDatabase();
  t = createTestApp(db);
});
afterAll(async () => {
  await db.drop();
});

test("an unknown docs asset is a 404 in the error envelope", async () => {
  const res = await t.call("GET", "/docs/assets/nope.js", { token: null });
  const err = expectError(res, 404, "Not Found");
  expect(err.error.code).toBe("not_found");
  expect((await t.call("GET", "/docs/assets/swagger-ui.css", { token: null })).status).toBe(200);
});
