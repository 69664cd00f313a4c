/**
 * The remote sandbox client against a mock sandbox that records its calls
 * (docs/behaviour/tools.md#remote-sandbox-protocol).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { ToolBackendUnreachable } from "../types";
import { RemoteSandbox, renderResultBlock } from "./remote";
import { renderSandboxResult } from "./render";

interface Call {
  method: string;
  path: string;
  body: unknown;
}

let calls: Call[] = [];
let execReply: () => Response;
let sessionReply: () => Response;
let deleteStatus = 204;
let server: ReturnType<typeof Bun.serve>;
let base: string;

const block = (
  stdout: string,
  stderr = "",
  return_code: number | null = 0,
  files: { file_id: string; filename: string }[] = [],
) => ({
  type: "code_execution_tool_result",
  tool_use_id: "t1",
  content: { type: "code_execution_result", stdout, stderr, return_code, content: files },
});
const result = (stdout: string) => ({ result_block: block(stdout) });

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const text = await req.text();
      calls.push({ method: req.method, path: url.pathname, body: text ? JSON.parse(text) : null });
      if (req.method === "POST" && url.pathname === "/sessions") return sessionReply();
      if (req.method === "POST" && url.pathname.endsWith("/exec")) return execReply();
      if (req.method === "DELETE") return new Response(null, { status: deleteStatus });
      return new Response("not found", { status: 404 });
    },
  });
  base = `http://127.0.0.1:${server.port}/`;
});

afterAll(() => {
  server.stop(true);
});

beforeEach(() => {
  calls = [];
  deleteStatus = 204;
  sessionReply = () => Response.json({ session_id: "sess 1" });
  execReply = () => Response.json(result("hi\n"));
});

describe("remote sandbox protocol", () => {
  test("POST /sessions, POST /sessions/{id}/exec with the exact body, then DELETE /sessions/{id}", async () => {
    const sandbox = new RemoteSandbox({ baseUrl: base });
    const session = await sandbox.openSession();
    expect(await session.run({ code: "print('hi')" })).toBe("stdout:\nhi\n");
    expect(await session.run({ code: "x = 1" })).toBe("stdout:\nhi\n");
    await session.close();
    await session.close();
    expect(calls).toEqual([
      { method: "POST", path: "/sessions", body: {} },
      {
        method: "POST",
        path: "/sessions/sess%201/exec",
        body: { tool: "code_execution", input: { code: "print('hi')" }, timeout_seconds: 60 },
      },
      {
        method: "POST",
        path: "/sessions/sess%201/exec",
        body: { tool: "code_execution", input: { code: "x = 1" }, timeout_seconds: 60 },
      },
      { method: "DELETE", path: "/sessions/sess%201", body: null },
    ]);
  });

  test("a call without a code string is a [tool error] without a sandbox call", async () => {
    const session = await new RemoteSandbox({ baseUrl: base }).openSession();
    expect(await session.run({})).toStartWith("[tool error] missing 'code'");
    await session.close();
    expect(calls.map((c) => c.method)).toEqual(["POST", "DELETE"]);
  });

  test("a failing DELETE is only logged", async () => {
    deleteStatus = 500;
    const session = await new RemoteSandbox({ baseUrl: base }).openSession();
    await session.close();
    expect(calls.at(-1)?.method).toBe("DELETE");
  });
});

describe("remote sandbox: unreachable -> ToolBackendUnreachable (502, documented text)", () => {
  const message = "code_execution sandbox unreachable — check GATEWAY_SANDBOX_URL";

  async function unreachable(p: Promise<unknown>): Promise<ToolBackendUnreachable> {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ToolBackendUnreachable);
    const e = err as ToolBackendUnreachable;
    expect(e.status).toBe(502);
    expect(e.message).toBe(message);
    expect(e.tool).toBe("code_execution");
    return e;
  }

  test("nothing listening", async () => {
    const probe = Bun.serve({ port: 0, fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    const e = await unreachable(new RemoteSandbox({ baseUrl: `http://127.0.0.1:${port}` }).openSession());
    expect(e.reason).toContain("POST /sessions");
  });

  test("POST /sessions non-2xx, or without a session_id", async () => {
    sessionReply = () => new Response("busy", { status: 503 });
    expect((await unreachable(new RemoteSandbox({ baseUrl: base }).openSession())).reason).toContain("HTTP 503");
    sessionReply = () => Response.json({ id: "x" });
    expect((await unreachable(new RemoteSandbox({ baseUrl: base }).openSession())).reason).toContain("no session_id");
    sessionReply = () => new Response("not json");
    await unreachable(new RemoteSandbox({ baseUrl: base }).openSession());
  });

  test("exec non-2xx, or a reply without a result_block object", async () => {
    const session = await new RemoteSandbox({ baseUrl: base }).openSession();
    execReply = () => new Response("boom", { status: 500 });
    await unreachable(session.run({ code: "1" }));
    execReply = () => Response.json({ result_block: "text" });
    expect((await unreachable(session.run({ code: "1" }))).reason).toContain("result_block");
    await session.close();
  });

  test("the HTTP timeout", async () => {
    const slow = Bun.serve({
      port: 0,
      fetch: async () => {
        await Bun.sleep(1_000);
        return Response.json({ session_id: "s" });
      },
    });
    const e = await unreachable(
      new RemoteSandbox({ baseUrl: `http://127.0.0.1:${slow.port}`, timeoutMs: 100 }).openSession(),
    );
    expect(e.reason).toContain("timed out");
    slow.stop(true);
  });
});

describe("result rendering", () => {
  test("sections, return code, files and the [tool error] rules", () => {
    expect(renderResultBlock(block("out\n", "warn\n"))).toBe("stdout:\nout\n\nstderr:\nwarn\n");
    expect(renderResultBlock(block("", "Traceback\n", 1))).toBe("[tool error] stderr:\nTraceback\n\nreturn_code: 1");
    expect(renderResultBlock(block("", "only stderr"))).toBe("[tool error] stderr:\nonly stderr");
    expect(renderResultBlock(block("partial", "", 2))).toBe("[tool error] stdout:\npartial\nreturn_code: 2");
    expect(renderResultBlock(block("", "", null))).toBe("(no output)");
    expect(renderResultBlock(block("", "", 0))).toBe("(no output)");
    expect(
      renderResultBlock(
        block("made plots", "", 0, [
          { file_id: "f1", filename: "a.png" },
          { file_id: "f2", filename: "b.csv" },
        ]),
      ),
    ).toBe("stdout:\nmade plots\nfiles: a.png, b.csv");
    expect(renderResultBlock(block("", "", 0, [{ file_id: "f1", filename: "a.png" }]))).toBe("files: a.png");
  });

  test("a non-object content stringifies the whole block", () => {
    const b = { type: "code_execution_tool_result", tool_use_id: "t", content: "error: sandbox busy" };
    expect(renderResultBlock(b)).toBe(JSON.stringify(b));
  });

  test("the embedded sandbox renders through the same function", () => {
    expect(renderSandboxResult({ stdout: "", stderr: "", returnCode: 3, files: [] })).toBe(
      "[tool error] return_code: 3",
    );
  });
});
