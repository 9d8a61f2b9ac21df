import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createDestination } from "../factory.ts";
import { hostileNotification } from "../test-support.ts";
import { createFileDestination, type FileLine, fileConfigSchema } from "./file.ts";

test("appends one parseable JSON line per delivery, creating the directory", async () => {
  const dir = await mkdtemp(join(tmpdir(), "vigil-file-dest-"));
  try {
    const path = join(dir, "nested", "alerts.jsonl");
    const dest = createDestination({ id: "f", name: "Archive", type: "file", path });
    const first = hostileNotification();
    const second = hostileNotification({ kind: "resolved", title: "line\nbreak" });
    assert.equal((await dest.send(first, "d-1")).ok, true);
    assert.equal((await dest.send(second, "d-2")).ok, true);
    const results = await Promise.all([1, 2, 3].map((i) => dest.send(first, `c-${i}`)));
    assert.ok(results.every((r) => r.ok));
    const lines = (await readFile(path, "utf8")).split("\n");
    assert.equal(lines.pop(), "", "the file ends with a newline");
    assert.equal(lines.length, 5);
    const parsed = lines.map((l) => JSON.parse(l) as FileLine);
    assert.equal(parsed[0]?.deliveryId, "d-1");
    assert.deepEqual(parsed[0]?.notification, first);
    assert.equal(parsed[1]?.notification.title, "line\nbreak");
    assert.equal(typeof parsed[1]?.writtenAtMs, "number");
    assert.deepEqual(
      parsed
        .slice(2)
        .map((p) => p.deliveryId)
        .sort(),
      ["c-1", "c-2", "c-3"],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a path that is a directory fails without retry and says why", async () => {
  const dir = await mkdtemp(join(tmpdir(), "vigil-file-dest-"));
  try {
    const result = await createDestination({ id: "f", name: "Archive", type: "file", path: dir }).send(
      hostileNotification(),
      "d",
    );
    assert.ok(!result.ok);
    assert.equal(result.retryable, false);
    assert.match(result.error, /EISDIR/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("stdout writes one JSON line per delivery", async () => {
  const written: string[] = [];
  const dest = createFileDestination(
    fileConfigSchema.parse({ id: "o", name: "Stdout", type: "file", path: "stdout" }),
    {
      stdout: {
        write(chunk, cb) {
          written.push(chunk);
          cb();
          return true;
        },
      },
    },
  );
  assert.equal((await dest.send(hostileNotification(), "d-1")).ok, true);
  assert.equal(written.length, 1);
  assert.ok(written[0]?.endsWith("\n"));
  assert.equal((JSON.parse(written[0] ?? "") as FileLine).deliveryId, "d-1");

  const failing = createFileDestination(fileConfigSchema.parse({ id: "o", name: "Stdout", type: "file", path: "-" }), {
    stdout: { write: (_chunk, cb) => cb(new Error("EPIPE")) },
  });
  const failed = await failing.send(hostileNotification(), "d-2");
  assert.ok(!failed.ok);
  assert.equal(failed.retryable, true);
});
