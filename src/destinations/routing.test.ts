import assert from "node:assert/strict";
import { test } from "node:test";
import type { Severity } from "../core/detection.ts";
import { defaultRoute, explainRoute, MAX_ROUTED_DESTINATIONS, routeAlert } from "./routing.ts";
import type { Destination } from "./types.ts";

function dest(id: string, name: string, minSeverity: Severity, logTypes?: string[]): Destination {
  return {
    id,
    name,
    type: "file",
    minSeverity,
    ...(logTypes ? { logTypes } : {}),
    send: async () => ({ ok: true }),
  };
}

const slack = dest("slack-1", "Security Slack", "MEDIUM");
const pager = dest("pd-1", "On-call PagerDuty", "CRITICAL");
const archive = dest("file-1", "Archive", "INFO");
const otherLogs = dest("hook-1", "Other logs webhook", "INFO", ["AWS.CloudTrail"]);
const openaiOnly = dest("hook-2", "OpenAI webhook", "HIGH", ["OpenAI.Audit"]);
const all = [slack, pager, archive, otherLogs, openaiOnly];
const ids = (ds: Destination[]) => ds.map((d) => d.id);

test("default routing: severity at or above each destination's minimum, and matching log types", () => {
  const base = { logType: "OpenAI.Audit", ruleDestinations: null };
  assert.deepEqual(ids(routeAlert({ ...base, severity: "INFO" }, all)), ["file-1"]);
  assert.deepEqual(ids(routeAlert({ ...base, severity: "MEDIUM" }, all)), ["slack-1", "file-1"]);
  assert.deepEqual(ids(routeAlert({ ...base, severity: "HIGH" }, all)), ["slack-1", "file-1", "hook-2"]);
  assert.deepEqual(ids(routeAlert({ ...base, severity: "CRITICAL" }, all)), ["slack-1", "pd-1", "file-1", "hook-2"]);
  assert.deepEqual(ids(defaultRoute({ severity: "LOW", logType: "AWS.CloudTrail" }, all)), ["file-1", "hook-1"]);
  assert.deepEqual(ids(defaultRoute({ severity: "CRITICAL", logType: "x" }, [dest("e", "E", "INFO", [])])), ["e"]);
  assert.equal(explainRoute({ ...base, severity: "LOW" }, all).reason, "default");
});

test("destinations() result wins over overrides and severity, by id or by name, deduplicated", () => {
  const decision = explainRoute(
    {
      severity: "INFO",
      logType: "OpenAI.Audit",
      ruleDestinations: ["pd-1", "Security Slack", "security slack", "pd-1"],
      ruleDestinationOverrides: ["file-1"],
    },
    all,
  );
  assert.equal(decision.reason, "dynamic");
  assert.deepEqual(
    ids(decision.destinations),
    ["pd-1", "slack-1"],
    "severity filters do not apply to explicit routing",
  );
  assert.deepEqual(decision.unknown, []);
});

test("an empty destinations() result suppresses every delivery, even with overrides", () => {
  const decision = explainRoute(
    { severity: "CRITICAL", logType: "OpenAI.Audit", ruleDestinations: [], ruleDestinationOverrides: ["pd-1"] },
    all,
  );
  assert.equal(decision.reason, "suppressed");
  assert.deepEqual(decision.destinations, []);
  assert.deepEqual(routeAlert({ severity: "CRITICAL", logType: "OpenAI.Audit", ruleDestinations: [] }, all), []);
});

test("static overrides apply when destinations() returned nothing", () => {
  for (const ruleDestinationOverrides of [["Archive", "hook-1"]]) {
    const decision = explainRoute(
      { severity: "CRITICAL", logType: "OpenAI.Audit", ruleDestinations: null, ruleDestinationOverrides },
      all,
    );
    assert.equal(decision.reason, "override");
    assert.deepEqual(ids(decision.destinations), ["file-1", "hook-1"]);
  }
  // Empty or null overrides mean default routing.
  assert.equal(
    explainRoute(
      { severity: "LOW", logType: "OpenAI.Audit", ruleDestinations: null, ruleDestinationOverrides: [] },
      all,
    ).reason,
    "default",
  );
  assert.equal(
    explainRoute(
      { severity: "LOW", logType: "OpenAI.Audit", ruleDestinations: null, ruleDestinationOverrides: null },
      all,
    ).reason,
    "default",
  );
});

test("unknown names are ignored and reported", () => {
  const reported: Array<{ unknown: string[]; dropped: string[] }> = [];
  const out = routeAlert(
    { severity: "LOW", logType: "OpenAI.Audit", ruleDestinations: ["nope", "pd-1"] },
    all,
    (ignored) => reported.push(ignored),
  );
  assert.deepEqual(ids(out), ["pd-1"]);
  // Nothing reported when everything is known.
  routeAlert({ severity: "LOW", logType: "OpenAI.Audit", ruleDestinations: ["pd-1"] }, all, (i) => reported.push(i));
  assert.deepEqual(reported, [{ unknown: ["nope"], dropped: [] }]);
});

test("a list naming only unknown destinations falls through to the next level instead of losing the alert", () => {
  const toOverride = explainRoute(
    {
      severity: "LOW",
      logType: "OpenAI.Audit",
      ruleDestinations: ["typo"],
      ruleDestinationOverrides: ["pd-1", "ghost"],
    },
    all,
  );
  assert.equal(toOverride.reason, "override");
  assert.deepEqual(ids(toOverride.destinations), ["pd-1"]);
  assert.deepEqual(toOverride.unknown, ["typo", "ghost"]);

  const toDefault = explainRoute(
    { severity: "MEDIUM", logType: "OpenAI.Audit", ruleDestinations: ["typo"], ruleDestinationOverrides: ["ghost"] },
    all,
  );
  assert.equal(toDefault.reason, "default");
  assert.deepEqual(ids(toDefault.destinations), ["slack-1", "file-1"]);
  assert.deepEqual(toDefault.unknown, ["typo", "ghost"]);
});

test("at most 10 entries are considered; the rest are dropped and reported", () => {
  const many = Array.from({ length: 12 }, (_, i) => dest(`d${i}`, `D${i}`, "CRITICAL"));
  const decision = explainRoute({ severity: "INFO", logType: "x", ruleDestinations: many.map((d) => d.id) }, many);
  assert.equal(MAX_ROUTED_DESTINATIONS, 10);
  assert.deepEqual(
    ids(decision.destinations),
    many.slice(0, 10).map((d) => d.id),
  );
  assert.deepEqual(decision.dropped, ["d10", "d11"]);
  const overrides = explainRoute(
    { severity: "INFO", logType: "x", ruleDestinations: null, ruleDestinationOverrides: many.map((d) => d.name) },
    many,
  );
  assert.equal(overrides.destinations.length, 10);
  assert.deepEqual(overrides.dropped, ["D10", "D11"]);
});

test("an alert from history goes only to destinations that ask for history, whatever picked them", () => {
  const historyArchive: Destination = { ...dest("file-h", "History archive", "INFO"), includeHistory: true };
  const withHistory = [...all, historyArchive];
  const live = { severity: "CRITICAL" as const, logType: "OpenAI.Audit", ruleDestinations: null };
  assert.deepEqual(ids(routeAlert(live, withHistory)), ["slack-1", "pd-1", "file-1", "hook-2", "file-h"]);
  const old = { ...live, fromHistory: true };
  assert.deepEqual(ids(routeAlert(old, withHistory)), ["file-h"]);
  // A rule's own destinations() do not page on history either.
  const named = explainRoute({ ...old, ruleDestinations: ["On-call PagerDuty"] }, withHistory);
  assert.deepEqual(ids(named.destinations), []);
  assert.equal(named.reason, "history");
  assert.deepEqual(ids(routeAlert({ ...old, ruleDestinations: ["file-h", "pd-1"] }, withHistory)), ["file-h"]);
  // Nothing routed is not "history": the reason stays what routing found.
  assert.equal(explainRoute({ ...old, ruleDestinations: [] }, withHistory).reason, "suppressed");
});
