// Validates a destination config (plain JSON) and builds the destination.

import { z } from "zod";
import { createEmailDestination, type EmailConfig, emailConfigSchema } from "./email/email.ts";
import { exportPathProblem } from "./file/export-path.ts";
import { createFileDestination, type FileConfig, fileConfigSchema, isStdoutPath } from "./file/file.ts";
import { createPagerDutyDestination, type PagerDutyConfig, pagerdutyConfigSchema } from "./pagerduty/pagerduty.ts";
import { createSlackDestination, type SlackConfig, slackConfigSchema } from "./slack/slack.ts";
import { type Destination, type DestinationEnv, defaultMinSeverity } from "./types.ts";
import { createWebhookDestination, type WebhookConfig, webhookConfigSchema } from "./webhook/webhook.ts";

export const destinationConfigSchema = z.discriminatedUnion("type", [
  slackConfigSchema,
  webhookConfigSchema,
  pagerdutyConfigSchema,
  emailConfigSchema,
  fileConfigSchema,
]);
export type DestinationConfig = z.infer<typeof destinationConfigSchema>;
export type { EmailConfig, FileConfig, PagerDutyConfig, SlackConfig, WebhookConfig };

/** Each type's config fields, read from its schema. */
const FIELDS_BY_TYPE: ReadonlyMap<string, readonly string[]> = new Map(
  destinationConfigSchema.options.map((schema) => [schema.shape.type.value, Object.keys(schema.shape).sort()]),
);

/** The fields a destination of `type` has (its record's id and type left out); [] for an unknown type. */
export function configFields(type: string): readonly string[] {
  return (FIELDS_BY_TYPE.get(type) ?? []).filter((k) => k !== "id" && k !== "type");
}

/**
 * The keys of `config` that a destination of `type` does not have, sorted. The schemas drop keys they do not
 * know, so a misspelt field (`min_severty`, `secert`) would otherwise be ignored without a word: a destination
 * that gets more alerts than meant, or a secret that is not there. [] for an unknown type.
 */
export function unknownConfigFields(type: string, config: Record<string, unknown>): string[] {
  const known = FIELDS_BY_TYPE.get(type);
  return known === undefined
    ? []
    : Object.keys(config)
        .filter((k) => !known.includes(k))
        .sort();
}

export type ParseResult =
  | { ok: true; config: DestinationConfig }
  | { ok: false; issues: Array<{ path: string; message: string }> };

/** A config without min_severity gets its type's default (DEFAULT_MIN_SEVERITY), not one for all types. */
function withDefaultMinSeverity(input: unknown): unknown {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return input;
  const config = input as Record<string, unknown>;
  if (config.min_severity !== undefined || typeof config.type !== "string") return input;
  return { ...config, min_severity: defaultMinSeverity(config.type) };
}

/**
 * Validates a config; issue messages never echo the submitted values, so secrets stay out of them (a file
 * path is not a secret: its problem names it). A file destination needs `env` (its export directory) and is
 * refused without it.
 */
export function parseDestinationConfig(input: unknown, env?: DestinationEnv): ParseResult {
  const result = destinationConfigSchema.safeParse(withDefaultMinSeverity(input));
  if (result.success) {
    const config = result.data;
    if (config.type === "file" && !isStdoutPath(config.path)) {
      const problem =
        env === undefined
          ? "file destinations need the export directory (VIGIL_EXPORT_DIR)"
          : exportPathProblem(env.exportDir, config.path);
      if (problem !== null) return { ok: false, issues: [{ path: "path", message: problem }] };
    }
    return { ok: true, config };
  }
  return {
    ok: false,
    issues: result.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })),
  };
}

export class DestinationConfigError extends Error {
  readonly code = "destination_config";
  readonly retryable = false;
  readonly issues: Array<{ path: string; message: string }>;
  constructor(issues: Array<{ path: string; message: string }>) {
    super(`Invalid destination config: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`);
    this.name = "DestinationConfigError";
    this.issues = issues;
  }
}

/** Builds a destination from a config object; throws DestinationConfigError when the config is invalid. */
export function createDestination(input: unknown, env?: DestinationEnv): Destination {
  const parsed = parseDestinationConfig(input, env);
  if (!parsed.ok) throw new DestinationConfigError(parsed.issues);
  const config = parsed.config;
  // What every type shares is set here once, not in each type's factory.
  return Object.assign(buildDestination(config, env), { includeHistory: config.include_history });
}

function buildDestination(config: DestinationConfig, env: DestinationEnv | undefined): Destination {
  switch (config.type) {
    case "slack":
      return createSlackDestination(config);
    case "webhook":
      return createWebhookDestination(config);
    case "pagerduty":
      return createPagerDutyDestination(config);
    case "email":
      return createEmailDestination(config);
    case "file":
      return createFileDestination(config, env ?? {});
  }
}
