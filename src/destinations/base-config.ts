// Fields every destination config has. Configs are plain JSON (stored encrypted by the caller), snake_case
// with unit suffixes like the rest of Vigil's config.

import { z } from "zod";
import { SEVERITIES } from "../core/detection.ts";

export const baseConfigShape = {
  /** Stable id: rules' destination overrides and the outbox refer to it. */
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "use letters, digits, '.', '_' and '-'"),
  name: z.string().trim().min(1).max(200),
  /**
   * Default routing sends alerts of this severity and above. When absent, parseDestinationConfig fills in the
   * type's default (DEFAULT_MIN_SEVERITY in types.ts: PagerDuty HIGH, Slack and email MEDIUM, webhook and
   * file INFO); INFO here is only the schema's last resort.
   */
  min_severity: z.enum(SEVERITIES).default("INFO"),
  /** Default routing sends only these log types (e.g. `OpenAI.Audit`); absent or empty means all. */
  log_types: z.array(z.string().min(1)).optional(),
  /**
   * Also send alerts raised from history (a new source's backfill). Off by default: a week of history is not a
   * page; those alerts are in the console, marked as history.
   */
  include_history: z.boolean().default(false),
  /** Per-request timeout. */
  timeout_secs: z.number().positive().max(300).default(10),
};

export const httpUrl = z.url({ protocol: /^https?$/ });
