// Inventory snapshots end to end against the simulator: full paging under faults, a 403 on one endpoint, the
// simulator's state following its audit log, the posture rules raising one alert per standing finding, drift,
// and the audit-log polling going on when the key lacks the management scope.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { sourceSettings } from "../../test/helpers.ts";
import { readEnv } from "../config/env.ts";
import type { SourceRecord } from "../core/source.ts";
import { createDetectionEngine, type DetectionEngine } from "../detections/engine/engine.ts";
import { loadRules } from "../detections/engine/load.ts";
import { createLogger } from "../logging/logger.ts";
import { runPosture } from "../pipeline/posture.ts";
import { openRuntime, pollAllOnce, sealSourceKey } from "../pipeline/runtime.ts";
import { Rng } from "../simulator/prng.ts";
import { makeRecord } from "../simulator/records.ts";
import { startSimulator } from "../simulator/server.ts";
import { ManualClock } from "../simulator/test-support.ts";
import type { RunningSimulator } from "../simulator/types.ts";
import type { Store } from "../storage/ports.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { AdminListClient } from "./admin-client.ts";
import { runPostureCycle } from "./run.ts";
import { DEFAULT_POSTURE_SETTINGS, postureSettingsFromEnv } from "./settings.ts";
import { takeSnapshot } from "./snapshot.ts";

const START = 1_780_000_000;
const PACK = fileURLToPath(new URL("../../packs/openai-posture/", import.meta.url));

let engine: DetectionEngine;
before(async () => {
  engine = createDetectionEngine({ rules: await loadRules({ packs: [PACK] }) });
});

function adminClient(sim: RunningSimulator, pageLimit = 100): AdminListClient {
  return new AdminListClient({
    baseUrl: sim.baseUrl,
    apiKey: sim.adminKey,
    pageLimit,
    initialDelayMs: 1,
    maxDelayMs: 5,
  });
}

async function setup(options: Parameters<typeof startSimulator>[0] = {}) {
  const clock = new ManualClock(START);
  const sim = await startSimulator({ seed: 7, clock, ...options });
  const store = await openSqliteStore({ memory: true });
  const source = await store.createSource(sourceSettings({ baseUrl: sim.baseUrl }), { ciphertext: "unused" });
  const cycle = (client = adminClient(sim)) =>
    runPostureCycle({ store, client, source, engine, settings: DEFAULT_POSTURE_SETTINGS, nowMs: () => clock.nowMs() });
  return { clock, sim, store, source, cycle, close: async () => Promise.all([sim.close(), store.close()]) };
}

/** The newest snapshot added project key `keyId`, explained by audit event `eventId`, and no drift was found. */
async function assertAddedExplained(
  store: Store,
  source: SourceRecord,
  report: { findings: Array<{ ruleId: string }> },
  keyId: string,
  eventId: string,
) {
  const added = (await store.getPostureSnapshot(source.id))?.changes?.find((c) => c.id === keyId);
  assert.equal(added?.change, "added");
  assert.equal(added?.kind, "project_api_key");
  assert.deepEqual((added as { audit?: { eventIds: string[] } }).audit?.eventIds, [eventId]);
  assert.equal(report.findings.filter((f) => f.ruleId === "OpenAI.Posture.Drift").length, 0);
}

/** Marks the audit log as read up to now, as the poller's checkpoint would after a complete poll. */
async function auditReadUpTo(
  store: Store,
  source: SourceRecord,
  secs: number,
  events: ReturnType<typeof makeRecord>[] = [],
) {
  await store.applyPage({
    sourceId: source.id,
    events: events.map((e) => ({
      id: e.id,
      type: e.type,
      effectiveAtSecs: e.effective_at,
      actorType: null,
      actorId: null,
      actorEmail: null,
      ip: null,
      projectId: null,
      raw: JSON.stringify(e),
      normalized: null,
    })),
    quarantined: [],
    unknownTypes: [],
    streamUpdate: { stream: "main", checkpointSecs: secs },
  });
}

describe("inventory snapshots against the simulator", () => {
  it("reads every object of every endpoint, paging with small pages through 429s and 5xx", async () => {
    const t = await setup();
    try {
      const inventory = t.sim.org.inventory(START);
      let expectedKeys = 0;
      for (const keys of inventory.projectKeys.values()) expectedKeys += keys.size;
      const clean = await takeSnapshot({ client: adminClient(t.sim, 3), nowMs: () => t.clock.nowMs() });
      assert.ok(
        clean.endpoints.every((e) => e.ok),
        JSON.stringify(clean.endpoints.filter((e) => !e.ok)),
      );
      const count = (kind: string) => clean.objects.filter((o) => o.kind === kind).length;
      assert.equal(count("user"), inventory.users.size);
      assert.equal(count("project"), inventory.projects.size);
      assert.equal(count("project_api_key"), expectedKeys);
      assert.equal(count("admin_api_key"), inventory.adminKeys.size);
      // Controls: one retention and one tool-permissions object per active project, the organization's retention,
      // its spend alerts, and a model policy only where one is configured (the others answer 404: none).
      assert.equal(count("data_retention"), 1);
      assert.equal(count("spend_alert"), inventory.spendAlerts.size);
      assert.equal(count("project_data_retention"), inventory.projects.size);
      assert.equal(count("project_hosted_tool_permissions"), inventory.projects.size);
      assert.equal(count("project_model_permissions"), inventory.modelPermissions.size);
      assert.ok(inventory.modelPermissions.size < inventory.projects.size, "some projects have no model policy");
      const retention = clean.objects.find(
        (o) => o.kind === "project_data_retention" && o.id === t.sim.org.directory.projects[0]?.id,
      );
      assert.equal(JSON.parse(retention?.json ?? "{}").type, "zero_data_retention");

      t.sim.setFaults({ rateLimitProbability: 0.15, serverErrorProbability: 0.15, retryAfter: 0 });
      const faulty = await takeSnapshot({ client: adminClient(t.sim, 3), nowMs: () => t.clock.nowMs() });
      const injected = t.sim.stats().faultsInjected;
      assert.ok((injected.rateLimit ?? 0) + (injected.serverError ?? 0) > 0, "faults were injected");
      assert.ok(faulty.requests > clean.requests, "retries cost requests");
      assert.deepEqual(
        faulty.objects.map((o) => `${o.kind}:${o.id}:${o.hash}`).sort(),
        clean.objects.map((o) => `${o.kind}:${o.id}:${o.hash}`).sort(),
      );
    } finally {
      await t.close();
    }
  });

  it("a 403 on one endpoint names the scope; the other endpoints still snapshot and the diff skips that kind", async () => {
    const t = await setup({ postureScenarios: [{ name: "outside-invite", atSecs: START - 600 }] });
    try {
      const first = await t.cycle();
      assert.equal(first.failedEndpoints.length, 0);
      assert.ok(first.findings.some((f) => f.ruleId === "OpenAI.Posture.PendingInviteOutsideDomain"));

      t.sim.setDeniedPaths(["/organization/invites", "/service_accounts", "/hosted_tool_permissions"]);
      t.clock.advanceSecs(3600);
      const second = await t.cycle();
      assert.deepEqual(second.failedEndpoints.map((e) => e.path).sort(), [
        "/organization/invites",
        "/organization/projects/{project_id}/hosted_tool_permissions",
        "/organization/projects/{project_id}/service_accounts",
      ]);
      for (const e of second.failedEndpoints) {
        assert.equal(e.missingScope, "api.management.read");
        assert.match(e.error ?? "", /lacks the api\.management\.read scope/);
      }
      assert.ok(second.objects > 0);
      // Invites unreadable: not "removed", and the standing invite finding is not resolved.
      const latest = await t.store.getPostureSnapshot(t.source.id);
      assert.equal(
        latest?.changes?.filter((c) =>
          ["invite", "project_service_account", "project_hosted_tool_permissions"].includes(c.kind),
        ).length,
        0,
      );
      // The other controls were read.
      assert.ok(latest?.manifest.some((m) => m.kind === "project_data_retention"));
      assert.deepEqual(second.resolvedAlertIds, []);

      // Readable again: the same finding, standing since the first snapshot, and no second alert for it.
      const inviteFinding = (r: typeof first) =>
        r.findings.find((f) => f.ruleId === "OpenAI.Posture.PendingInviteOutsideDomain");
      assert.equal(inviteFinding(second)?.sinceMs, inviteFinding(first)?.sinceMs, "kept while unread");
      t.sim.setDeniedPaths([]);
      t.clock.advanceSecs(3600);
      const third = await t.cycle();
      assert.equal(inviteFinding(third)?.sinceMs, inviteFinding(first)?.sinceMs);
      assert.deepEqual(third.createdAlertIds, []);
    } finally {
      await t.close();
    }
  });

  it("a finding whose facts read an unreadable kind (a key's owner, the project's users) stays open, not resolved", async () => {
    const t = await setup({ postureScenarios: [{ name: "key-owner-left-project", atSecs: START - 600 }] });
    const RULE = "OpenAI.Posture.KeyOwnerLostProjectAccess";
    try {
      const first = await t.cycle();
      const finding = (r: typeof first) => r.findings.find((f) => f.ruleId === RULE);
      assert.ok(finding(first));
      // The project's members unreadable: whether the owner is one is unknown, which is not "cleared".
      t.sim.setDeniedPaths(["/users"]);
      t.clock.advanceSecs(3600);
      const second = await t.cycle();
      assert.deepEqual(second.resolvedAlertIds, []);
      assert.equal(finding(second)?.sinceMs, finding(first)?.sinceMs);
      t.sim.setDeniedPaths([]);
      t.clock.advanceSecs(3600);
      const third = await t.cycle();
      assert.equal(finding(third)?.sinceMs, finding(first)?.sinceMs);
      assert.deepEqual([third.createdAlertIds, third.resolvedAlertIds], [[], []]);
      const alerts = await t.store.listAlerts({ sourceId: t.source.id, ruleId: RULE });
      assert.deepEqual(
        alerts.map((a) => a.status),
        first.findings.filter((f) => f.ruleId === RULE).map(() => "OPEN"),
      );
    } finally {
      await t.close();
    }
  });

  it("follows the audit log: a key created in it appears in the next snapshot, explained, not drift", async () => {
    const t = await setup();
    try {
      await t.cycle();
      const member = t.sim.org.directory.members[0];
      assert.ok(member);
      const project = t.sim.org.directory.projects.find((p) => p.id === member.projectIds[0]);
      const created = makeRecord(new Rng(1, "t"), {
        type: "api_key.created",
        at: START + 100,
        actor: {
          type: "session",
          session: { user: { id: member.id, email: member.email }, ip_address: "203.0.113.9" },
        },
        project,
        payload: { id: "key_fromauditlog000", data: { scopes: ["api.model.request"] } },
      });
      t.sim.org.addEvents([created]);
      t.clock.advanceSecs(3600);
      await auditReadUpTo(t.store, t.source, t.clock.secs, [created]);
      const report = await t.cycle();
      await assertAddedExplained(t.store, t.source, report, "key_fromauditlog000", created.id);
    } finally {
      await t.close();
    }
  });

  it("a key created while a long snapshot reads is explained by its event, not called drift", async () => {
    const t = await setup();
    try {
      await t.cycle();
      t.clock.advanceSecs(3600);
      const startSecs = t.clock.secs;
      const member = t.sim.org.directory.members[0];
      assert.ok(member);
      const project = t.sim.org.directory.projects.find((p) => p.id === member.projectIds[0]);
      // Four minutes into the reading, before the projects' keys are listed.
      const created = makeRecord(new Rng(4, "t"), {
        type: "api_key.created",
        at: startSecs + 240,
        actor: { type: "session", session: { user: { id: member.id, email: member.email } } },
        project,
        payload: { id: "key_duringsnapshot0", data: { scopes: ["api.model.request"] } },
      });
      t.sim.org.addEvents([created]);
      // A large organization: the organization's lists take five minutes before the first project's keys.
      let slow = true;
      const fetchSlowly: typeof fetch = (input, init) => {
        if (slow && String(input).includes("/api_keys")) {
          slow = false;
          t.clock.advanceSecs(300);
        }
        return fetch(input, init);
      };
      const client = new AdminListClient({ baseUrl: t.sim.baseUrl, apiKey: t.sim.adminKey, fetch: fetchSlowly });
      // The poller has stored the event and read on past it.
      await auditReadUpTo(t.store, t.source, startSecs + 310, [created]);
      const report = await t.cycle(client);
      await assertAddedExplained(t.store, t.source, report, "key_duringsnapshot0", created.id);
    } finally {
      await t.close();
    }
  });

  it("a project archived while the snapshot reads it is left out whole, not read as failing or unconfigured", async () => {
    const t = await setup();
    try {
      await t.cycle();
      /** The per-project objects of the newest snapshot, but those of `project`, as kind/id. */
      const othersOf = async (project: string) =>
        ((await t.store.getPostureSnapshot(t.source.id))?.manifest ?? [])
          .filter((m) => m.projectId !== null && m.projectId !== project)
          .map((m) => `${m.kind}/${m.id}`)
          .sort();
      t.clock.advanceSecs(3600);
      const active = [...t.sim.org.inventory(t.clock.secs).projects.values()].find((p) => p.status === "active");
      assert.ok(active);
      const project = { id: String(active.id), name: String(active.name) };
      const others = await othersOf(project.id);
      assert.ok(others.length > 0);
      const prefix = `/organization/projects/${project.id}/`;
      let archived = false;
      // Archived when its first endpoint is asked for: from then on every endpoint of it answers 404.
      const fetchArchiving: typeof fetch = (input, init) => {
        if (String(input).includes(prefix)) {
          if (!archived) {
            archived = true;
            t.sim.org.addEvents([
              makeRecord(new Rng(5, "t"), {
                type: "project.archived",
                at: t.clock.secs,
                actor: { type: "session", session: { user: { id: "user-o", email: "o@acme-robotics.com" } } },
                project,
                payload: { id: project.id },
              }),
            ]);
          }
          return Promise.resolve(Response.json({ error: { message: "Project not found" } }, { status: 404 }));
        }
        return fetch(input, init);
      };
      const client = new AdminListClient({ baseUrl: t.sim.baseUrl, apiKey: t.sim.adminKey, fetch: fetchArchiving });
      const report = await t.cycle(client);
      assert.ok(archived);
      assert.deepEqual(
        report.failedEndpoints.map((e) => e.path),
        [],
      );
      const snapshot = await t.store.getPostureSnapshot(t.source.id);
      assert.deepEqual(
        snapshot?.manifest.filter((m) => m.projectId === project.id),
        [],
      );
      // Every other project read whole: its 404 did not stop the reading of the projects after it.
      assert.deepEqual(await othersOf(project.id), others);
      const stored = await t.store.getPostureObjects(
        t.source.id,
        (snapshot?.manifest ?? []).filter((m) => m.kind === "project" && m.id === project.id).map((m) => m.hash),
      );
      assert.equal(JSON.parse([...stored.values()][0] ?? "{}").status, "archived");
    } finally {
      await t.close();
    }
  });

  it("a certificate deactivated through the audit log is a control-weakened finding, explained (no drift)", async () => {
    const t = await setup();
    try {
      await t.cycle();
      const cert = t.sim.org.directory.certificates[0];
      assert.ok(cert);
      const deactivated = makeRecord(new Rng(3, "t"), {
        type: "certificates.deactivated",
        at: START + 100,
        actor: { type: "session", session: { user: { id: "user-o", email: "o@acme-robotics.com" } } },
        payload: { certificates: [{ id: cert.id, name: cert.name }] },
      });
      t.sim.org.addEvents([deactivated]);
      t.clock.advanceSecs(3600);
      await auditReadUpTo(t.store, t.source, t.clock.secs, [deactivated]);
      const report = await t.cycle();
      const rules = report.findings.map((f) => f.ruleId);
      assert.ok(rules.includes("OpenAI.Posture.CertificateWeakened"), rules.join(", "));
      assert.ok(!rules.includes("OpenAI.Posture.Drift"), rules.join(", "));
      const alerts = await t.store.listAlerts({ sourceId: t.source.id, ruleId: "OpenAI.Posture.CertificateWeakened" });
      assert.equal(alerts[0]?.title, `OpenAI mTLS certificate ${cert.name} deactivated`);
    } finally {
      await t.close();
    }
  });

  it("drift: a key that appears with no audit event is one alert, once the audit log is read past the snapshot", async () => {
    const t = await setup();
    try {
      await t.cycle();
      t.sim.org.runPostureScenario("silent-key", START + 200);
      t.clock.advanceSecs(3600);
      // The audit log is behind: the change cannot be judged yet.
      const early = await t.cycle();
      assert.equal(early.findings.filter((f) => f.ruleId === "OpenAI.Posture.Drift").length, 0);
      // Read past it now: the next cycle judges the pending change.
      await auditReadUpTo(t.store, t.source, START + 3600 + 60);
      t.clock.advanceSecs(3600);
      await auditReadUpTo(t.store, t.source, t.clock.secs);
      const late = await t.cycle();
      const drift = late.findings.filter((f) => f.ruleId === "OpenAI.Posture.Drift");
      assert.equal(drift.length, 1);
      assert.equal(drift[0]?.kind, "change");
      const alerts = await t.store.listAlerts({ sourceId: t.source.id, ruleId: "OpenAI.Posture.Drift" });
      assert.equal(alerts.length, 1);
      assert.match(alerts[0]?.title ?? "", /project_api_key key_\w+ added with no audit event/);
      assert.match(alerts[0]?.runbook ?? "", /docs\/posture\.md#drift/);
    } finally {
      await t.close();
    }
  });

  it("drift: a change stays pending while the audit log is behind for several snapshots, and is judged once it is read", async () => {
    const t = await setup();
    try {
      await t.cycle();
      t.sim.org.runPostureScenario("silent-key", START + 200);
      t.clock.advanceSecs(3600);
      const changed = await t.cycle();
      const changedAtMs = (await t.store.getPostureSnapshot(t.source.id))?.takenAtMs;
      assert.equal(changed.changes, 1);
      // Two more hours with the audit log stuck before the change (an outage): nothing judged, nothing dropped.
      for (let hour = 0; hour < 2; hour++) {
        t.clock.advanceSecs(3600);
        const stuck = await t.cycle();
        assert.equal(stuck.findings.filter((f) => f.ruleId === "OpenAI.Posture.Drift").length, 0);
        assert.equal(stuck.changes, 0, "a carried change is not a change of the later snapshot");
        const carried = (await t.store.getPostureSnapshot(t.source.id))?.changes ?? [];
        assert.equal(carried.length, 1);
        assert.equal(carried[0]?.carried?.takenAtMs, changedAtMs);
      }
      // The audit log catches up: the change is judged in its own window, under its own snapshot's time.
      t.clock.advanceSecs(3600);
      await auditReadUpTo(t.store, t.source, t.clock.secs);
      const late = await t.cycle();
      const drift = late.findings.filter((f) => f.ruleId === "OpenAI.Posture.Drift");
      assert.equal(drift.length, 1);
      assert.equal(drift[0]?.sinceMs, changedAtMs);
      // Kept judged with this snapshot (for the history), never judged again.
      const judged = (await t.store.getPostureSnapshot(t.source.id))?.changes ?? [];
      assert.deepEqual(
        judged.map((c) => [c.carried?.takenAtMs, (c as { audit?: { checked: boolean } }).audit?.checked]),
        [[changedAtMs, true]],
      );
      const alerts = await t.store.listAlerts({ sourceId: t.source.id, ruleId: "OpenAI.Posture.Drift" });
      assert.equal(alerts.length, 1);
      // The object's history shows the change once, in the snapshot that found it, ...
      const history = await t.store.getPostureHistory(t.source.id, "project_api_key", drift[0]?.objectId ?? "");
      // ... with its judgement: no audit event (not "not judged yet").
      assert.deepEqual(
        history.entries.map((e) => [e.change, e.takenAtMs, e.auditEventIds]),
        [["added", changedAtMs, []]],
      );
      t.clock.advanceSecs(3600);
      assert.equal((await t.cycle()).findings.filter((f) => f.ruleId === "OpenAI.Posture.Drift").length, 0);
    } finally {
      await t.close();
    }
  });

  it("each posture scenario raises its rule; a standing finding stays one alert; a cleared one resolves", async () => {
    const at = START - 3600;
    const t = await setup({
      postureScenarios: [
        { name: "admin-key-without-expiry", atSecs: at },
        { name: "stale-key", atSecs: at },
        { name: "key-owner-left-project", atSecs: at },
        { name: "many-owners", atSecs: at },
        { name: "outside-invite", atSecs: at },
      ],
    });
    try {
      const first = await t.cycle();
      const rules = new Set(first.findings.map((f) => f.ruleId));
      for (const id of [
        "OpenAI.Posture.AdminKeyWithoutExpiry",
        "OpenAI.Posture.KeyUnused",
        "OpenAI.Posture.KeyOwnerLostProjectAccess",
        "OpenAI.Posture.TooManyOwners",
        "OpenAI.Posture.PendingInviteOutsideDomain",
      ]) {
        assert.ok(rules.has(id), `${id} found (got ${[...rules].join(", ")})`);
      }
      assert.equal(first.createdAlertIds.length, first.findings.length);
      const alertsBefore = await t.store.listAlerts({ sourceId: t.source.id, limit: 1000 });

      t.clock.advanceSecs(3 * 3600);
      const second = await t.cycle();
      assert.equal(second.createdAlertIds.length, 0, "standing findings raise no new alert");
      assert.equal(second.findings.length, first.findings.length);
      assert.deepEqual(second.findings.map((f) => f.sinceMs).sort(), first.findings.map((f) => f.sinceMs).sort());
      assert.equal((await t.store.listAlerts({ sourceId: t.source.id, limit: 1000 })).length, alertsBefore.length);

      // The outside invite is deleted (audited): its finding clears and its alert resolves.
      const invite = [...t.sim.org.inventory(t.clock.secs).invites.values()][0];
      assert.ok(invite);
      t.sim.org.addEvents([
        makeRecord(new Rng(2, "t"), {
          type: "invite.deleted",
          at: t.clock.secs - 10,
          actor: { type: "session", session: { user: { id: "user-x", email: "o@acme-robotics.com" } } },
          payload: { id: invite.id },
        }),
      ]);
      t.clock.advanceSecs(3600);
      const third = await t.cycle();
      assert.equal(third.resolvedAlertIds.length, 1);
      const resolved = await t.store.getAlert(third.resolvedAlertIds[0] as string);
      assert.equal(resolved?.ruleId, "OpenAI.Posture.PendingInviteOutsideDomain");
      assert.equal(resolved?.status, "RESOLVED");
    } finally {
      await t.close();
    }
  });
});

describe("controls: data retention, spend alerts, model and hosted-tool permissions", () => {
  /** Two snapshots around a posture scenario acting between them, the audit log read past the second. */
  async function around(name: "retention-weakened" | "spend-alert-removed" | "permissions-widened") {
    const t = await setup();
    await t.cycle();
    const events = t.sim.org.runPostureScenario(name, START + 100);
    t.clock.advanceSecs(3600);
    await auditReadUpTo(t.store, t.source, t.clock.secs, events);
    return { t, report: await t.cycle() };
  }

  it("a project's retention weakened through the audit log: one finding naming the project, not drift", async () => {
    const { t, report } = await around("retention-weakened");
    try {
      const rules = report.findings.map((f) => f.ruleId);
      assert.deepEqual(rules, ["OpenAI.Posture.DataRetentionWeakened"]);
      const [alert] = await t.store.listAlerts({ sourceId: t.source.id, ruleId: rules[0] });
      const project = t.sim.org.directory.projects[0];
      assert.equal(
        alert?.title,
        `OpenAI data retention of project ${project?.name} weakened: zero_data_retention → none`,
      );
      assert.match(alert?.runbook ?? "", /docs\/posture\.md#data-retention-weakened/);
    } finally {
      await t.close();
    }
  });

  it("the organization's spend alert removed: one finding, explained by organization.updated", async () => {
    const { t, report } = await around("spend-alert-removed");
    try {
      assert.deepEqual(
        report.findings.map((f) => f.ruleId),
        ["OpenAI.Posture.SpendAlertWeakened"],
      );
      assert.match(report.findings[0]?.title ?? "", /organization spend alert spa_org_monthly .* removed/);
    } finally {
      await t.close();
    }
  });

  it("a project's model list and hosted tools widened: one finding each, naming the models and tools", async () => {
    const { t, report } = await around("permissions-widened");
    try {
      const titles = report.findings.map((f) => `${f.ruleId} ${f.title}`).sort();
      assert.equal(titles.length, 2, titles.join("\n"));
      assert.match(
        titles[0] ?? "",
        /ProjectPermissionsWidened .*hosted tool permissions widened: hosted tools enabled \(mcp\)/,
      );
      assert.match(
        titles[1] ?? "",
        /ProjectPermissionsWidened .*model permissions widened: models added to the allow list \(o3\)/,
      );
    } finally {
      await t.close();
    }
  });

  it("a retention change no audit event records is drift (expected: project.updated naming the project)", async () => {
    const t = await setup();
    try {
      await t.cycle();
      const projectId = t.sim.org.directory.projects[2]?.id as string;
      t.sim.org.addSilentChange({
        atSecs: START + 100,
        apply: (s) =>
          s.projectRetention.set(projectId, { object: "project.data_retention", type: "zero_data_retention" }),
      });
      t.clock.advanceSecs(3600);
      await auditReadUpTo(t.store, t.source, t.clock.secs);
      const report = await t.cycle();
      // Strengthened, so no retention finding; but nothing in the audit log explains it.
      assert.deepEqual(
        report.findings.map((f) => f.ruleId),
        ["OpenAI.Posture.Drift"],
      );
      const [alert] = await t.store.listAlerts({ sourceId: t.source.id, ruleId: "OpenAI.Posture.Drift" });
      assert.deepEqual((alert?.alertContext as { expected_event_types?: string[] } | null)?.expected_event_types, [
        "project.updated",
      ]);
    } finally {
      await t.close();
    }
  });

  it("a benign organization raises no posture finding over several snapshots while its audit log moves", async () => {
    const clock = new ManualClock(START);
    const sim = await startSimulator({
      // The demo's organization (cli/commands/start.ts), over a week of a busy org: every rare admin event turns
      // up several times (a user deleted, say, ~17 times).
      seed: 20261124,
      clock,
      history: { days: 7, eventsPerDay: 1000 },
      live: { eventsPerMinute: 2 },
    });
    const store = await openSqliteStore({ memory: true });
    try {
      const source = await store.createSource(sourceSettings({ baseUrl: sim.baseUrl }), { ciphertext: "unused" });
      const findings: string[] = [];
      for (let i = 0; i < 4; i++) {
        const events = sim.org.visibleEvents(clock.secs);
        await auditReadUpTo(
          store,
          source,
          clock.secs,
          i === 0 ? events : events.filter((e) => e.effective_at > clock.secs - 3600),
        );
        const report = await runPostureCycle({
          store,
          client: adminClient(sim),
          source,
          engine,
          settings: DEFAULT_POSTURE_SETTINGS,
          nowMs: () => clock.nowMs(),
        });
        findings.push(...report.findings.map((f) => `${f.ruleId}: ${f.title}`));
        clock.advanceSecs(3600);
      }
      assert.deepEqual(findings, []);
    } finally {
      await sim.close();
      await store.close();
    }
  });
});

describe("pruning", () => {
  it("keeps whole snapshots keepDays, diffs historyDays; an object's history outlives its whole snapshots", async () => {
    const t = await setup();
    try {
      const settings = { ...DEFAULT_POSTURE_SETTINGS, keepDays: 1, historyDays: 2 };
      const cycle = () =>
        runPostureCycle({
          store: t.store,
          client: adminClient(t.sim),
          source: t.source,
          engine,
          settings,
          nowMs: () => t.clock.nowMs(),
        });
      await cycle();
      // A project's retention moves once (a diff worth keeping), then every snapshot is quiet.
      t.sim.org.runPostureScenario("retention-weakened", t.clock.secs + 100);
      const projectId = t.sim.org.directory.projects[0]?.id as string;
      let pruned = 0;
      for (let i = 0; i < 8; i++) {
        t.clock.advanceSecs(6 * 3600);
        pruned += (await cycle()).pruned?.snapshotsDeleted ?? 0;
      }
      // 9 snapshots over 48 h: the quiet ones older than a day are gone; the diff of the change (42 h ago) stays.
      const kept = await t.store.listPostureSnapshots(t.source.id, 100);
      assert.ok(pruned > 0);
      assert.ok(kept.every((s) => s.takenAtMs >= t.clock.nowMs() - 86_400_000 || (s.changeCount ?? 0) > 0));
      const history = await t.store.getPostureHistory(t.source.id, "project_data_retention", projectId);
      assert.deepEqual(
        history.entries.map((e) => [e.change, e.before?.type, e.after?.type]),
        [["changed", "zero_data_retention", "none"]],
      );
      // Past the history horizon the diff goes too.
      t.clock.advanceSecs(24 * 3600);
      await cycle();
      assert.deepEqual((await t.store.getPostureHistory(t.source.id, "project_data_retention", projectId)).entries, []);
      assert.equal((await t.store.listPostureSnapshots(t.source.id, 100)).length <= 6, true);
    } finally {
      await t.close();
    }
  });

  it("a pruning failure is reported and does not undo the snapshot", async () => {
    const t = await setup();
    try {
      const failing = new Proxy(t.store, {
        get(target, name, receiver) {
          if (name === "prunePostureSnapshots") return async () => Promise.reject(new Error("disk full"));
          const value = Reflect.get(target, name, receiver);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const report = await runPostureCycle({
        store: failing,
        client: adminClient(t.sim),
        source: t.source,
        engine,
        settings: DEFAULT_POSTURE_SETTINGS,
        nowMs: () => t.clock.nowMs(),
      });
      assert.equal(report.pruned, null);
      assert.match(report.pruneError ?? "", /disk full/);
      assert.equal((await t.store.getPostureSnapshot(t.source.id))?.id, report.snapshotId);
    } finally {
      await t.close();
    }
  });

  it("reads its horizons from the environment, refusing history shorter than whole snapshots", () => {
    assert.deepEqual([postureSettingsFromEnv({}).keepDays, postureSettingsFromEnv({}).historyDays], [30, 365]);
    const set = postureSettingsFromEnv({ VIGIL_POSTURE_KEEP_DAYS: "7", VIGIL_POSTURE_HISTORY_DAYS: "90" });
    assert.deepEqual([set.keepDays, set.historyDays], [7, 90]);
    assert.throws(
      () => postureSettingsFromEnv({ VIGIL_POSTURE_KEEP_DAYS: "30", VIGIL_POSTURE_HISTORY_DAYS: "7" }),
      /VIGIL_POSTURE_HISTORY_DAYS \(7\) must be at least VIGIL_POSTURE_KEEP_DAYS \(30\)/,
    );
    assert.throws(() => postureSettingsFromEnv({ VIGIL_POSTURE_KEEP_DAYS: "0" }), /VIGIL_POSTURE_KEEP_DAYS/);
  });
});

describe("posture beside the audit-log polling", () => {
  let scratch: string;
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("a key without the management scope: every endpoint named, polling stores events and stays healthy", async () => {
    scratch = mkdtempSync(join(tmpdir(), "vigil-posture-"));
    const clock = new ManualClock(START);
    const sim = await startSimulator({
      seed: 3,
      clock,
      history: { days: 1, eventsPerDay: 200 },
      deniedPaths: [
        "/organization/users",
        "/organization/projects",
        "/organization/admin_api_keys",
        "/organization/invites",
        "/organization/certificates",
        "/organization/data_retention",
        "/organization/spend_alerts",
      ],
    });
    const runtime = await openRuntime(
      readEnv({ VIGIL_DATA_DIR: scratch, VIGIL_ALLOW_PLAIN_HTTP: "1" }),
      createLogger({ level: "silent" }),
      { clock },
    );
    try {
      const settings = sourceSettings({ name: "sim", baseUrl: sim.baseUrl, backfillDays: 1 });
      const source = await runtime.store.createSource(settings, sealSourceKey(runtime, settings, sim.adminKey));
      const posture = await runPosture(runtime, source);
      assert.equal(posture.objects, 0);
      // 7 organization endpoints refused, the 8 per-project ones skipped for want of the project list.
      assert.equal(posture.failedEndpoints.length, 15);
      assert.equal(posture.failedEndpoints.filter((e) => e.missingScope === "api.management.read").length, 7);
      assert.ok(posture.failedEndpoints.every((e) => /api\.management\.read/.test(e.error ?? "")));

      const [outcome] = await pollAllOnce(runtime);
      assert.equal(outcome?.error, undefined);
      assert.ok((await runtime.store.countEvents({ sourceId: source.id })) > 0);
      const status = await runtime.store.getPollStatus(source.id);
      assert.equal(status.lastError, null);
      assert.equal(status.consecutiveFailures, 0);
    } finally {
      await runtime.close();
      await sim.close();
    }
  });
});
