// Alerts as the store keeps them (the rule match that makes them is in detection.ts).

import type { AlertStatus, Severity } from "./detection.ts";

export interface AlertRecord {
  id: string;
  ruleId: string;
  packId: string | null;
  sourceId: string;
  dedupString: string;
  isError: boolean;
  title: string;
  severity: Severity;
  status: AlertStatus;
  alertContext: Record<string, unknown> | null;
  description: string | null;
  reference: string | null;
  runbook: string | null;
  destinations: string[] | null;
  /** Event time of the first match of the window, and the window's end (exclusive). */
  windowStartSecs: number;
  windowEndSecs: number;
  matchCount: number;
  /** Raised by a backfill page (history), not by live polling: shown as such, and not sent unless asked for. */
  fromHistory: boolean;
  createdAtMs: number;
  updatedAtMs: number;
}

/** Alerts of one source in one status and severity. */
export interface AlertCount {
  sourceId: string;
  status: AlertStatus;
  severity: Severity;
  count: number;
}

/** Enable/disable overrides of rules and packs, globally (sourceId null) or for one source. */
export interface DetectionSetting {
  kind: "rule" | "pack";
  id: string;
  sourceId: string | null;
  enabled: boolean;
}
