/**
 * Main content of an HTML page as Markdown (docs/behaviour/tools.md#web-search-backend; the baseline used trafilatura):
 * linkedom parses, @mozilla/readability keeps the article and drops the boilerplate (navigation, comments, ads),
 * turndown writes Markdown, with a rule that keeps tables as GFM pipe tables. When Readability finds no article, the
 * body minus its obvious chrome is converted instead.
 */
import { Readability } from "@mozilla/readability";
import { parseHTML } from "linkedom";
import TurndownService from "turndown";

type TdNode = TurndownService.Node;

const cellText = (content: string) =>
  content
    .replace(/\s*\n+\s*/g, " ")
    .replace(/\|/g, "\\|")
    .trim();

/** The little of the DOM the table rules use (turndown's node type is the DOM's, which this project's lib lacks). */
interface ElementLike {
  nodeName: string;
  parentNode: ElementLike | null;
  childNodes: ArrayLike<{ nodeName: string }>;
  getElementsByTagName(name: string): ArrayLike<unknown>;
}

function firstRowOf(node: TdNode): boolean {
  let table = (node as unknown as ElementLike).parentNode;
  while (table && table.nodeName !== "TABLE") table = table.parentNode;
  return table !== null && table.getElementsByTagName("tr")[0] === node;
}

function createTurndown(): TurndownService {
  const td = new TurndownService({ headingStyle: "atx", codeBlockStyle: "fenced", bulletListMarker: "-" });
  td.remove(["script", "style", "noscript", "iframe", "form", "button", "svg", "canvas"]);
  td.addRule("tableCell", {
    filter: ["th", "td"],
    replacement: (content) => ` ${cellText(content)} |`,
  });
  td.addRule("tableRow", {
    filter: "tr",
    replacement: (content, node) => {
      const row = `|${content}\n`;
      if (!firstRowOf(node)) return row;
      const cells = Array.from((node as unknown as ElementLike).childNodes).filter(
        (c) => c.nodeName === "TH" || c.nodeName === "TD",
      ).length;
      return `${row}|${" --- |".repeat(Math.max(cells, 1))}\n`;
    },
  });
  td.addRule("tableSection", { filter: ["thead", "tbody", "tfoot"], replacement: (content) => content });
  td.addRule("table", { filter: "table", replacement: (content) => `\n\n${content.trim()}\n\n` });
  td.addRule("tableCaption", { filter: "caption", replacement: (content) => `${content.trim()}\n\n` });
  return td;
}

let turndown: TurndownService | null = null;

const CHROME = "script, style, noscript, nav, header, footer, aside, form, iframe, svg";

/** Converts a page to Markdown; empty when nothing readable is found. */
export function htmlToMarkdown(html: string): string {
  const { document } = parseHTML(html);
  turndown ??= createTurndown();
  let body: string | null = null;
  try {
    const article = new Readability(document as unknown as ConstructorParameters<typeof Readability>[0], {
      charThreshold: 200,
    }).parse();
    if (article?.content && (article.textContent ?? "").trim().length > 0) body = article.content;
  } catch {
    body = null;
  }
  if (body === null) {
    const { document: fresh } = parseHTML(html);
    for (const el of Array.from(fresh.querySelectorAll(CHROME)) as { remove(): void }[]) el.remove();
    body = fresh.body?.innerHTML || fresh.documentElement?.outerHTML || "";
  }
  return turndown
    .turndown(body)
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
