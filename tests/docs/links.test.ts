/**
 * The documentation stays self-contained and navigable: every relative link in README.md and docs/**\/*.md points at a
 * file of this repository and, for Markdown targets, at a heading that exists (GitHub's anchor rules); nothing refers
 * to files outside the repository (`../shared`); and every `SPEC §…` section still cited in src/ or tests/ has a row in
 * docs/_spec-map.md, so the comment sweep has somewhere real to point each citation.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..", "..");

/** README.md and every Markdown file under docs/. */
function docFiles(root: string): string[] {
  const out = [join(root, "README.md")];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".md")) out.push(path);
    }
  };
  if (existsSync(join(root, "docs"))) walk(join(root, "docs"));
  return out.filter((p) => existsSync(p));
}

/** The text outside fenced code blocks, line by line (fences' lines blanked, so line numbers stay right). */
function proseLines(markdown: string): string[] {
  let fence: string | null = null;
  return markdown.split("\n").map((line) => {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (m) {
      if (fence === null) fence = m[1]!.slice(0, 3);
      else if (m[1]!.startsWith(fence)) fence = null;
      return "";
    }
    return fence === null ? line : "";
  });
}

/** GitHub's heading anchor: lower case, punctuation other than `-` and `_` dropped, spaces to `-`. */
function slug(heading: string): string {
  const text = heading
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/<[^>]+>/g, "");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a Markdown file offers: heading slugs (duplicates numbered as GitHub does) and explicit ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  }
  return anchors;
}

interface Link {
  line: number;
  target: string;
}

/** Inline links and images (`[text](target)`), and reference definitions (`[x]: target`), outside code and comments. */
function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  proseLines(markdown).forEach((raw, i) => {
    const line = raw.replace(/`[^`]*`|<!--.*?-->/g, (span) => " ".repeat(span.length));
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      links.push({ line: i + 1, target: m[1]! });
    const def = /^\s*\[[^\]]+\]:\s*(\S+)/.exec(line);
    if (def) links.push({ line: i + 1, target: def[1]! });
  });
  return links;
}

/** Problems of one file's links, as `file:line: message`. */
function brokenLinks(root: string, file: string): string[] {
  const problems: string[] = [];
  const where = (l: Link) => `${relative(root, file)}:${l.line}: ${l.target}`;
  for (const link of linksOf(readFileSync(file, "utf8"))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) continue; // http:, https:, mailto:
    const hash = link.target.indexOf("#");
    const pathPart = decodeURIComponent(hash < 0 ? link.target : link.target.slice(0, hash));
    const anchor = hash < 0 ? null : decodeURIComponent(link.target.slice(hash + 1));
    const target = pathPart === "" ? file : resolve(dirname(file), pathPart);
    if (relative(root, target).startsWith("..")) {
      problems.push(`${where(link)}: points outside the repository`);
      continue;
    }
    if (!existsSync(target)) {
      problems.push(`${where(link)}: no such file`);
      continue;
    }
    if (anchor === null || anchor === "") continue;
    if (!target.endsWith(".md")) {
      problems.push(`${where(link)}: anchors are checked on Markdown targets only; link the file without one`);
      continue;
    }
    if (!anchorsOf(readFileSync(target, "utf8")).has(anchor))
      problems.push(`${where(link)}: no heading with anchor #${anchor}`);
  }
  return problems;
}

/** Every `SPEC §x[.y]` cited in the TypeScript sources under `dirs`. */
function citedSections(root: string, dirs: string[]): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|tsx|js)$/.test(name))
        for (const m of readFileSync(path, "utf8").matchAll(/SPEC §(\d+(?:\.\d+[a-z]?)*)/g)) found.add(`§${m[1]}`);
    }
  };
  for (const dir of dirs) if (existsSync(join(root, dir))) walk(join(root, dir));
  return found;
}

/** The sections of docs/_spec-map.md's first table (`| §x | … | [target](target) |`). */
function mappedSections(map: string): Set<string> {
  const rows = map.slice(0, map.indexOf("\n## ", map.indexOf("## Sections") + 1));
  return new Set([...rows.matchAll(/^\| (§\d+(?:\.\d+[a-z]?)*) \|.*\]\([^)]+\) \|$/gm)].map((m) => m[1]!));
}

describe("the checker itself", () => {
  test("GitHub anchors: punctuation and code spans dropped, duplicates numbered", () => {
    expect(slug("Routing: aliases, fallbacks, retries, balancing")).toBe("routing-aliases-fallbacks-retries-balancing");
    expect(slug("/v1/messages on other providers")).toBe("v1messages-on-other-providers");
    expect(slug("The embedded sandbox's walls")).toBe("the-embedded-sandboxs-walls");
    expect(slug("Who is billed: the `user` field")).toBe("who-is-billed-the-user-field");
    expect(slug("Validation errors (422)")).toBe("validation-errors-422");
    expect([...anchorsOf("# A\n## Notes\n```\n# not a heading\n```\n## Notes\n")]).toEqual(["a", "notes", "notes-1"]);
  });

  test("finds a missing file, a missing anchor and a link outside the repository, and ignores code", () => {
    const dir = mkdtempSync(join(tmpdir(), "doc-links-"));
    try {
      writeFileSync(join(dir, "README.md"), "# Top\n## Here\n");
      writeFileSync(
        join(dir, "page.md"),
        [
          "[ok](README.md#here) [self](#local) [web](https://example.com/x#y)",
          "## Local",
          "[gone](missing.md) [bad anchor](README.md#nowhere) [out](../elsewhere.md)",
          "`[not a link](missing.md)` <!-- [nor this](missing.md) -->",
          "```",
          "[not a link either](missing.md)",
          "```",
        ].join("\n"),
      );
      expect(brokenLinks(dir, join(dir, "page.md"))).toEqual([
        "page.md:3: missing.md: no such file",
        "page.md:3: README.md#nowhere: no heading with anchor #nowhere",
        "page.md:3: ../elsewhere.md: points outside the repository",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("README.md and docs/", () => {
  const files = docFiles(ROOT);

  test("there are docs to check", () => {
    expect(files.map((f) => relative(ROOT, f))).toEqual(
      expect.arrayContaining(["README.md", "docs/README.md", "docs/api.md", "docs/configuration.md"]),
    );
  });

  test("every relative link points at a file and heading that exist", () => {
    expect(files.flatMap((f) => brokenLinks(ROOT, f))).toEqual([]);
  });

  test("nothing refers to files outside the repository (../shared)", () => {
    const hits = files.flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .flatMap((line, i) => (line.includes("../shared") ? [`${relative(ROOT, f)}:${i + 1}`] : [])),
    );
    expect(hits).toEqual([]);
  });

  test("every SPEC section cited in src/ or tests/ is mapped in docs/_spec-map.md", () => {
    const mapped = mappedSections(readFileSync(join(ROOT, "docs", "_spec-map.md"), "utf8"));
    expect(mapped.size).toBeGreaterThan(60);
    const unmapped = [...citedSections(ROOT, ["src", "tests"])].filter((s) => !mapped.has(s));
    expect(unmapped).toEqual([]);
  });
});
