import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { rawEvent } from "../../packs/openai/_controls.ts";
import { fakeClock, storeWithSource } from "../../test/helpers.ts";
import { eventRow } from "../../test/storage-contract.ts";
import { VigilError } from "../core/errors.ts";
import { loadOpenAIAuditLogType } from "../schema/index.ts";
import type { PageWrite, PageWriteResult, Store } from "../storage/ports.ts";
import { openDetection } from "./detection.ts";
import { type Detector, PageCommitQueue, storePage } from "./page-writer.ts";

const write = (id: string): PageWrite => ({
  sourceId: "s",
  events: [eventRow(id, 1)],
  quarantined: [],
  unknownTypes: [],
});

const idOf = (w: PageWrite) => w.events[0]!.id;

const result = (w: PageWrite): PageWriteResult => ({
  insertedIds: [idOf(w)],
  duplicates: 0,
  quarantined: 0,
  newUnknownTypes: [],
  createdAlertIds: [],
});

/** A store whose transactions are recorded, and fail whole when they hold a page in `failing`. */
function recordingStore(failing = new Set<string>()) {
  const transactions: string[][] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const store: Pick<Store, "applyPages"> = {
    async applyPages(writes) {
      const ids = writes.map(idOf);
      if (hold) await new Promise<void>((r) => (release = r));
      if (ids.some((id) => failing.has(id))) {
        throw new VigilError("lease_lost", `lost ${ids.filter((id) => failing.has(id)).join(",")}`);
      }
      transactions.push(ids);
      return writes.map(result);
    },
  };
  return {
    store,
    transactions,
    /** Transactions wait until `release` is called. */
    holdNext() {
      hold = true;
    },
    release() {
      hold = false;
      release?.();
    },
  };
}

describe("PageCommitQueue", () => {
  it("commits pages ready at the same time in one transaction, in order, each with its own result", async () => {
    const s = recordingStore();
    const queue = new PageCommitQueue(s.store);
    const results = await Promise.all(["a", "b", "c"].map((id) => queue.write(write(id))));
    assert.deepEqual(s.transactions, [["a", "b", "c"]]);
    assert.deepEqual(
      results.map((r) => r.insertedIds),
      [["a"], ["b"], ["c"]],
    );
  });

  it("groups the pages that arrive while a transaction is in flight into the next one", async () => {
    const s = recordingStore();
    const queue = new PageCommitQueue(s.store);
    s.holdNext();
    const first = queue.write(write("a"));
    await new Promise((r) => setImmediate(r));
    const later = [queue.write(write("b")), queue.write(write("c"))];
    s.release();
    await Promise.all([first, ...later]);
    assert.deepEqual(s.transactions, [["a"], ["b", "c"]]);
    // Idle again: the next page goes at once, alone.
    await queue.write(write("d"));
    assert.deepEqual(s.transactions.at(-1), ["d"]);
  });

  it("writes the others of a failed group one per transaction; only the failing page fails, with its error", async () => {
    const s = recordingStore(new Set(["b"]));
    const queue = new PageCommitQueue(s.store);
    const settled = await Promise.allSettled(["a", "b", "c"].map((id) => queue.write(write(id))));
    assert.deepEqual(
      settled.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    const failure = (settled[1] as PromiseRejectedResult).reason;
    assert.ok(failure instanceof VigilError && failure.code === "lease_lost" && failure.message === "lost b");
    assert.deepEqual(s.transactions, [["a"], ["c"]]);
    // The queue goes on after a failure.
    await queue.write(write("e"));
    assert.deepEqual(s.transactions.at(-1), ["e"]);
  });
});

describe("storePage", () => {
  const normalizer = loadOpenAIAuditLogType();
  const clock = fakeClock(Date.UTC(2026, 10, 20, 16, 0, 0));
  const at = Math.floor(clock.nowMs() / 1000) - 60;
  const failedLogin = (i: number) =>
    rawEvent("login.failed", { error_code: "x" }, { id: `audit_log-f${i}`, at: at + i });

  it("runs the rules on the page's records not stored yet, and only on those", async () => {
    const { store, source } = await storeWithSource();
    const asked: string[][] = [];
    const detector: Detector = {
      async detect(_source, events) {
        asked.push(events.map((e) => e.eventId));
        return { matches: [], stateOps: [] };
      },
    };
    try {
      const deps = { store, source, clock, normalizer, detector };
      await storePage(deps, [failedLogin(1), failedLogin(2)], {});
      const reread = await storePage(deps, [failedLogin(3), failedLogin(2), failedLogin(1)], {});
      assert.deepEqual(reread.insertedIds, ["audit_log-f3"]);
      assert.equal(reread.duplicates, 2);
      // A page of re-reads only: no detection at all.
      await storePage(deps, [failedLogin(1)], {});
      assert.deepEqual(asked, [["audit_log-f1", "audit_log-f2"], ["audit_log-f3"]]);
    } finally {
      await store.close();
    }
  });

  it("does not count a re-read record again in a rule's counter", async () => {
    // The overlap of every poll re-reads stored records. Three failed logins in all, read as 2, then 3 with the
    // first two again: a counter rule that alerts at five must not see five.
    const dir = mkdtempSync(join(tmpdir(), "vigil-reread-"));
    writeFileSync(
      join(dir, "failed_counter.py"),
      [
        "from panther_detection_helpers.caching import get_counter, increment_counter",
        "def rule(event):",
        '    return event.get("type") == "login.failed" and increment_counter("fails", epoch_seconds=3600) >= 3',
        "def title(event):",
        "    return f\"count={get_counter('fails')}\"",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "failed_counter.yml"),
      [
        "AnalysisType: rule",
        "RuleID: Test.FailedLogins.Counter",
        "Enabled: true",
        "Filename: failed_counter.py",
        "LogTypes: [OpenAI.Audit]",
        "Severity: High",
        "",
      ].join("\n"),
    );
    const { store, source } = await storeWithSource();
    const detection = await openDetection({
      store,
      rulesDirs: [dir],
      packsDirs: [],
      nowSecs: () => clock.nowMs() / 1000,
    });
    try {
      const deps = { store, source, clock, normalizer, detector: detection.detector };
      await storePage(deps, [failedLogin(1)], {});
      await storePage(deps, [failedLogin(2), failedLogin(1)], {});
      assert.deepEqual(await store.listAlerts({}), [], "two failed logins: under the rule's threshold of three");
      await storePage(deps, [failedLogin(3), failedLogin(2), failedLogin(1)], {});
      const alerts = await store.listAlerts({});
      assert.deepEqual(
        alerts.map((a) => a.title),
        ["count=3"],
        "the third failed login alerts, counted as the third",
      );
    } finally {
      await detection.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
