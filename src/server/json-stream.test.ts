import assert from "node:assert/strict";
import { it } from "node:test";
import { pagedBody } from "./json-stream.ts";

it("a client that leaves while a page is being read is no failure: nothing is reported, nothing more is read", async () => {
  const encoder = new TextEncoder();
  let release: () => void = () => undefined;
  let reads = 0;
  async function* pages(): AsyncGenerator<string> {
    for (;;) {
      reads++;
      // The second page is slow: the client leaves while it is being read.
      if (reads === 2) await new Promise<void>((resolve) => (release = resolve));
      yield `page ${reads}`;
    }
  }
  const source = pages();
  const first = await source.next();
  const errors: unknown[] = [];
  const body = pagedBody(first, source, (err) => errors.push(err), {
    head: encoder.encode("["),
    encode: (page) => [encoder.encode(page)],
  });
  const reader = body.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), "[");
  assert.equal(new TextDecoder().decode((await reader.read()).value), "page 1");
  const pending = reader.read();
  while (reads < 2) await new Promise((resolve) => setImmediate(resolve));
  const cancelled = reader.cancel();
  release();
  await cancelled;
  assert.deepEqual(await pending, { done: true, value: undefined });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(errors, []);
  assert.equal(reads, 2);
});
