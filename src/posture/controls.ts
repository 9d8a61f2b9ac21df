// What a change to one of the organization's controls means for its strength: data retention weakened, a spend
// alert removed or loosened, a project's model or hosted-tool permissions widened. Judged here once, from the
// objects before and after (shapes of OpenAI's Admin API reference), and carried to the posture rules as facts of
// the change record (records.ts): the rules only read `facts.weakened` / `facts.widened` and word the alert.
// `null` means "cannot tell" (an unknown retention type, the organization's setting unreadable): never a finding.

import type { PostureChange } from "./diff.ts";

type Obj = Record<string, unknown>;

/**
 * Data-retention types, weakest first. "none" (or no setting at all) is the standard retention; the modified
 * abuse monitoring controls keep less, zero data retention keeps nothing; the "enhanced" variant of each goes
 * further than its base.
 */
const RETENTION_ORDER = [
  "none",
  "modified_abuse_monitoring",
  "enhanced_modified_abuse_monitoring",
  "zero_data_retention",
  "enhanced_zero_data_retention",
] as const;

/** A project's type that means "whatever the organization has". */
export const ORGANIZATION_DEFAULT = "organization_default";

/** Strength of a retention type (higher keeps less); null for an unknown type or an unknown setting (null). */
export function retentionRank(type: string | null): number | null {
  if (type === null) return null;
  const index = RETENTION_ORDER.indexOf(type as (typeof RETENTION_ORDER)[number]);
  return index < 0 ? null : index;
}

/** The organization's retention type now: its object's `type`, "none" when it has none, null when unreadable. */
export type OrgRetention = string | null;

function typeOf(object: Obj | null): string | null {
  return object && typeof object.type === "string" ? object.type : null;
}

/**
 * The retention a setting object amounts to. An absent organization setting is the standard retention; an
 * absent project setting, or `organization_default`, is the organization's (null when that is unreadable).
 */
function effectiveRetention(project: boolean, object: Obj | null, org: OrgRetention | undefined): string | null {
  const type = typeOf(object);
  if (!project) return type ?? "none";
  if (type === null || type === ORGANIZATION_DEFAULT) return org ?? null;
  return type;
}

export interface RetentionFacts {
  retention_before: string | null;
  retention_after: string | null;
  weakened: boolean | null;
}

/**
 * A data-retention change (organization or project). `orgNow` is the organization's retention in the same
 * snapshot (a project on organization_default is judged through it; if the organization's setting changed too,
 * that change is judged on its own record).
 */
export function retentionFacts(change: PostureChange, orgNow: OrgRetention | undefined): RetentionFacts {
  const project = change.kind === "project_data_retention";
  const before = effectiveRetention(project, change.before, orgNow);
  const after = effectiveRetention(project, change.after, orgNow);
  const rb = retentionRank(before);
  const ra = retentionRank(after);
  return {
    retention_before: before,
    retention_after: after,
    weakened: rb === null || ra === null ? null : ra < rb,
  };
}

export interface SpendAlertFacts {
  weakened: boolean;
  /** How, in words: "removed", "threshold raised from 1000 to 5000 USD cents", "left without recipients". */
  how: string | null;
}

function recipients(alert: Obj | null): string[] {
  const channel = alert?.notification_channel;
  const list = channel && typeof channel === "object" ? (channel as Obj).recipients : null;
  return Array.isArray(list) ? list.map(String) : [];
}

/** A spend alert removed, its threshold raised, or its last recipient dropped: spend can grow unnoticed. */
export function spendAlertFacts(change: PostureChange): SpendAlertFacts {
  if (change.change === "removed") return { weakened: true, how: "removed" };
  if (change.change !== "changed" || !change.before || !change.after) return { weakened: false, how: null };
  const before = change.before.threshold_amount;
  const after = change.after.threshold_amount;
  if (typeof before === "number" && typeof after === "number" && after > before) {
    const currency = typeof change.after.currency === "string" ? ` ${change.after.currency}` : "";
    return { weakened: true, how: `threshold raised from ${before} to ${after} cents${currency}` };
  }
  if (recipients(change.before).length > 0 && recipients(change.after).length === 0) {
    return { weakened: true, how: "left without recipients" };
  }
  return { weakened: false, how: null };
}

export interface WidenedFacts {
  widened: boolean | null;
  how: string | null;
  /** Models or tools newly allowed (empty when the widening is not a list: a policy removed, a mode switched). */
  newly_allowed: string[];
}

function modelIds(policy: Obj): string[] {
  return Array.isArray(policy.model_ids) ? policy.model_ids.map(String).sort() : [];
}

/**
 * A project's model policy (`mode`: allow_list | deny_list, `model_ids`) widened: a model added to an allow list
 * or dropped from a deny list, an allow list turned into a deny list, or a restricting policy removed. A policy
 * that appears restricts (never widens).
 */
export function modelPermissionFacts(change: PostureChange): WidenedFacts {
  const before = change.before;
  const after = change.after;
  const none: WidenedFacts = { widened: false, how: null, newly_allowed: [] };
  if (!before) return none;
  if (!after) {
    const restricted = before.mode === "allow_list" || modelIds(before).length > 0;
    return restricted ? { widened: true, how: "model policy removed", newly_allowed: [] } : none;
  }
  if (before.mode === "allow_list" && after.mode === "deny_list") {
    return { widened: true, how: "allow list replaced by a deny list", newly_allowed: [] };
  }
  if (before.mode !== after.mode) return none;
  const [was, now] = [new Set(modelIds(before)), new Set(modelIds(after))];
  const added = after.mode === "allow_list" ? [...now].filter((m) => !was.has(m)) : [...was].filter((m) => !now.has(m));
  if (added.length === 0) return none;
  const how = after.mode === "allow_list" ? "models added to the allow list" : "models removed from the deny list";
  return { widened: true, how, newly_allowed: added };
}

function enabledTools(permissions: Obj): Set<string> {
  const on = new Set<string>();
  for (const [tool, state] of Object.entries(permissions)) {
    if (state && typeof state === "object" && (state as Obj).enabled === true) on.add(tool);
  }
  return on;
}

/**
 * A project's hosted-tool permissions (`{web_search: {enabled}, mcp: {enabled}, …}`) widened: a tool that was
 * off (or absent) is on. The object disappearing says nothing about the tools (null: cannot tell).
 */
export function hostedToolFacts(change: PostureChange): WidenedFacts {
  if (change.change !== "changed" || !change.before || !change.after) {
    return { widened: change.change === "removed" ? null : false, how: null, newly_allowed: [] };
  }
  const was = enabledTools(change.before);
  const enabled = [...enabledTools(change.after)].filter((t) => !was.has(t)).sort();
  return enabled.length === 0
    ? { widened: false, how: null, newly_allowed: [] }
    : { widened: true, how: "hosted tools enabled", newly_allowed: enabled };
}

/** The facts of a change to a control, or null when the change is not to one of these controls. */
export function controlFacts(change: PostureChange, orgRetention: OrgRetention | undefined): Obj | null {
  switch (change.kind) {
    case "data_retention":
    case "project_data_retention":
      return { ...retentionFacts(change, orgRetention) };
    case "spend_alert":
    case "project_spend_alert":
      return { ...spendAlertFacts(change) };
    case "project_model_permissions":
      return { ...modelPermissionFacts(change) };
    case "project_hosted_tool_permissions":
      return { ...hostedToolFacts(change) };
    default:
      return null;
  }
}
