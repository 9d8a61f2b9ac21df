// Formatting helpers shared by the destinations.

import type { Severity } from "../core/detection.ts";
import type { ActorSummary, AlertNotification } from "./types.ts";

export const SEVERITY_EMOJI: Record<Severity, string> = {
  CRITICAL: "🔴",
  HIGH: "🟠",
  MEDIUM: "🟡",
  LOW: "🔵",
  INFO: "⚪",
};

/** Cuts `text` to at most `max` characters, marking the cut with `suffix`. */
export function truncate(text: string, max: number, suffix = "… (truncated)"): string {
  if (text.length <= max) return text;
  if (max <= suffix.length) return text.slice(0, max);
  // Do not split a surrogate pair.
  let cut = max - suffix.length;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return text.slice(0, cut) + suffix;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** "alice@example.com (user u_123) from 203.0.113.5", or null when nothing is known. */
export function formatActor(actor: ActorSummary | null): string | null {
  if (!actor) return null;
  const who = actor.email ?? actor.id;
  const kind = actor.type
    ? actor.email && actor.id
      ? `${actor.type} ${actor.id}`
      : actor.type
    : actor.email
      ? actor.id
      : null;
  let text = who ?? actor.type ?? "";
  if (who && kind) text += ` (${kind})`;
  if (actor.ip) text += text ? ` from ${actor.ip}` : actor.ip;
  return text === "" ? null : text;
}

export function formatTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function ruleLabel(n: AlertNotification): string {
  return n.ruleName ? `${n.ruleName} (${n.ruleId})` : n.ruleId;
}

export function contextJson(n: AlertNotification): string | null {
  if (n.alertContext === null || Object.keys(n.alertContext).length === 0) return null;
  return JSON.stringify(n.alertContext, null, 2);
}

export function reportsText(n: AlertNotification): string | null {
  const parts = Object.entries(n.reports)
    .filter(([, ids]) => ids.length > 0)
    .map(([framework, ids]) => `${framework}: ${ids.join(", ")}`);
  return parts.length > 0 ? parts.join("; ") : null;
}

export function kindPrefix(n: AlertNotification): string {
  if (n.kind === "resolved") return "Resolved: ";
  if (n.kind === "test") return "[TEST] ";
  return "";
}
