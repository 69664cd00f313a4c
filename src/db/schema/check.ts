/**
 * Compile-time proof that both dialects have the same row types, table by table. `bun run typecheck` fails when a
 * column differs in name, type or nullability. This is what lets one repository implementation serve both.
 */
import type * as P from "./pg";
import type * as S from "./sqlite";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

type Tables = keyof typeof S & keyof typeof P;
type SelectAgree = { [K in Tables]: Equal<(typeof S)[K]["$inferSelect"], (typeof P)[K]["$inferSelect"]> };
type InsertAgree = { [K in Tables]: Equal<(typeof S)[K]["$inferInsert"], (typeof P)[K]["$inferInsert"]> };
type SameTables = Equal<keyof typeof S, keyof typeof P>;

export type SchemaCheck = [
  Assert<SameTables>,
  Assert<SelectAgree[Tables] extends true ? true : false>,
  Assert<InsertAgree[Tables] extends true ? true : false>,
];
