// The console's tables: one real <table> (a header row of <th scope="col">, a row per item) or, when there is
// nothing to list, one muted line saying so. Cells are React nodes, so what they show stays escaped text.

import type { ReactNode } from "react";

export interface Column<T> {
  /** The header cell's content (empty for an actions column). */
  header?: ReactNode;
  /** The row's cell; `index` is the row's place on this page. */
  cell: (row: T, index: number) => ReactNode;
  /** Classes of the column's <td>s. */
  className?: string;
  /** Classes of its <th>. */
  headerClassName?: string;
}

export interface TableProps<T> {
  /** The rows; null while they load (nothing is shown, not even the empty line). */
  rows: readonly T[] | null | undefined;
  columns: ReadonlyArray<Column<T> | false | null | undefined>;
  /** Each row's React key. */
  rowKey: (row: T, index: number) => string | number;
  /** The table's accessible name (what the browser tests and screen readers find it by). */
  label?: string;
  className?: string;
  hidden?: boolean;
  /** The line shown instead of an empty table; without it an empty table shows nothing. */
  empty?: ReactNode;
}

export function Table<T>({ rows, columns, rowKey, label, className, hidden, empty }: TableProps<T>) {
  if (!rows) return null;
  if (rows.length === 0) return empty ? <p className="muted">{empty}</p> : null;
  const shown = columns.filter((c): c is Column<T> => Boolean(c));
  // In a box that scrolls sideways: a table wider than the page (long values on a laptop screen) scrolls on its
  // own instead of pushing the page, and its last columns, off the screen.
  return (
    <div className="table-scroll" hidden={hidden}>
      <table aria-label={label} className={className} hidden={hidden}>
        <thead>
          <tr>
            {shown.map((c, i) => (
              // Columns are fixed by the caller: a column's place is its identity.
              // biome-ignore lint/suspicious/noArrayIndexKey: see above
              <th key={i} scope="col" className={c.headerClassName}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, r) => (
            <tr key={rowKey(row, r)}>
              {shown.map((c, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: as above
                <td key={i} className={c.className}>
                  {c.cell(row, r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
