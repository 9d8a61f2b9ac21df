// Adding, changing, testing and removing alert destinations: the rules, written once for the CLI
// (`vigil destinations`), the HTTP API (and through it the console) and the config file (config-destinations.ts).
//
// The rules: the type is known and the whole config valid as the delivery worker will build it (the problems name
// fields, never values); names are unique; the endpoint is one the outbound policy lets secrets go to; the
// type-specific config is stored encrypted; changing where a destination sends needs its secrets again; and a
// destination the config file owns is changed and removed only there.

import type { DeadLetter, DestinationManager, DestinationRecord } from "../core/destination.ts";
import { isSeverity, SEVERITIES, type Severity } from "../core/detection.ts";
import { ConfigurationError, UsageError, VigilError } from "../core/errors.ts";
import type { OutboundPolicy } from "../core/outbound.ts";
import {
  applyDestinationChange,
  assertDestinationEndpoint,
  configFields,
  DESTINATION_TYPES,
  type DeliveryResult,
  type DestinationEnv,
  defaultMinSeverity,
  parseDestinationConfig,
  sampleNotification,
  unknownConfigFields,
} from "../destinations/index.ts";
import { destinationBuilder, loadDestination } from "../pipeline/delivery-worker.ts";
import type { Runtime } from "../pipeline/runtime.ts";

/** What a destination is made of, as the CLI, the API and the config file give it. */
export interface DestinationInput {
  name: string;
  type: string;
  /** Upper or lower case; absent: the type's default (DEFAULT_MIN_SEVERITY). */
  minSeverity?: string;
  /** Default routing sends only these log types; empty or absent means all. */
  logTypes?: string[];
  /** The type-specific fields (snake_case, as in the config file): URLs, secrets, hosts, … */
  config: Record<string, unknown>;
}

/** A destination that passed every check, ready to store. */
export interface ValidDestination {
  name: string;
  type: string;
  minSeverity: Severity;
  logTypes: string[];
  /** The type-specific fields as given (what is encrypted); the record's own fields are not repeated in it. */
  config: Record<string, unknown>;
}

/** The fields a destination record holds itself; the stored config keeps only the type-specific rest. */
const RECORD_FIELDS = ["id", "name", "type", "min_severity", "log_types"];

function typeSpecific(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k]) => !RECORD_FIELDS.includes(k)));
}

type Env = DestinationEnv & { outbound: OutboundPolicy };

/** A destination that is not valid; `problem` names the fields at fault (never their values). */
export class InvalidDestination extends UsageError {
  constructor(
    name: string,
    readonly problem: string,
  ) {
    super(`Invalid destination ${JSON.stringify(name)}: ${problem}.`);
  }
}

/**
 * The type is one Vigil has and the minimum severity (the type's default when absent) is one of SEVERITIES; the
 * severity, upper case. The CLI checks this before it asks for the secret.
 */
export function checkTypeAndSeverity(input: Pick<DestinationInput, "name" | "type" | "minSeverity">): Severity {
  if (!(DESTINATION_TYPES as readonly string[]).includes(input.type)) {
    throw new InvalidDestination(
      input.name,
      `unknown type ${JSON.stringify(input.type)}; use one of ${DESTINATION_TYPES.join(", ")}`,
    );
  }
  const minSeverity = (input.minSeverity ?? defaultMinSeverity(input.type)).toUpperCase();
  if (!isSeverity(minSeverity)) {
    throw new InvalidDestination(
      input.name,
      `unknown severity ${JSON.stringify(input.minSeverity)}; use one of ${SEVERITIES.join(", ")}`,
    );
  }
  return minSeverity;
}

/**
 * Checks a destination as the delivery worker will build it, and its endpoint against the outbound policy. A usage
 * error names the problems (fields, never values); `outbound_refused` names the field the policy refuses.
 */
export function validateDestination(input: DestinationInput, env: Env): ValidDestination {
  const minSeverity = checkTypeAndSeverity(input);
  const logTypes = input.logTypes ?? [];
  const config = typeSpecific(input.config);
  const unknown = unknownConfigFields(input.type, config);
  if (unknown.length > 0) {
    throw new InvalidDestination(
      input.name,
      `unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")}; a ${input.type} destination has ${configFields(input.type).join(", ")}`,
    );
  }
  const parsed = parseDestinationConfig(
    {
      ...config,
      type: input.type,
      id: "validation",
      name: input.name,
      min_severity: minSeverity,
      ...(logTypes.length > 0 ? { log_types: logTypes } : {}),
    },
    env,
  );
  if (!parsed.ok) {
    throw new InvalidDestination(
      input.name,
      parsed.issues.map((i) => `${i.path || "(config)"}: ${i.message}`).join("; "),
    );
  }
  assertDestinationEndpoint(parsed.config, env.outbound, input.name);
  return { name: input.name, type: input.type, minSeverity, logTypes, config };
}

type DestinationRuntime = Pick<Runtime, "store" | "secrets"> & { env: Env };

/** Refuses to change or remove, outside the config file, a destination the config file owns. */
export function assertNotConfigManaged(d: DestinationRecord, action: "change" | "remove"): void {
  if (d.managedBy === "config") {
    throw new VigilError(
      "conflict",
      `The destination ${JSON.stringify(d.name)} comes from the config file; ${action} it there, then restart Vigil.`,
    );
  }
}

/** Creates a destination after `validateDestination`; a name already taken is a `conflict`. */
export async function addDestination(
  runtime: DestinationRuntime,
  input: DestinationInput,
  options: { managedBy?: DestinationManager } = {},
): Promise<DestinationRecord> {
  const valid = validateDestination(input, runtime.env);
  if (await runtime.store.getDestination(valid.name)) {
    throw new VigilError("conflict", `A destination named ${JSON.stringify(valid.name)} already exists.`);
  }
  return await runtime.store.createDestination({
    name: valid.name,
    type: valid.type,
    minSeverity: valid.minSeverity,
    logTypes: valid.logTypes,
    config: runtime.secrets.encrypt(JSON.stringify(valid.config)),
    ...(options.managedBy === undefined ? {} : { managedBy: options.managedBy }),
  });
}

export interface DestinationChange {
  minSeverity?: string;
  logTypes?: string[];
  /** Fields to change; the others keep their stored values (secrets included). */
  config?: Record<string, unknown>;
}

/**
 * Secrets are write-only: the stored config is decrypted, the given fields are laid over it, and the whole is
 * validated again, so a change of one field does not resend the others. Pointing the destination elsewhere does
 * not carry the stored secrets over (destinations/endpoints.ts): they are needed again (`secret_required`).
 */
export async function updateDestination(
  runtime: DestinationRuntime,
  d: DestinationRecord,
  change: DestinationChange,
): Promise<DestinationRecord> {
  assertNotConfigManaged(d, "change");
  const stored = await runtime.store.getDestinationConfig(d.id);
  const previous = stored ? (JSON.parse(runtime.secrets.decrypt(stored)) as Record<string, unknown>) : {};
  // Fields the type does not have are refused in the change (validateDestination), not in what is stored: a config
  // stored before they were refused may hold some, which were never used, and are dropped here.
  const unused = new Set(unknownConfigFields(d.type, previous));
  const kept = Object.fromEntries(Object.entries(typeSpecific(previous)).filter(([k]) => !unused.has(k)));
  const moved = applyDestinationChange(d.type, kept, change.config ?? {});
  if (moved.missing.length > 0) {
    throw new ConfigurationError(
      "secret_required",
      `Changing where ${d.name} sends needs ${moved.missing.join(" and ")} again: a stored secret is only sent to the endpoint it was entered for.`,
    );
  }
  const valid = validateDestination(
    {
      name: d.name,
      type: d.type,
      minSeverity: change.minSeverity ?? d.minSeverity,
      logTypes: change.logTypes ?? d.logTypes,
      config: moved.config,
    },
    runtime.env,
  );
  return await runtime.store.updateDestination(d.id, {
    minSeverity: valid.minSeverity,
    logTypes: valid.logTypes,
    config: runtime.secrets.encrypt(JSON.stringify(valid.config)),
  });
}

/** Removes a destination (not one the config file owns); past deliveries keep their log. */
export async function removeDestination(runtime: Pick<Runtime, "store">, d: DestinationRecord): Promise<void> {
  assertNotConfigManaged(d, "remove");
  await runtime.store.removeDestination(d.id);
}

/**
 * Sends a destination's dead letters (deliveries given up) again, with a new retry window; returns how many. Those
 * a later notification of the same alert already reached stay dead (see Store.retryDeadDeliveries).
 */
export async function retryDeadLetters(
  runtime: Pick<Runtime, "store" | "clock">,
  d: DestinationRecord,
): Promise<number> {
  return runtime.store.retryDeadDeliveries({ destinationId: d.id }, runtime.clock.nowMs());
}

/** The destination's dead letters, newest first, each saying whether `retryDeadLetters` would send it again. */
/** How many dead letters one listing gives: by default, and at most (the CLI's --limit, the API's limit). */
export const DEAD_LETTER_LIMIT = { default: 100, max: 10_000 } as const;

export async function listDeadLetters(
  runtime: Pick<Runtime, "store">,
  d: DestinationRecord,
  limit: number,
): Promise<DeadLetter[]> {
  return runtime.store.listDeadDeliveries(d.id, limit);
}

/**
 * Sends a sample alert to the destination, built as the delivery worker builds it (same outbound policy and
 * export directory); the result says whether it arrived, and how long it took.
 */
export async function testDestination(
  runtime: Pick<Runtime, "store" | "secrets" | "env" | "clock">,
  d: DestinationRecord,
  options: { deliveryId: string; signal?: AbortSignal },
): Promise<DeliveryResult & { durationMs: number }> {
  const destination = await loadDestination(
    runtime.store,
    runtime.secrets,
    d,
    runtime.env.outbound,
    destinationBuilder(runtime.env),
  );
  const notification = sampleNotification({ nowMs: runtime.clock.nowMs(), consoleUrl: runtime.env.publicUrl });
  const started = performance.now();
  const result = await destination.send(notification, options.deliveryId, options.signal);
  return { ...result, durationMs: Math.round(performance.now() - started) };
}
