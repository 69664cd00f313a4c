import { posix } from "node:path";
import ts from "typescript";

/**
 * What the architecture test reads of a source file, parsed by the TypeScript compiler (not by pattern): every module
 * it imports and every place it touches the `Bun` or `process` globals.
 */

export interface SourceImport {
  specifier: string;
  line: number;
}

const lineOf = (text: string, pos: number): number => text.slice(0, pos).split("\n").length;

/**
 * Every module specifier of a file: static imports and `export … from` (`import type` included), `import()` (also in
 * type positions, `typeof import("…")`), `require()` and `import x = require()`. Specifiers in strings and comments
 * are not imports.
 */
export function importsOf(text: string): SourceImport[] {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles.map((f) => ({ specifier: f.fileName, line: lineOf(text, f.pos) }));
}

export interface RuntimeRef {
  name: "Bun" | "process";
  line: number;
}

const RUNTIME_GLOBALS = new Set(["Bun", "process"]);

function insideType(node: ts.Node): boolean {
  for (let n: ts.Node | undefined = node.parent; n; n = n.parent) if (ts.isTypeNode(n)) return true;
  return false;
}

/** Whether `id` names the global itself, not a member (`x.process`), a property key or a declaration. */
function isGlobalUse(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id)
    return ts.isIdentifier(p.expression) && p.expression.text === "globalThis";
  if (
    (ts.isPropertyAssignment(p) ||
      ts.isPropertyDeclaration(p) ||
      ts.isPropertySignature(p) ||
      ts.isMethodDeclaration(p) ||
      ts.isMethodSignature(p) ||
      ts.isGetAccessor(p) ||
      ts.isSetAccessor(p) ||
      ts.isEnumMember(p)) &&
    p.name === id
  )
    return false;
  if (ts.isQualifiedName(p) && p.right === id) return false;
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p) || ts.isImportClause(p) || ts.isNamespaceImport(p))
    return false;
  if (ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return false;
  return !insideType(id);
}

/** A binding of that name declared in the file shadows the global everywhere in it (a cheap, conservative scope). */
function declaredName(node: ts.Node): string | null {
  if (
    (ts.isVariableDeclaration(node) ||
      ts.isParameter(node) ||
      ts.isFunctionDeclaration(node) ||
      ts.isBindingElement(node) ||
      ts.isImportClause(node) ||
      ts.isImportSpecifier(node) ||
      ts.isNamespaceImport(node) ||
      ts.isImportEqualsDeclaration(node)) &&
    node.name &&
    ts.isIdentifier(node.name)
  )
    return node.name.text;
  return null;
}

/** The runtime's own modules: importing a value from them is touching the runtime like its globals. */
const RUNTIME_MODULES: Record<string, RuntimeRef["name"]> = {
  bun: "Bun",
  "node:process": "process",
  process: "process",
};

/** A value import (not `import type`, not only type specifiers) from one of RUNTIME_MODULES. */
function runtimeImport(node: ts.Node): RuntimeRef["name"] | null {
  if (!ts.isImportDeclaration(node) || !ts.isStringLiteral(node.moduleSpecifier)) return null;
  const name = RUNTIME_MODULES[node.moduleSpecifier.text];
  const clause = node.importClause;
  if (!name || clause?.isTypeOnly) return null;
  const bindings = clause?.namedBindings;
  const onlyTypes =
    !clause?.name && bindings && ts.isNamedImports(bindings) && bindings.elements.every((e) => e.isTypeOnly);
  return onlyTypes ? null : name;
}

/**
 * Value uses of the `Bun` and `process` globals (`Bun.serve`, `process.env`, `globalThis.process`, `{ process }`)
 * and value imports from `bun` or `node:process`. Type positions (`Bun.Serve<T>`, `typeof process`,
 * `import type { Subprocess } from "bun"`) touch nothing at run time and are not counted.
 */
export function runtimeRefsOf(path: string, text: string): RuntimeRef[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const refs: RuntimeRef[] = [];
  const shadowed = new Set<string>();
  const visit = (node: ts.Node): void => {
    const imported = runtimeImport(node);
    if (imported) {
      refs.push({ name: imported, line: lineOf(text, node.getStart(file)) });
      return;
    }
    const declared = declaredName(node);
    if (declared && RUNTIME_GLOBALS.has(declared)) shadowed.add(declared);
    if (ts.isIdentifier(node) && RUNTIME_GLOBALS.has(node.text) && isGlobalUse(node))
      refs.push({ name: node.text as RuntimeRef["name"], line: lineOf(text, node.getStart(file)) });
    ts.forEachChild(node, visit);
  };
  visit(file);
  return refs.filter((r) => !shadowed.has(r.name));
}

export type ImportTarget = { kind: "file"; path: string } | { kind: "package"; name: string };

const CODE_EXTENSIONS = [".ts", ".tsx", ".d.ts"];

/**
 * Where a specifier of `from` (repo-relative, `/`-separated) leads: a repo-relative file (extension and `/index.ts`
 * resolved as Bun does; other files, such as `.json` or `.sql`, as written) or a package by name (`@scope/name`,
 * `node:fs`, `bun:sqlite`; subpaths dropped).
 */
export function resolveImport(from: string, specifier: string, exists: (path: string) => boolean): ImportTarget {
  if (!specifier.startsWith(".")) {
    const parts = specifier.split("/");
    return { kind: "package", name: specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]! };
  }
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates = [...CODE_EXTENSIONS.map((e) => base + e), `${base}/index.ts`];
  const path = (exists(base) && posix.extname(base) !== "" ? base : candidates.find(exists)) ?? base;
  return { kind: "file", path };
}
