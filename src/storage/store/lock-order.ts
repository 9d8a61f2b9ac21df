// The order in which writers touch shared rows and keys. Concurrent writers (PostgreSQL workers, a backfill's
// slices) that lock the same unique-index entries, counter rows or advisory keys take them in one order, so
// none can wait for another that waits for it: the keys' code-unit order, as the page write has always used.

/** `items` sorted by `keyOf`, in the order every writer locks them. */
export function inLockOrder<T>(items: Iterable<T>, keyOf: (item: T) => string): T[] {
  return [...items].sort((a, b) => {
    const x = keyOf(a);
    const y = keyOf(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
