// p_row_id: a unique row id in Panther's shape (OSS `pantherlog.RowID`): hex of a 6-byte node id,
// the process start time as a varint of microseconds since 2020-01-01, and a varint counter.
// Panther uses the MAC address as node id; we use random bytes, which is as unique and leaks nothing.

import { randomBytes } from "node:crypto";

const EPOCH_2020_MS = Date.UTC(2020, 0, 1);

/** Go's binary.PutUvarint, written as hex. Arithmetic instead of bit operations keeps 53 bits. */
function uvarintHex(value: number): string {
  let n = Math.max(0, Math.floor(value));
  let out = "";
  while (n >= 0x80) {
    out += ((n % 0x80) | 0x80).toString(16).padStart(2, "0");
    n = Math.floor(n / 0x80);
  }
  return out + n.toString(16).padStart(2, "0");
}

const prefix = randomBytes(6).toString("hex") + uvarintHex((Date.now() - EPOCH_2020_MS) * 1000);
let counter = 0;

export function nextRowId(): string {
  const id = prefix + uvarintHex(counter);
  counter = counter === Number.MAX_SAFE_INTEGER ? 0 : counter + 1;
  return id;
}
