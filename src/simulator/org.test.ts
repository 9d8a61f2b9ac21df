import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuditLogActor, RawAuditLog } from "../core/audit-log.ts";
import { CLASSIC_EVENT_TYPES, isKnownEventType, isTenantScoped, TENANT_EVENT_TYPES } from "../core/event-types.ts";
import { UNKNOWN_EVENT_TYPES } from "./anomalies.ts";
import { createSimulatedOrg } from "./org.ts";
import { SCENARIO_LIST, SCENARIO_NAMES } from "./scenarios.ts";
import { ManualClock } from "./test-support.ts";

const END = 1_800_000_000; // a fixed "now" so the tests do not depend on the date
const NO_PAYLOAD = new Set([
  "login.succeeded",
  "logout.succeeded",
  "resource.deleted",
  "tunnel.created",
  "tunnel.updated",
  "tunnel.deleted",
]);

/** The payload of the first event of `type` (failing the test when there is none). */
function payloadOf(events: RawAuditLog[], type: string): Record<string, unknown> {
  const event = events.find((e) => e.type === type);
  assert.ok(event, `an event of type ${type}`);
  return event[type] as Record<string, unknown>;
}

function sessionOf(e: RawAuditLog) {
  return (e.actor as AuditLogActor | null | undefined)?.session;
}

describe("simulated org: background history", () => {
  // "realistic": the profile in which every known type turns up (the default, benign, leaves risky ones out).
  const big = createSimulatedOrg({
    seed: 5,
    profile: "realistic",
    clock: new ManualClock(END),
    history: { days: 10, eventsPerDay: 2000, endSecs: END },
  });
  const all = big.allEvents();

  it("holds exactly days × eventsPerDay events inside the window, newest first", () => {
    assert.equal(all.length, 20_000);
    for (const e of all) assert.ok(e.effective_at >= END - 10 * 86400 && e.effective_at < END, `${e.effective_at}`);
    for (let i = 1; i < all.length; i++) {
      const a = all[i - 1] as RawAuditLog;
      const b = all[i] as RawAuditLog;
      assert.ok(a.effective_at > b.effective_at || (a.effective_at === b.effective_at && a.id > b.id), "newest first");
    }
  });

  it("covers every classic and tenant type, logins dominating and admin changes rare", () => {
    const counts = new Map<string, number>();
    for (const e of all) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
    for (const type of [...CLASSIC_EVENT_TYPES, ...TENANT_EVENT_TYPES]) assert.ok(counts.has(type), `missing ${type}`);
    assert.ok((counts.get("login.succeeded") ?? 0) > all.length * 0.4);
    assert.ok((counts.get("scim.disabled") ?? 0) < all.length * 0.005);
    const tenant = all.filter((e) => isTenantScoped(e.type)).length / all.length;
    assert.ok(tenant > 0.035 && tenant < 0.065, `tenant share ${tenant}`);
  });

  it("shapes records like the live API", () => {
    const emails = new Set(big.directory.users.map((u) => u.email));
    for (const e of all) {
      assert.equal(e.object, "organization.audit_log");
      assert.match(e.id, /^audit_log-[A-Za-z0-9]{24}$/);
      assert.ok(isKnownEventType(e.type));
      const payloadKeys = Object.keys(e).filter(
        (k) => !["object", "id", "type", "effective_at", "project", "actor"].includes(k),
      );
      if (NO_PAYLOAD.has(e.type) || e.type.startsWith("tenant.")) assert.deepEqual(payloadKeys, [], e.type);
      else assert.deepEqual(payloadKeys, [e.type], e.type);
      const session = sessionOf(e);
      if (session) {
        assert.ok(emails.has(session.user?.email ?? ""), "sessions belong to org users");
        assert.match(session.user?.id ?? "", /^user-[A-Za-z0-9]{24}$/);
        if (session.ip_address_details) {
          for (const value of Object.values(session.ip_address_details)) assert.equal(typeof value, "string");
          assert.match(session.ja3 ?? "", /^[0-9a-f]{32}$/);
        }
      } else {
        const key = e.actor?.api_key;
        assert.ok(key?.id?.startsWith("key_"), "the actor is a session or an API key");
        if (key?.type === "user") assert.ok(emails.has(key.user?.email ?? ""));
      }
    }
    assert.ok(Array.isArray((payloadOf(all, "api_key.created").data as { scopes: unknown }).scopes));
    assert.ok(
      all.some((e) => e.project?.name === "Default project"),
      "admin-key actions land in the Default project",
    );
  });

  it("has benign failed logins: a real user's mistype followed by success, never five in a row", () => {
    const failed = all.filter((e) => e.type === "login.failed");
    assert.ok(failed.length > 100);
    const oldestFirst = [...all].reverse();
    const first = failed[failed.length - 1] as RawAuditLog;
    const email = sessionOf(first)?.user?.email;
    const next = oldestFirst.find(
      (e) =>
        e.effective_at >= first.effective_at && e.type === "login.succeeded" && sessionOf(e)?.user?.email === email,
    );
    assert.ok(next && next.effective_at - first.effective_at <= 120, "success follows the mistype");
  });

  it("is deterministic: the same seed gives the same events, another seed different ones", () => {
    const options = { clock: new ManualClock(END), history: { days: 1, eventsPerDay: 500, endSecs: END } };
    const a = createSimulatedOrg({ seed: 42, ...options }).allEvents();
    const b = createSimulatedOrg({ seed: 42, ...options }).allEvents();
    const c = createSimulatedOrg({ seed: 43, ...options }).allEvents();
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((e) => e.id),
      c.map((e) => e.id),
    );
  });
});

describe("simulated org: live activity, bursts, added and late events", () => {
  it("generates live activity lazily as the clock moves, the same whenever it is asked for", () => {
    const clock = new ManualClock(END);
    const org = createSimulatedOrg({ seed: 8, clock, live: { eventsPerMinute: 6 } });
    assert.equal(org.visibleEvents(END).length, 0);
    clock.advanceSecs(600);
    const afterTen = org.visibleEvents(clock.secs);
    assert.ok(afterTen.length > 20 && afterTen.length < 110, `${afterTen.length} events in ten minutes`);
    assert.ok(afterTen.every((e) => e.effective_at >= END && e.effective_at <= END + 600));

    // Asked minute by minute instead of all at once: the same events.
    const stepClock = new ManualClock(END);
    const stepped = createSimulatedOrg({ seed: 8, clock: stepClock, live: { eventsPerMinute: 6 } });
    for (let t = END; t <= END + 600; t += 37) stepped.visibleEvents(t);
    assert.deepEqual(stepped.visibleEvents(END + 600), afterTen);
  });

  it("puts a burst of more than 100 events in one second", () => {
    const org = createSimulatedOrg({
      seed: 9,
      clock: new ManualClock(END),
      bursts: [{ atSecs: END - 100, count: 250 }],
    });
    const events = org.allEvents();
    assert.equal(events.length, 250);
    assert.ok(events.every((e) => e.effective_at === END - 100));
    assert.equal(new Set(events.map((e) => e.id)).size, 250);
  });

  it("keeps added events invisible until their visible time", () => {
    const org = createSimulatedOrg({ seed: 10, clock: new ManualClock(END) });
    const late: RawAuditLog = {
      object: "organization.audit_log",
      id: "audit_log-late000000000000000000001",
      type: "login.succeeded",
      effective_at: END - 50,
    };
    org.addEvents([late], { visibleAtSecs: END + 30 });
    assert.equal(org.allEvents().length, 1);
    assert.equal(org.visibleEvents(END).length, 0);
    assert.equal(org.visibleEvents(END + 29).length, 0);
    assert.deepEqual(org.visibleEvents(END + 30), [late]);
  });

  it("late-event faults delay visibility by lateDelaySecs", () => {
    const org = createSimulatedOrg({
      seed: 11,
      clock: new ManualClock(END),
      history: { days: 1, eventsPerDay: 400, endSecs: END },
      faults: { lateEventProbability: 0.2, lateDelaySecs: 3600 },
    });
    const all = org.allEvents();
    const now = org.visibleEvents(END);
    const hidden = all.filter((e) => !now.includes(e));
    assert.ok(hidden.length > 0, "some recent events are late");
    for (const e of hidden)
      assert.ok(e.effective_at > END - 3600, "only events of the last lateDelaySecs can still be hidden");
    assert.equal(org.visibleEvents(END + 3600).length, all.length);
  });

  it("unknown-type and malformed-record faults change only the faulted records", () => {
    const base = { seed: 12, clock: new ManualClock(END), history: { days: 1, eventsPerDay: 1000, endSecs: END } };
    const clean = createSimulatedOrg(base).allEvents();
    const faulty = createSimulatedOrg({
      ...base,
      faults: { unknownTypeProbability: 0.05, malformedRecordProbability: 0.05 },
    });
    const events = faulty.allEvents();
    assert.equal(events.length, clean.length);
    const unknown = events.filter((e) => typeof e.type === "string" && UNKNOWN_EVENT_TYPES.includes(e.type));
    assert.ok(unknown.length > 10, `${unknown.length} unknown types`);
    for (const e of unknown) assert.ok(e[e.type] !== undefined, "the payload sits under the new type's key");
    const broken = events.filter(
      (e) =>
        typeof e.id !== "string" ||
        typeof e.type !== "string" ||
        typeof e.effective_at !== "number" ||
        (e.actor !== undefined && e.actor !== null && typeof e.actor !== "object"),
    );
    assert.ok(broken.length > 10, `${broken.length} malformed`);
    const cleanIds = new Set(clean.map((e) => e.id));
    const untouched = events.filter((e) => !unknown.includes(e) && !broken.includes(e));
    assert.ok(
      untouched.every((e) => cleanIds.has(e.id)),
      "the other records are exactly the clean run's",
    );
    assert.equal(faulty.dataFaultCounts.malformedRecord, broken.length);
  });
});

describe("simulated org: scenarios", () => {
  const clock = new ManualClock(END);
  const org = createSimulatedOrg({ seed: 13, clock });
  const run = (name: (typeof SCENARIO_NAMES)[number]) => org.runScenario(name, END - 3600);

  it("lists every scenario with a description, at least one per detection area asked for", () => {
    assert.ok(SCENARIO_LIST.length >= 25);
    for (const s of SCENARIO_LIST) assert.ok(s.description.length > 10 && s.detection.length > 0, s.name);
    for (const name of [
      "credential-stuffing",
      "brute-force-then-success",
      "password-spray",
      "owner-role-granted",
      "api-key-all-scopes",
      "scim-disabled",
      "ip-allowlist-deleted",
      "service-account-owner",
      "admin-api-key-created",
      "sso-connection-deleted",
      "api-call-logging-disabled",
      "project-deleted",
      "key-creation-burst",
      "login-new-country",
    ]) {
      assert.ok((SCENARIO_NAMES as string[]).includes(name), name);
    }
  });

  it("every scenario adds its events, within twenty minutes, and they are returned newest first", () => {
    for (const name of SCENARIO_NAMES) {
      const before = org.allEvents().length;
      const events = run(name);
      assert.ok(events.length > 0, name);
      assert.equal(org.allEvents().length, before + events.length, name);
      const times = events.map((e) => e.effective_at);
      assert.ok(Math.max(...times) - Math.min(...times) <= 1200, name);
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        name,
      );
      if (name !== "off-hours-admin") assert.ok(Math.min(...times) >= END - 3600, name);
    }
  });

  it("credential stuffing: one email, at least five distinct IPs failing within 30 minutes", () => {
    const events = run("credential-stuffing");
    assert.ok(events.every((e) => e.type === "login.failed"));
    assert.equal(new Set(events.map((e) => sessionOf(e)?.user?.email)).size, 1);
    assert.ok(new Set(events.map((e) => sessionOf(e)?.ip_address)).size >= 5);
  });

  it("brute force: at least five failures, then a success for the same email", () => {
    const events = run("brute-force-then-success").reverse();
    const last = events[events.length - 1] as RawAuditLog;
    assert.equal(last.type, "login.succeeded");
    assert.ok(events.slice(0, -1).filter((e) => e.type === "login.failed").length >= 5);
    assert.equal(new Set(events.map((e) => sessionOf(e)?.user?.email)).size, 1);
  });

  it("password spray: one IP against many emails", () => {
    const events = run("password-spray");
    assert.equal(new Set(events.map((e) => sessionOf(e)?.ip_address)).size, 1);
    assert.ok(new Set(events.map((e) => sessionOf(e)?.user?.email)).size >= 10);
  });

  it("login from a new country: a known user, a country they never logged in from", () => {
    const [event] = run("login-new-country");
    const user = org.directory.users.find((u) => u.email === sessionOf(event as RawAuditLog)?.user?.email);
    assert.ok(user);
    assert.notEqual(sessionOf(event as RawAuditLog)?.ip_address_details?.country, user.home.details.country);
  });

  it("privilege changes carry the fields detections read", () => {
    const owner = run("owner-role-granted");
    assert.deepEqual(payloadOf(owner, "user.updated").changes_requested, { role: "owner" });
    const assignment = payloadOf(owner, "role.assignment.created");
    assert.match(String(assignment.id), /owner/);
    assert.equal(assignment.resource_type, "api.organization");

    const keys = run("api-key-all-scopes");
    assert.deepEqual(payloadOf(keys, "api_key.created").data, { scopes: ["api.all"] });
    assert.deepEqual(payloadOf(keys, "api_key.updated").changes_requested, { scopes: ["api.all"] });

    assert.deepEqual(payloadOf(run("service-account-owner"), "service_account.created").data, { role: "owner" });
    assert.deepEqual(payloadOf(run("api-call-logging-disabled"), "organization.updated").changes_requested, {
      api_call_logging: "disabled",
    });
    assert.deepEqual(
      run("scim-disabled")
        .map((e) => e.type)
        .sort(),
      ["scim.disabled", "tenant.scim.deletion.requested"],
    );
    assert.ok(run("ip-allowlist-deleted").some((e) => e.type === "ip_allowlist.deleted"));
    assert.ok(run("project-deleted").some((e) => e.type === "project.deleted"));
    assert.deepEqual(
      run("admin-api-key-created").map((e) => e.type),
      ["tenant.admin_api_key.created"],
    );
    assert.ok(run("sso-connection-deleted").some((e) => e.type === "tenant.sso_connection.deleted"));
    assert.ok(run("key-creation-burst").filter((e) => e.type === "api_key.created").length >= 10);
    const minted = run("key-minted-by-key");
    assert.ok(minted.every((e) => e.actor?.type === "api_key" && e.actor.api_key?.type === "service_account"));
  });

  it("off-hours admin activity happens at night UTC", () => {
    for (const e of run("off-hours-admin")) {
      const hour = new Date(e.effective_at * 1000).getUTCHours();
      assert.equal(hour, 3);
      assert.ok(e.effective_at < END - 3600);
    }
  });

  it("runs the same scenario twice as two distinct sets of events", () => {
    const a = org.runScenario("tunnel-created", END - 10);
    const b = org.runScenario("tunnel-created", END - 10);
    assert.notEqual(a[0]?.id, b[0]?.id);
  });
});
