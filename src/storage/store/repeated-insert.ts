// The multi-row INSERTs a page writes (events, their text-index queue entries, rule matches), compiled by Kysely
// once per shape and reused. Kysely builds and compiles a query anew on every call: for a page of 100 events
// that is a tree of some 1,300 value nodes built, frozen and walked, a tenth of a backfill's time. The SQL text
// of a shape (a table, its columns and a row count) never changes, so only the values need binding again. Rows
// go in statements of SHAPE_ROWS and one of the rest, so a table has at most SHAPE_ROWS shapes however its
// row counts vary (a page's matches do, from page to page).

import { type Compilable, CompiledQuery, type DialectAdapter } from "kysely";
import type { Db } from "./dialect.ts";

type Row = Record<string, unknown>;

/** Per dialect (its adapter): a shape's SQL text, or null when the shape's parameters are not its values. */
const texts = new WeakMap<DialectAdapter, Map<string, string | null>>();

/** Rows per statement: a page's events in one. */
const SHAPE_ROWS = 100;

/** Every shape of the tables written this way; past this, the least recently compiled is compiled again. */
const SHAPES_KEPT = 512;

/**
 * Runs `build(rows)` (an INSERT of `rows`, which all have the same keys in the same order and no undefined
 * value) in statements of at most SHAPE_ROWS rows, each reusing the SQL text Kysely compiled for the same
 * `name`, columns and row count; returns every statement's rows. `name` stands for the query: one call site
 * (its table, conflict clause and returned columns), since those clauses are not checked. The text is reused
 * only when the compiled parameters were exactly the rows' values, row by row in column order, checked when
 * it is compiled: a query whose other clauses bind values of their own is compiled every time.
 */
export async function insertRows<R>(
  trx: Db,
  name: string,
  rows: readonly Row[],
  build: (rows: readonly Row[]) => Compilable<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < rows.length; i += SHAPE_ROWS) {
    for (const r of await insertShape(trx, name, rows.slice(i, i + SHAPE_ROWS), build)) out.push(r);
  }
  return out;
}

async function insertShape<R>(
  trx: Db,
  name: string,
  rows: readonly Row[],
  build: (rows: readonly Row[]) => Compilable<R>,
): Promise<R[]> {
  const columns = Object.keys(rows[0] ?? {});
  const adapter = trx.getExecutor().adapter;
  let shapes = texts.get(adapter);
  if (shapes === undefined) {
    shapes = new Map();
    texts.set(adapter, shapes);
  }
  const shape = `${name}\u0000${rows.length}\u0000${columns.join("\u0000")}`;
  const text = shapes.get(shape);
  if (text === null) return (await trx.executeQuery(build(rows))).rows;
  const values = valuesOf(rows, columns);
  if (text !== undefined && values !== null)
    return (await trx.executeQuery<R>(CompiledQuery.raw(text, values) as CompiledQuery<R>)).rows;
  const compiled = build(rows).compile();
  // Rows of their own shape (values null) say nothing of the query's; parameters that are not the values do.
  if (values !== null) {
    if (shapes.size >= SHAPES_KEPT) shapes.delete(shapes.keys().next().value as string);
    shapes.set(shape, sameValues(compiled.parameters, values) ? compiled.sql : null);
  }
  return (await trx.executeQuery(compiled)).rows;
}

/** The rows' values, row by row in column order; null when a row's keys differ from the first row's. */
function valuesOf(rows: readonly Row[], columns: readonly string[]): unknown[] | null {
  const values: unknown[] = [];
  for (const row of rows) {
    const keys = Object.keys(row);
    if (keys.length !== columns.length) return null;
    for (let i = 0; i < columns.length; i++) {
      const value = row[columns[i]!];
      if (keys[i] !== columns[i] || value === undefined) return null;
      values.push(value);
    }
  }
  return values;
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
