// The coverage ledger: for every audit event type the newest spec knows (src/core/event-types.ts, the one list),
// how often this organization produced it and when last, which rules cover it and how many rule tests exercise
// it; plus the types seen that the spec does not know (the new-type signal).
//
// "Covers" is read from the rules' own tests, the one reliable record of what a rule inspects: a rule covers a
// type when one of its positive test cases (expected to match) is an event of that type, and a test exercises a
// type when its log is of that type, positive or negative. A rule without tests covers nothing here, on purpose:
// coverage nobody has tested is not coverage. Only rules on the OpenAI.Audit log type count.

import { currentEventType, isKnownEventType, isTenantScoped, KNOWN_EVENT_TYPES } from "../core/event-types.ts";
import type { LoadedRule } from "../detections/engine/loaded-rule.ts";

export const AUDIT_LOG_TYPE = "OpenAI.Audit";

export interface TypeCoverage {
  type: string;
  tenantScoped: boolean;
  seenCount: number;
  lastSeenSecs: number | null;
  /** Rules with a positive test case of this type, sorted. */
  rules: string[];
  /** Rule test cases (positive and negative) whose event is of this type. */
  tests: number;
}

export interface CoverageLedger {
  known: number;
  seen: number;
  covered: number;
  types: TypeCoverage[];
  /** Types stored by this organization that the spec list does not know, newest first. */
  unknownSeen: Array<{ type: string; seenCount: number; lastSeenSecs: number }>;
}

/** The event type of a rule test's log (a raw record's `type`, or a normalized one's), in its current spelling. */
function typeOfTestLog(log: Record<string, unknown>): string | null {
  return typeof log.type === "string" ? currentEventType(log.type) : null;
}

function testsOf(rule: LoadedRule): Array<{ type: string | null; positive: boolean }> {
  if (rule.kind === "ts")
    return rule.definition.tests.map((t) => ({ type: typeOfTestLog(t.log), positive: t.expected }));
  return rule.spec.tests.map((t) => ({ type: typeOfTestLog(t.log), positive: t.expectedResult }));
}

export function buildLedger(
  rules: readonly LoadedRule[],
  counts: ReadonlyArray<{ type: string; count: number; lastSeenSecs: number }>,
): CoverageLedger {
  const rulesByType = new Map<string, Set<string>>();
  const testsByType = new Map<string, number>();
  for (const rule of rules) {
    if (!rule.logTypes.includes(AUDIT_LOG_TYPE)) continue;
    for (const t of testsOf(rule)) {
      if (t.type === null) continue;
      testsByType.set(t.type, (testsByType.get(t.type) ?? 0) + 1);
      if (!t.positive) continue;
      const set = rulesByType.get(t.type) ?? new Set<string>();
      set.add(rule.id);
      rulesByType.set(t.type, set);
    }
  }
  // A type's former spelling is the same type (core/event-types.ts): counted with it.
  const seen = new Map<string, { count: number; lastSeenSecs: number }>();
  for (const c of counts) {
    if (!isKnownEventType(c.type)) continue;
    const type = currentEventType(c.type);
    const before = seen.get(type);
    seen.set(type, {
      count: (before?.count ?? 0) + c.count,
      lastSeenSecs: Math.max(before?.lastSeenSecs ?? c.lastSeenSecs, c.lastSeenSecs),
    });
  }
  const types: TypeCoverage[] = [...KNOWN_EVENT_TYPES].map((type) => ({
    type,
    tenantScoped: isTenantScoped(type),
    seenCount: seen.get(type)?.count ?? 0,
    lastSeenSecs: seen.get(type)?.lastSeenSecs ?? null,
    rules: [...(rulesByType.get(type) ?? [])].sort(),
    tests: testsByType.get(type) ?? 0,
  }));
  const unknownSeen = counts
    .filter((c) => !isKnownEventType(c.type))
    .map((c) => ({ type: c.type, seenCount: c.count, lastSeenSecs: c.lastSeenSecs }))
    .sort((a, b) => b.lastSeenSecs - a.lastSeenSecs || (a.type < b.type ? -1 : 1));
  return {
    known: types.length,
    seen: types.filter((t) => t.seenCount > 0).length,
    covered: types.filter((t) => t.rules.length > 0).length,
    types,
    unknownSeen,
  };
}

/** The table `vigil coverage` prints. */
export function formatLedger(ledger: CoverageLedger): string {
  const date = (secs: number | null) => (secs === null ? "-" : new Date(secs * 1000).toISOString().slice(0, 10));
  const lines = [
    `${ledger.known} event types known to the spec; ${ledger.seen} seen in this organization; ${ledger.covered} covered by a tested rule.`,
    "",
    ["TYPE", "SEEN", "LAST SEEN", "TESTS", "RULES"].join("\t"),
  ];
  for (const t of ledger.types) {
    lines.push(
      [t.type, String(t.seenCount), date(t.lastSeenSecs), String(t.tests), t.rules.join(",") || "-"].join("\t"),
    );
  }
  if (ledger.unknownSeen.length > 0) {
    lines.push("", "Seen but unknown to the spec (new types):");
    for (const u of ledger.unknownSeen) lines.push(`${u.type}\t${u.seenCount}\t${date(u.lastSeenSecs)}`);
  }
  return `${lines.join("\n")}\n`;
}
