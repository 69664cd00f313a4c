/**
 * The compiled binary routes on the request target whatever the Host header holds. A Host shorter than 4
 * characters used to shift the routed path (`GET /zzzz/metrics` with `Host: x` answered the metrics body), which
 * lets a client past a front proxy that blocks /metrics or /docs by path. Raw sockets: fetch always sends a sane Host.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rawRequest } from "./_raw-http";
import { ensureBinary, type Served, startServe, stopAll, tempDir } from "./_gateway";

let gw: Served;

beforeAll(async () => {
  await ensureBinary();
  gw = await startServe([], {
    cwd: tempDir(),
    env: { OTARI_MASTER_KEY: "host-test-master-key-0123456789", OTARI_ENABLE_METRICS: "true" },
  });
}, 120_000);

afterAll(stopAll);

const get = (path: string, hostLine: string, version = "1.1") =>
  rawRequest(gw.url, `GET ${path} HTTP/${version}\r\n${hostLine}Connection: close\r\n\r\n`);

describe("routing ignores the Host header", () => {
  test("a short Host shifts nothing: /zzzz/metrics and /xxx/health are 404, /metrics and /health answer at their own paths", async () => {
    for (const host of ["x", "ab", "abc"]) {
      const shifted = await get("/zzzz/metrics", `Host: ${host}\r\n`);
      expect(shifted.status).toBe(404);
      expect(shifted.body).not.toContain("# HELP");
      expect(JSON.parse(shifted.body)).toMatchObject({ error: { code: "not_found" } });
      expect((await get("/xxx/health", `Host: ${host}\r\n`)).status).toBe(404);
      const metrics = await get("/metrics", `Host: ${host}\r\n`);
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain("# HELP");
      expect((await get("/health", `Host: ${host}\r\n`)).status).toBe(200);
    }
  });

  test("a Host that is not a host at all is a 400 (RFC 9112 §3.2), not a request routed somewhere else", async () => {
    for (const host of ["", "a/b", "a b", "x:80/y", "a@b"]) {
      const res = await get("/zzzzzzzzzzz/health", `Host: ${host}\r\n`);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: "invalid_host" } });
    }
  });

  test("HTTP/1.0 without a Host is routed on its target", async () => {
    expect((await get("/health", "", "1.0")).status).toBe(200);
    expect((await get("/zzzzzzzzzzz/health", "", "1.0")).status).toBe(404);
  });
});
