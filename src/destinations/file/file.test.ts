import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createDestination, DestinationConfigError, parseDestinationConfig } from "../factory.ts";
import { hostileNotification } from "../test-support.ts";
import { createFileDestination, type FileLine, fileConfigSchema } from "./file.ts";

test("appends one parseable JSON line per delivery, creating the directory", async () => {
  const dir = await mkdtemp(join(tmpdir(), "vigil-file-dest-"));
  try {
    const path = join(dir, "nested", "alerts.jsonl");
    const dest = createDestination({ id: "f", name: "Archive", type: "file", path }, { exportDir: dir });
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
    await mkdir(join(dir, "sub"));
    const result = await createDestination(
      { id: "f", name: "Archive", type: "file", path: "sub" },
      { exportDir: dir },
    ).send(hostileNotification(), "d");
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

// Security (issue 16, finding 2): the file destination writes only under the operator's export directory.
describe("file destination confinement to the export directory", () => {
  const config = (path: string) => ({ id: "f", name: "Archive", type: "file", path });

  async function sandbox() {
    const root = await mkdtemp(join(tmpdir(), "vigil-file-confine-"));
    const exportDir = join(root, "exports");
    const outside = join(root, "outside");
    await mkdir(exportDir);
    await mkdir(outside);
    return { root, exportDir, outside, cleanup: () => rm(root, { recursive: true, force: true }) };
  }

  test("relative paths land inside the export directory, with a 0600 file", async () => {
    const s = await sandbox();
    try {
      const dest = createDestination(config("team/alerts.jsonl"), { exportDir: s.exportDir });
      const result = await dest.send(hostileNotification(), "d-1");
      assert.ok(result.ok);
      const written = join(s.exportDir, "team", "alerts.jsonl");
      assert.equal((await stat(written)).mode & 0o777, 0o600);
    } finally {
      await s.cleanup();
    }
  });

  test("../, absolute paths outside and the directory itself are refused at validation", async () => {
    const s = await sandbox();
    try {
      for (const path of ["../outside/ARBITRARY", "a/../../ARBITRARY", "/etc/cron.d/x", s.outside, ".", s.exportDir]) {
        const parsed = parseDestinationConfig(config(path), { exportDir: s.exportDir });
        assert.ok(!parsed.ok, `${path} must be refused`);
        assert.equal(parsed.issues[0]?.path, "path");
        assert.match(parsed.issues[0]?.message ?? "", /leaves the export directory/);
      }
      assert.throws(
        () => createDestination(config("../outside/ARBITRARY"), { exportDir: s.exportDir }),
        DestinationConfigError,
      );
      // An absolute path inside the directory is fine.
      assert.ok(parseDestinationConfig(config(join(s.exportDir, "a.jsonl")), { exportDir: s.exportDir }).ok);
      // Without the operator's export directory nothing but stdout is accepted.
      assert.ok(!parseDestinationConfig(config("a.jsonl")).ok);
      assert.ok(parseDestinationConfig(config("stdout")).ok);
    } finally {
      await s.cleanup();
    }
  });

  test("a symbolic link out of the directory is refused at validation and at write time", async () => {
    const s = await sandbox();
    try {
      await symlink(s.outside, join(s.exportDir, "link"));
      const viaLink = parseDestinationConfig(config("link/ARBITRARY"), { exportDir: s.exportDir });
      assert.ok(!viaLink.ok);
      assert.match(viaLink.issues[0]?.message ?? "", /symbolic link/);

      // Validated while "later" was a plain name; a link planted before the send must not be followed.
      const dest = createDestination(config("later/ARBITRARY"), { exportDir: s.exportDir });
      await symlink(s.outside, join(s.exportDir, "later"));
      const result = await dest.send(hostileNotification(), "d-1");
      assert.ok(!result.ok);
      assert.equal(result.retryable, false);
      assert.match(result.error, /symbolic link/);

      // The file itself as a link to a file outside.
      const victim = join(s.outside, "victim");
      await writeFile(victim, "");
      const fileDest = createDestination(config("alerts.jsonl"), { exportDir: s.exportDir });
      await symlink(victim, join(s.exportDir, "alerts.jsonl"));
      const linked = await fileDest.send(hostileNotification(), "d-2");
      assert.ok(!linked.ok);
      assert.equal(linked.retryable, false);

      assert.equal(existsSync(join(s.outside, "ARBITRARY")), false);
      assert.equal(await readFile(victim, "utf8"), "");
    } finally {
      await s.cleanup();
    }
  });
});
