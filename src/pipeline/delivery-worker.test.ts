import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { addSource, addWebhook, createAlerts, secretBoxIn, T0 } from "../../test/delivery-helpers.ts";
import { eventRow, ruleMatch } from "../../test/storage-contract.ts";
import { OPEN_POLICY } from "../core/outbound.ts";
import type { SourceRecord } from "../core/source.ts";
import { reply, startHttpServer, type TestServer } from "../destinations/test-support.ts";
import { createLogger } from "../logging/logger.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { Store } from "../storage/ports.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { DELIVERY_FAILED_RULE_ID } from "./delivery-health.ts";
import {
  backoffDelayMs,
  DeliveryWorker,
  type DeliveryWorkerOptions,
  MAX_UNRECORDED_CLAIMS,
} from "./delivery-worker.ts";

const logger = createLogger({ level: "silent" });

describe("backoffDelayMs", () => {
  it("is full jitter over an exponential ceiling, capped, and never below Retry-After", () => {
    assert.equal(backoffDelayMs(1, { baseMs: 1000, minMs: 0, random: () => 0.999999 }), 999);
    assert.equal(backoffDelayMs(4, { baseMs: 1000, random: () => 0.5 }), 4000);
    assert.equal(backoffDelayMs(30, { baseMs: 1000, maxMs: 60_000, random: () => 0.5 }), 30_000);
    assert.equal(backoffDelayMs(3, { baseMs: 1000, minMs: 0, random: () => 0 }), 0);
    // The floor: a retry is never due at once.
    assert.equal(backoffDelayMs(3, { baseMs: 1000, random: () => 0 }), 1000);
    assert.equal(backoffDelayMs(1, { baseMs: 1000, random: () => 0.5, retryAfterMs: 7000 }), 7000);
    assert.equal(backoffDelayMs(9, { baseMs: 1000, random: () => 0.5, retryAfterMs: 10 }), 128_000);
  });
});

describe("DeliveryWorker", () => {
  let dir: string;
  let store: Store;
  let secrets: SecretBox;
  let source: SourceRecord;
  let server: TestServer | undefined;
  const clock = { t: 1_000_000, nowMs: () => clock.t };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "vigil-delivery-"));
    store = await openSqliteStore({ path: join(dir, "vigil.db"), clock });
    secrets = secretBoxIn(dir);
    source = await addSource(store);
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function worker(options: Partial<DeliveryWorkerOptions> = {}, on: Store = store): DeliveryWorker {
    return new DeliveryWorker({
      store: on,
      secrets,
      logger,
      clock,
      publicUrl: "https://vigil.example.com",
      outbound: OPEN_POLICY,
      random: () => 0.5,
      baseDelayMs: 1000,
      minDelayMs: 0,
      ...options,
    });
  }

  it("honours Retry-After on a 429, then delivers with the same delivery id", async () => {
    let calls = 0;
    server = await startHttpServer((_req, res) => {
      calls++;
      if (calls === 1) reply(res, 429, "slow down", { "Retry-After": "30" });
      else reply(res, 200, "ok");
    });
    await addWebhook(store, secrets, "hook", `${server.origin}/in`);
    const [alertId] = await createAlerts(store, source, 1);
    assert.ok(alertId);

    assert.deepEqual(await worker().runOnce(), { routed: 1, sent: 0, retried: 1, failed: 0 });
    const [pending] = await store.listDeliveries(alertId);
    assert.equal(pending?.status, "pending");
    assert.equal(pending?.nextAttemptAtMs, clock.t + 30_000);

    clock.t += 29_999;
    assert.deepEqual(await worker().runOnce(), { routed: 0, sent: 0, retried: 0, failed: 0 });
    clock.t += 1;
    assert.deepEqual(await worker().runOnce(), { routed: 0, sent: 1, retried: 0, failed: 0 });

    const [done] = await store.listDeliveries(alertId);
    assert.equal(done?.status, "sent");
    assert.deepEqual(
      done?.log.map((a) => [a.attempt, a.outcome, a.statusCode]),
      [
        [1, "retry", 429],
        [2, "sent", 200],
      ],
    );
    const ids = server.requests.map((r) => r.headers["x-vigil-delivery-id"]);
    assert.deepEqual(ids, [done?.id, done?.id]);
    const body = JSON.parse(server.requests[1]?.body ?? "{}") as { notification: Record<string, unknown> };
    assert.equal(body.notification.kind, "created");
    assert.equal(body.notification.alertId, alertId);
    assert.equal(body.notification.consoleUrl, `https://vigil.example.com/alerts/${alertId}`);
  });

  it("sends an alert raised from history only to the destinations that ask for history", async () => {
    server = await startHttpServer((_req, res) => reply(res, 200, "ok"));
    await addWebhook(store, secrets, "pager", `${server.origin}/live-only`);
    await addWebhook(store, secrets, "archive", `${server.origin}/with-history`, { includeHistory: true });
    const history = await store.applyPage({
      sourceId: source.id,
      events: [eventRow("old-1", T0 - 86_400)],
      quarantined: [],
      unknownTypes: [],
      matches: [ruleMatch(source.id, "old-1", T0 - 86_400, { severity: "CRITICAL" })],
      fromHistory: true,
    });
    const [historyAlert] = history.createdAlertIds;
    const [liveAlert] = await createAlerts(store, source, 1, { severity: "CRITICAL" });
    assert.ok(historyAlert && liveAlert);
    assert.equal((await store.getAlert(historyAlert))?.fromHistory, true);
    await worker().runOnce();
    const paths = (id: string) =>
      server!.requests
        .filter((r) => (JSON.parse(r.body) as { notification: { alertId: string } }).notification.alertId === id)
        .map((r) => r.url)
        .sort();
    assert.deepEqual(paths(historyAlert), ["/with-history"]);
    assert.deepEqual(paths(liveAlert), ["/live-only", "/with-history"]);
    const sent = JSON.parse(server.requests.find((r) => r.url === "/with-history")?.body ?? "{}");
    assert.equal(typeof sent.notification.fromHistory, "boolean");
  });

  /** The store, with getDestinationConfig failing while `failing()` says so (a database hiccup, say). */
  function withConfigFailing(failing: () => boolean): Store {
    return new Proxy(store, {
      get(target, key, receiver) {
        if (key === "getDestinationConfig")
          return async (id: string) => {
            if (failing()) throw new Error("Connection terminated unexpectedly");
            return target.getDestinationConfig(id);
          };
        const value = Reflect.get(target, key, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  it("routes an alert to a destination it could not build at that moment, and sends it once it can", async () => {
    server = await startHttpServer((_req, res) => reply(res, 200, "ok"));
    await addWebhook(store, secrets, "hook", `${server.origin}/in`);
    const [alertId] = await createAlerts(store, source, 1);
    assert.ok(alertId);
    // The routing pass reads the destination's config once, and that read fails.
    let reads = 0;
    const w = worker(
      {},
      withConfigFailing(() => reads++ === 0),
    );
    await w.runOnce();
    assert.deepEqual(
      (await store.listDeliveries(alertId)).map((d) => [d.destinationName, d.status]),
      [["hook", "sent"]],
    );
    assert.equal(server.requests.length, 1);
  });

  it("dead-letters the deliveries of a destination it can never build, and raises DeliveryFailed", async () => {
    await addWebhook(store, secrets, "hook", "https://hooks.example.com/in");
    const [alertId] = await createAlerts(store, source, 1);
    assert.ok(alertId);
    const w = worker(
      { maxAttempts: 2 },
      withConfigFailing(() => true),
    );
    for (let i = 0; i < 3; i++) {
      await w.runOnce();
      clock.t += 10 * 60_000;
    }
    const [delivery] = await store.listDeliveries(alertId);
    assert.equal(delivery?.status, "failed");
    assert.match(delivery?.lastError ?? "", /cannot be used by this worker: Connection terminated/);
    assert.equal((await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID })).length, 1);
  });

  it("routes each entry as its alert was when written: a history alert turned live pages a live-only destination once", async () => {
    server = await startHttpServer((_req, res) => reply(res, 200, "ok"));
    await addWebhook(store, secrets, "pager", `${server.origin}/live-only`);
    await addWebhook(store, secrets, "archive", `${server.origin}/with-history`, { includeHistory: true });
    const match = (id: string, t: number) => ruleMatch(source.id, id, t, { severity: "CRITICAL" });
    const history = await store.applyPage({
      sourceId: source.id,
      events: [eventRow("old-1", T0 - 60)],
      quarantined: [],
      unknownTypes: [],
      matches: [match("old-1", T0 - 60)],
      fromHistory: true,
    });
    const [alertId] = history.createdAlertIds;
    assert.ok(alertId);
    // Live activity joins it before its first entry is routed: the alert is live now, and announced again.
    await store.applyPage({
      sourceId: source.id,
      events: [eventRow("new-1", T0)],
      quarantined: [],
      unknownTypes: [],
      matches: [match("new-1", T0)],
    });
    assert.equal((await store.getAlert(alertId))?.fromHistory, false);
    await worker().drain();
    const created = server.requests
      .map((r) => ({ url: r.url, body: JSON.parse(r.body) as { notification: { alertId: string; kind: string } } }))
      .filter((r) => r.body.notification.alertId === alertId && r.body.notification.kind === "created")
      .map((r) => r.url)
      .sort();
    assert.deepEqual(created, ["/live-only", "/with-history", "/with-history"]);
  });

  it("retries 500s with backoff, then dead-letters after the maximum attempts", async () => {
    server = await startHttpServer((_req, res) => reply(res, 500, "boom"));
    await addWebhook(store, secrets, "hook", server.origin);
    const [alertId] = await createAlerts(store, source, 1);
    assert.ok(alertId);
    // Only the dead letter raises the system alert here (not half an hour of failures).
    const w = worker({ maxAttempts: 3, failingAfterMs: 3_600_000 });
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = clock.t;
      await w.runOnce();
      const [d] = await store.listDeliveries(alertId);
      if (d?.status === "pending") delays.push(d.nextAttemptAtMs - before);
      clock.t += 10 * 60_000;
    }
    // random() = 0.5 of 1 s, then of 2 s.
    assert.deepEqual(delays, [500, 1000]);
    const [dead] = await store.listDeliveries(alertId);
    assert.equal(dead?.status, "failed");
    assert.match(dead?.lastError ?? "", /500/);
    assert.deepEqual(
      dead?.log.map((a) => a.outcome),
      ["retry", "retry", "failed"],
    );
    assert.deepEqual(
      (await store.listDeliveriesByStatus("failed")).map((d) => d.id),
      [dead?.id],
    );
    assert.equal(server.requests.length, 3);
    // The dead letter raised the destination's system alert, which is routed to every destination (this
    // failing one included) and retried like any other delivery.
    const system = await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID });
    assert.equal(system.length, 1);
    assert.deepEqual(await w.runOnce(), { routed: 1, sent: 0, retried: 1, failed: 0 });
  });

  it("does not retry a permanent failure (404)", async () => {
    server = await startHttpServer((_req, res) => reply(res, 404));
    await addWebhook(store, secrets, "hook", server.origin);
    const [alertId] = await createAlerts(store, source, 1);
    assert.deepEqual(await worker().runOnce(), { routed: 1, sent: 0, retried: 0, failed: 1 });
    assert.equal((await store.listDeliveries(alertId ?? ""))[0]?.status, "failed");
  });

  it("two workers on two connections never send the same delivery twice", async () => {
    const seen: string[] = [];
    server = await startHttpServer((req, res) => {
      seen.push(String(req.headers["x-vigil-delivery-id"]));
      setTimeout(() => reply(res, 200), 5);
    });
    await addWebhook(store, secrets, "hook-a", server.origin);
    await addWebhook(store, secrets, "hook-b", `${server.origin}/b`);
    await createAlerts(store, source, 15);
    const other = await openSqliteStore({ path: join(dir, "vigil.db"), clock });
    try {
      const [a, b] = await Promise.all([worker({ batchSize: 3 }).drain(), worker({ batchSize: 3 }, other).drain()]);
      assert.equal((a?.sent ?? 0) + (b?.sent ?? 0), 30);
    } finally {
      await other.close();
    }
    assert.equal(seen.length, 30);
    assert.equal(new Set(seen).size, 30);
  });

  it("re-claims the deliveries of a crashed worker once its lease expires", async () => {
    server = await startHttpServer((_req, res) => reply(res, 200));
    await addWebhook(store, secrets, "hook", server.origin);
    const [alertId] = await createAlerts(store, source, 1);
    await worker().route();
    // The "crashed" worker claimed and never recorded anything. Leases run on the database's clock: the wall
    // clock's, with SQLite.
    const [lost] = await store.claimDeliveries({ nowMs: clock.t, leaseMs: 2000, limit: 10 });
    assert.ok(lost);
    assert.deepEqual(await worker().runOnce(), { routed: 0, sent: 0, retried: 0, failed: 0 });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.deepEqual(await worker().runOnce(), { routed: 0, sent: 1, retried: 0, failed: 0 });
    const [d] = await store.listDeliveries(alertId ?? "");
    assert.equal(d?.status, "sent");
    assert.equal(d?.attempts, 2);
    assert.equal(server.requests[0]?.headers["x-vigil-delivery-id"], lost.id);
  });

  it("routes by minimum severity, and sends a resolved notification when an alert is resolved", async () => {
    server = await startHttpServer((_req, res) => reply(res, 200));
    await addWebhook(store, secrets, "everything", `${server.origin}/all`);
    await addWebhook(store, secrets, "critical-only", `${server.origin}/crit`, { minSeverity: "CRITICAL" });
    const [alertId] = await createAlerts(store, source, 1, { severity: "HIGH" });
    assert.ok(alertId);
    await worker().drain();
    await store.setAlertStatus(alertId, "RESOLVED", clock.t);
    await worker().drain();
    assert.deepEqual(
      server.requests.map((r) => [r.url, (JSON.parse(r.body) as { notification: { kind: string } }).notification.kind]),
      [
        ["/all", "created"],
        ["/all", "resolved"],
      ],
    );
    const deliveries = await store.listDeliveries(alertId);
    assert.deepEqual(
      deliveries.map((d) => [d.kind, d.destinationName, d.status]),
      [
        ["created", "everything", "sent"],
        ["resolved", "everything", "sent"],
      ],
    );
  });

  it("routes every other alert while one alert's notifications cannot be read, and that one's in order later", async () => {
    server = await startHttpServer((_req, res) => reply(res, 200));
    await addWebhook(store, secrets, "hook", server.origin);
    const [broken, fine] = await createAlerts(store, source, 2);
    assert.ok(broken && fine);
    // The broken alert's creation cannot be read (a context that does not decode, say), and it is resolved.
    await store.setAlertStatus(broken, "RESOLVED", clock.t);
    let readable = false;
    const unreadable = new Proxy(store, {
      get: (target, key, receiver) =>
        key === "getAlertMatches"
          ? (id: string, limit?: number) =>
              id === broken && !readable
                ? Promise.reject(new Error("cannot decode"))
                : target.getAlertMatches(id, limit)
          : Reflect.get(target, key, receiver),
    });
    // Even when the held-back entries fill the routing window (here one entry wide): the pass looks past them.
    assert.equal(await worker({}, unreadable).route(1), 3);
    assert.deepEqual(
      (await store.listDeliveries(fine)).map((d) => [d.kind, d.status]),
      [["created", "pending"]],
    );
    await worker({}, unreadable).drain();
    assert.deepEqual(
      (await store.listDeliveries(fine)).map((d) => [d.kind, d.status]),
      [["created", "sent"]],
    );
    assert.deepEqual(await store.listDeliveries(broken), [], "its resolve waits behind its creation");
    readable = true;
    await worker({}, unreadable).drain();
    assert.deepEqual(
      (await store.listDeliveries(broken)).map((d) => [d.kind, d.status]),
      [
        ["created", "sent"],
        ["resolved", "sent"],
      ],
    );
  });

  it("fails a pending delivery whose destination was removed", async () => {
    server = await startHttpServer((_req, res) => reply(res, 200));
    const dest = await addWebhook(store, secrets, "hook", server.origin);
    const [alertId] = await createAlerts(store, source, 1);
    await worker().route();
    await store.removeDestination(dest.id);
    assert.deepEqual(await worker().runOnce(), { routed: 0, sent: 0, retried: 0, failed: 1 });
    const [d] = await store.listDeliveries(alertId ?? "");
    assert.equal(d?.status, "failed");
    assert.match(d?.lastError ?? "", /removed/);
    assert.equal(server.requests.length, 0);
  });
  it("raises one DeliveryFailed system alert per failing destination, and resolves it when delivery works again", async () => {
    let up = false;
    // "hook" refuses until it is back up; "backup" takes everything, the system alert included.
    server = await startHttpServer((req, res) => reply(res, up || req.url === "/backup" ? 200 : 404));
    const hook = await addWebhook(store, secrets, "hook", `${server.origin}/hook`);
    await addWebhook(store, secrets, "backup", `${server.origin}/backup`);
    await createAlerts(store, source, 2);
    const w = worker();
    assert.deepEqual(await w.runOnce(), { routed: 2, sent: 2, retried: 0, failed: 2 });
    const raised = await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID });
    assert.equal(raised.length, 1);
    const [system] = raised;
    assert.ok(system);
    assert.equal(system.severity, "CRITICAL");
    assert.equal(system.status, "OPEN");
    assert.equal(system.alertContext?.destination_id, hook.id);

    // More dead deliveries (the system alert's own included) raise nothing more.
    await createAlerts(store, source, 1);
    await w.drain();
    clock.t += 60_000;
    await w.drain();
    assert.equal((await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID })).length, 1);

    // Back up: the next successful delivery resolves it (and enqueues its resolve notification).
    up = true;
    await createAlerts(store, source, 1);
    await w.drain();
    const after = await store.getAlert(system.id);
    assert.equal(after?.status, "RESOLVED");
    const history = await store.listAlertStatusChanges(system.id);
    assert.deepEqual(history.at(-1) && { to: history.at(-1)?.to, by: history.at(-1)?.by }, {
      to: "RESOLVED",
      by: "system:delivery",
    });
    // The resolve goes where the system alert's creation went: to "backup", not to "hook", which never got it.
    assert.deepEqual(
      (await store.listDeliveries(system.id))
        .filter((d) => d.kind === "resolved")
        .map((d) => [d.destinationName, d.status]),
      [["backup", "sent"]],
    );
    assert.equal((await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID })).length, 1);
  });

  it("retries for a day, not a number of attempts, and raises DeliveryFailed after 5 minutes of failures", async () => {
    let up = false;
    server = await startHttpServer((_req, res) => reply(res, up ? 200 : 503, "down"));
    const hook = await addWebhook(store, secrets, "hook", server.origin);
    const [alertId] = await createAlerts(store, source, 1);
    assert.ok(alertId);
    const w = worker({ baseDelayMs: 60_000 });
    const start = clock.t;
    const systemAlerts = () => store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID });
    await w.runOnce();
    clock.t += 4 * 60_000;
    await w.runOnce();
    assert.deepEqual(await systemAlerts(), [], "4 minutes of failures are not yet an outage");
    clock.t += 60_000;
    await w.runOnce();
    const [system, ...more] = await systemAlerts();
    assert.ok(system);
    assert.deepEqual(more, []);
    assert.equal(system.alertContext?.destination_id, hook.id);
    assert.equal(system.alertContext?.given_up, false);
    assert.match(system.description ?? "", /failed for 5 min \(.*HTTP 503.*still being retried/);

    // Twelve hours down: the alert's delivery is retried as long, and stays pending (the backoff is capped at 10 min).
    while (clock.t < start + 12 * 3_600_000) {
      clock.t += 10 * 60_000;
      await w.runOnce();
    }
    const [pending] = await store.listDeliveries(alertId);
    assert.equal(pending?.status, "pending");
    assert.ok((pending?.attempts ?? 0) > 60, `attempts: ${pending?.attempts}`);
    assert.equal((await systemAlerts()).length, 1, "one alert for the whole outage");

    // Back up: the backlog goes out within the capped backoff, and the system alert resolves.
    up = true;
    clock.t += 10 * 60_000;
    await w.drain();
    assert.equal((await store.listDeliveries(alertId))[0]?.status, "sent");
    assert.equal((await store.getAlert(system.id))?.status, "RESOLVED");
    assert.equal((await store.getDestination(hook.id))?.failing, null);
  });

  it("gives a retryable failure up once its day is over, and sends the dead letter again on request", async () => {
    let up = false;
    server = await startHttpServer((_req, res) => reply(res, up ? 200 : 503, "down"));
    const hook = await addWebhook(store, secrets, "hook", server.origin);
    const [alertId] = await createAlerts(store, source, 1);
    assert.ok(alertId);
    const w = worker({ baseDelayMs: 60_000 });
    const start = clock.t;
    while (clock.t <= start + 25 * 3_600_000) {
      await w.runOnce();
      clock.t += 10 * 60_000;
    }
    const [dead] = await store.listDeliveries(alertId);
    assert.equal(dead?.status, "failed");
    assert.match(dead?.lastError ?? "", /HTTP 503.*gave up after retrying for 24 h, \d+ attempts/);
    assert.equal((await store.getDestination(hook.id))?.failing?.dead, true);

    up = true;
    // The alert's delivery, and the system alert's (routed to every destination, this one included).
    assert.equal(await store.retryDeadDeliveries({ destinationId: hook.id }, clock.t), 2);
    await w.drain();
    const [sent] = await store.listDeliveries(alertId);
    assert.equal(sent?.status, "sent");
    assert.equal(sent?.retryFromMs, clock.t);
    assert.equal((await store.listDeliveriesByStatus("failed")).length, 0);
    const [system] = await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID });
    assert.equal(system?.status, "RESOLVED");
  });

  it("raises one DeliveryFailed for a receiver that rejects one notification and takes the rest, until it is through", async () => {
    let choking = true;
    // The receiver cannot parse one alert's payload (500) and takes every other one (the system alert's too).
    server = await startHttpServer((req, res) => reply(res, choking && req.body.includes("POISON") ? 500 : 200));
    const hook = await addWebhook(store, secrets, "hook", server.origin);
    const [poisoned] = await createAlerts(store, source, 1, { title: "POISON" });
    assert.ok(poisoned);
    const w = worker({ baseDelayMs: 5_000 });
    const start = clock.t;
    while (clock.t < start + 2 * 3_600_000) {
      await w.runOnce();
      if (clock.t % (10 * 60_000) === start % (10 * 60_000)) await createAlerts(store, source, 1);
      clock.t += 30_000;
    }
    const [system, ...more] = await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID, limit: 100 });
    assert.deepEqual(more, [], "one alert for the episode, not one per retry of the rejected notification");
    assert.equal(system?.status, "OPEN", "the others arriving does not mean this one does");
    assert.equal(
      (await store.getDestination(hook.id))?.failing?.deliveryId,
      (await store.listDeliveries(poisoned))[0]?.id,
    );
    assert.ok((await store.listDeliveriesByStatus("sent", 100)).length >= 12);

    choking = false;
    clock.t += 10 * 60_000;
    await w.drain();
    assert.equal((await store.listDeliveries(poisoned))[0]?.status, "sent");
    assert.equal((await store.getAlert(system?.id ?? ""))?.status, "RESOLVED");
  });

  it("gives up a delivery whose sender died during each of its last sends, without sending it again", async () => {
    server = await startHttpServer((_req, res) => reply(res, 200, "ok"));
    await addWebhook(store, secrets, "hook", server.origin);
    const [alertId] = await createAlerts(store, source, 1);
    assert.ok(alertId);
    await worker().route();
    // Claims whose sender never recorded an outcome (killed mid-send each time): each lease lapses.
    // Leases run on the database's clock: short ones, each waited out.
    for (let i = 0; i < MAX_UNRECORDED_CLAIMS; i++) {
      assert.equal((await store.claimDeliveries({ nowMs: clock.t, leaseMs: 20, limit: 1 })).length, 1);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    assert.deepEqual(await worker().runOnce(), { routed: 0, sent: 0, retried: 0, failed: 1 });
    const [dead] = await store.listDeliveries(alertId);
    assert.equal(dead?.status, "failed");
    assert.match(dead?.lastError ?? "", /the worker stopped during each of the last 20 sends/);
    assert.equal(server.requests.length, 0);
  });

  it("announces a notification given up even when the next one to that destination succeeds at once", async () => {
    // The receiver rejects one notification for good (400) and takes the others.
    server = await startHttpServer((req, res) => reply(res, req.body.includes("POISON") ? 400 : 200, "ok"));
    const hook = await addWebhook(store, secrets, "hook", server.origin);
    const [poisoned] = await createAlerts(store, source, 1, { title: "POISON" });
    await createAlerts(store, source, 1);
    assert.deepEqual(await worker().runOnce(), { routed: 2, sent: 1, retried: 0, failed: 1 });
    assert.equal((await store.listDeliveries(poisoned ?? ""))[0]?.status, "failed");
    // Raised (the give-up is news), and resolved at once: the destination takes notifications.
    const [system, ...more] = await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID });
    assert.deepEqual(more, []);
    assert.equal(system?.alertContext?.given_up, true);
    assert.equal(system?.status, "RESOLVED");
    assert.equal((await store.getDestination(hook.id))?.failing, null);
    assert.deepEqual(
      (await store.listAlertStatusChanges(system?.id ?? "")).map((c) => c.to),
      ["OPEN", "RESOLVED"],
    );
  });

  it("records a send cut short by its own stop as a retry due at once, without touching the destination's health", async () => {
    let hang = true;
    server = await startHttpServer((_req, res) => {
      if (!hang) reply(res, 200, "ok");
    });
    const hook = await addWebhook(store, secrets, "hook", server.origin, { timeoutSecs: 30 });
    const [alertId] = await createAlerts(store, source, 1);
    const controller = new AbortController();
    const running = worker({ sendTimeoutMs: 30_000 }).run(controller.signal, 20);
    while (server.requests.length < 1) await sleep(10);
    controller.abort();
    await running;
    const [stopped] = await store.listDeliveries(alertId ?? "");
    assert.equal(stopped?.status, "pending");
    assert.equal(stopped?.nextAttemptAtMs, clock.t);
    assert.match(stopped?.lastError ?? "", /Vigil stopped before the destination answered/);
    assert.equal((await store.getDestination(hook.id))?.failing, null, "the stop is not the destination's failure");
    // Restarted an hour later, it is sent at once.
    hang = false;
    clock.t += 3_600_000;
    assert.deepEqual(await worker().runOnce(), { routed: 0, sent: 1, retried: 0, failed: 0 });
  });

  it("raises DeliveryFailed from what is stored: after a kill that followed the give-up, and once for two workers", async () => {
    server = await startHttpServer((_req, res) => reply(res, 404));
    const hook = await addWebhook(store, secrets, "hook", server.origin);
    await createAlerts(store, source, 2);
    await worker().route();
    // A worker gives both deliveries up and is killed before it derives anything: only the attempts are stored.
    for (const d of await store.claimDeliveries({ nowMs: clock.t, leaseMs: 60_000, limit: 10 })) {
      await store.recordDeliveryAttempt({
        deliveryId: d.id,
        leaseToken: d.leaseToken,
        atMs: clock.t,
        outcome: "failed",
        statusCode: 404,
        error: "HTTP 404",
        durationMs: 1,
      });
    }
    assert.deepEqual(await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID }), []);
    // Two workers (two connections to the database) start and derive at the same time.
    const other = await openSqliteStore({ path: join(dir, "vigil.db"), clock });
    try {
      await Promise.all([worker().runOnce(), worker({}, other).runOnce()]);
    } finally {
      await other.close();
    }
    const [system, ...more] = await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID });
    assert.ok(system);
    assert.deepEqual(more, []);
    assert.equal(system.alertContext?.destination_id, hook.id);
    assert.equal(system.alertContext?.given_up, true);
    assert.equal(system.matchCount, 1);
  });

  it("keeps sending to the others while a destination hangs: it holds only its share of the sends", async () => {
    // The hanging receiver takes every request and answers none (until the test ends).
    server = await startHttpServer(() => undefined);
    const received: string[] = [];
    const healthy = await startHttpServer((req, res) => {
      received.push(String(req.headers["x-vigil-delivery-id"]));
      reply(res, 200, "ok");
    });
    const controller = new AbortController();
    let running: Promise<void> | undefined;
    try {
      await addWebhook(store, secrets, "hangs", server.origin, { timeoutSecs: 30 });
      await addWebhook(store, secrets, "up", healthy.origin);
      await createAlerts(store, source, 12);
      running = worker({ sendTimeoutMs: 30_000 }).run(controller.signal, 20);
      const started = Date.now();
      const sent = async () => (await store.listDeliveriesByStatus("sent")).length;
      while ((await sent()) < 12 && Date.now() - started < 5_000) await sleep(20);
      // A pass that waited for its whole batch held these behind the hanging sends for the send timeout.
      assert.equal(received.length, 12, `reached the healthy destination: ${received.length} of 12`);
      assert.equal(await sent(), 12);
      assert.ok(server.requests.length >= 1 && server.requests.length <= 5, `hanging: ${server.requests.length}`);
    } finally {
      controller.abort();
      await running;
      await healthy.close();
    }
    // Stopped mid-send: the hanging sends were recorded as retries, nothing was lost.
    const pending = await store.listDeliveriesByStatus("pending");
    assert.equal(pending.length, 12);
    assert.ok(pending.every((d) => d.destinationName === "hangs" && d.leaseUntilMs === null));
  });

  it("a destination that is down never blocks ingestion or deliveries to the others", async () => {
    server = await startHttpServer((_req, res) => reply(res, 500, "down"));
    const received: string[] = [];
    const healthy = await startHttpServer((req, res) => {
      received.push(String(req.headers["x-vigil-delivery-id"]));
      reply(res, 200, "ok");
    });
    try {
      await addWebhook(store, secrets, "down", server.origin);
      await addWebhook(store, secrets, "up", healthy.origin);
      const w = worker({ maxAttempts: 2 });
      const alertIds: string[] = [];
      for (let round = 0; round < 4; round++) {
        // Ingestion goes on while the down destination fails.
        alertIds.push(...(await createAlerts(store, source, 3)));
        await w.drain();
        clock.t += 10 * 60_000;
      }
      for (let i = 0; i < 5; i++) {
        await w.drain();
        clock.t += 10 * 60_000;
      }
      for (const id of alertIds) {
        const deliveries = await store.listDeliveries(id);
        assert.equal(deliveries.find((d) => d.destinationName === "up")?.status, "sent", id);
        assert.equal(deliveries.find((d) => d.destinationName === "down")?.status, "failed", id);
      }
      // Every alert reached the healthy destination, the system alert too (once each).
      const [system, ...more] = await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID });
      assert.ok(system);
      assert.equal(more.length, 0);
      const systemDeliveries = await store.listDeliveries(system.id);
      assert.equal(systemDeliveries.find((d) => d.destinationName === "up")?.status, "sent");
      assert.equal(new Set(received).size, alertIds.length + 1);
    } finally {
      await healthy.close();
    }
  });
});
