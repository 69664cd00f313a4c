/**
 * The page-extraction child (`gateway sandbox-worker --extract`): HTML -> Markdown off the gateway's event loop
 * (Readability on a 5 MiB page takes seconds of CPU) and inside the same OS wall as the code sandbox, since the
 * HTML is untrusted. JSON lines: `{"id", "html"}` in, `{"id", "markdown"}` or `{"id", "error"}` out.
 */
import { htmlToMarkdown } from "./extract";

export interface ExtractRequest {
  id: number;
  html: string;
}

export type ExtractReply = { id: number; markdown: string } | { id: number; error: string };

export async function runExtractWorker(): Promise<never> {
  const write = (reply: ExtractReply) => process.stdout.write(`${JSON.stringify(reply)}\n`);
  console.log = console.error;
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of Bun.stdin.stream()) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
      let request: ExtractRequest;
      try {
        request = JSON.parse(line) as ExtractRequest;
      } catch {
        continue;
      }
      try {
        write({ id: request.id, markdown: htmlToMarkdown(String(request.html)) });
      } catch (err) {
        write({ id: request.id, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return process.exit(0);
}
