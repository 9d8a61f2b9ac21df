// How the store cuts a long list of rows or keys into statements: one rule for every multi-row INSERT and every
// IN list, so that no statement passes either database's limit on bound parameters.

/**
 * Rows per multi-row statement, or keys per IN list: 500 rows of rule_matches (27 columns) stay well under
 * SQLite's 32,766 bound parameters and PostgreSQL's 65,535; a lookup of 500 matches binds at most 1,001.
 */
export const CHUNK = 500;

/** `items` in consecutive slices of at most `size`, in order. */
export function* chunks<T>(items: readonly T[], size = CHUNK): Generator<T[]> {
  for (let from = 0; from < items.length; from += size) yield items.slice(from, from + size);
}
