/** The usage journal's file handling: mapped appends survive a killed process; segments hold exactly their lines. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openJournal, readJournalLines } from "./usage-journal";

const dir = mkdtempSync(join(tmpdir(), "gw-journal-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = (i: number) => JSON.stringify({ id: `row-${i}`, model: "m", text: "é—✓".repeat(i % 5) });

test("lines appended by a process killed with SIGKILL are all read back, nothing else", async () => {
  const path = join(dir, "killed.jsonl");
  const script = `
    const { openJournal } = await import(${JSON.stringify(join(import.meta.dir, "usage-journal.ts"))});
    const j = openJournal(${JSON.stringify(path)}, false);
    for (let i = 0; i < 3000; i++) j.append(JSON.stringify({ id: "row-" + i, model: "m", text: "é—✓".repeat(i % 5) }));
    process.kill(process.pid, "SIGKILL");`;
  const child = Bun.spawn([process.execPath, "-e", script], { stderr: "pipe" });
  expect(await child.exited).not.toBe(0);
  // The next process finds the active file and turns it into a segment to replay.
  const next = openJournal(path, false);
  const [segment] = next.leftovers();
  expect(segment).toBeDefined();
  const { lines, corrupt } = readJournalLines(segment!);
  expect(corrupt).toBe(0);
  expect(lines).toEqual(Array.from({ length: 3000 }, (_, i) => line(i)));
  next.close();
});

test("a rotated segment holds exactly its lines, also past the initial mapping size", () => {
  const j = openJournal(join(dir, "big.jsonl"), false);
  const big = "x".repeat(100_000);
  for (let i = 0; i < 60; i++) j.append(JSON.stringify({ id: i, big }));
  const segment = j.rotate()!;
  const { lines, corrupt } = readJournalLines(segment);
  expect(corrupt).toBe(0);
  expect(lines.length).toBe(60);
  expect(statSync(segment).size).toBe(lines.reduce((n, l) => n + l.length + 1, 0));
  j.remove(segment);
  j.close();
  expect(readdirSync(dir).filter((f) => f.startsWith("big.jsonl"))).toEqual([]);
});

test("fsync mode writes with write() and reads back the same", () => {
  const j = openJournal(join(dir, "sync.jsonl"), true);
  for (let i = 0; i < 10; i++) j.append(line(i));
  const segment = j.rotate()!;
  expect(readJournalLines(segment).lines).toEqual(Array.from({ length: 10 }, (_, i) => line(i)));
  j.close();
});
