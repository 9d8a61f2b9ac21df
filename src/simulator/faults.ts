// Fault injection. Transport faults (429, 5xx, slow, hang, reset, truncated body) are drawn per request from
// their own seeded stream, so turning them on never changes the generated events. Data faults (unknown types,
// malformed records, late events) are applied to activity as it is generated (see anomalies.ts, org.ts).

import { Rng } from "./prng.ts";

export interface FaultConfig {
  /** 429 with a Retry-After header and OpenAI's rate-limit error body. */
  rateLimitProbability: number;
  /** Retry-After in seconds, or "http-date" for an HTTP date that far ahead of the simulator's clock (2 s). */
  retryAfter: number | "http-date";
  /** 500 / 502 / 503 with error bodies, in that mix (2:1:1). */
  serverErrorProbability: number;
  /** Delayed by `slowMs` but complete. */
  slowProbability: number;
  slowMs: number;
  /** No answer at all: the client must time out. close() still finishes. */
  hangProbability: number;
  /** Headers and half of the body, then a TCP reset. */
  resetProbability: number;
  /** Status 200 and a well-formed HTTP message whose JSON body stops in the middle. */
  truncateProbability: number;
  /** Generated events re-typed as plausible new types (`project.transferred`, `tenant.vault.rotated`, …). */
  unknownTypeProbability: number;
  /** Generated records missing id / type / effective_at, or with wrong types. */
  malformedRecordProbability: number;
  /** Generated events that become visible only `lateDelaySecs` after their effective_at. */
  lateEventProbability: number;
  lateDelaySecs: number;
}

export const DEFAULT_FAULTS: Readonly<FaultConfig> = Object.freeze({
  rateLimitProbability: 0,
  retryAfter: 1,
  serverErrorProbability: 0,
  slowProbability: 0,
  slowMs: 2000,
  hangProbability: 0,
  resetProbability: 0,
  truncateProbability: 0,
  unknownTypeProbability: 0,
  malformedRecordProbability: 0,
  lateEventProbability: 0,
  lateDelaySecs: 300,
});

export const FAULT_NAMES = Object.keys(DEFAULT_FAULTS) as Array<keyof FaultConfig>;

/** Defaults for what is not given; throws RangeError on a probability outside 0..1 or a negative duration. */
export function resolveFaults(partial: Partial<FaultConfig> = {}): FaultConfig {
  const config: FaultConfig = { ...DEFAULT_FAULTS };
  for (const [name, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    if (!(name in DEFAULT_FAULTS)) throw new RangeError(`Unknown fault "${name}". Known: ${FAULT_NAMES.join(", ")}.`);
    (config as unknown as Record<string, unknown>)[name] = value;
  }
  for (const name of FAULT_NAMES) {
    const value = config[name];
    if (name === "retryAfter") {
      if (value !== "http-date" && !(typeof value === "number" && Number.isInteger(value) && value >= 0)) {
        throw new RangeError(
          `Fault retryAfter must be a whole number of seconds or "http-date", not ${String(value)}.`,
        );
      }
    } else if (name.endsWith("Probability")) {
      if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
        throw new RangeError(`Fault ${name} must be a probability between 0 and 1, not ${String(value)}.`);
      }
    } else if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`Fault ${name} must be a non-negative number, not ${String(value)}.`);
    }
  }
  return config;
}

/**
 * Parses `name=value` (the CLI's `--fault`). Names may be camelCase or kebab-case, with or without the
 * `Probability` suffix: `rate-limit=0.1`, `retryAfter=http-date`, `hang-probability=0.05`, `slow-ms=1500`.
 */
export function parseFaultAssignment(text: string): Partial<FaultConfig> {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new RangeError(`Expected name=value for a fault, got "${text}".`);
  const given = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1).trim();
  const wanted = given.replace(/[-_]/g, "").toLowerCase();
  const name = FAULT_NAMES.find((n) => n.toLowerCase() === wanted || n.toLowerCase() === `${wanted}probability`);
  if (!name) throw new RangeError(`Unknown fault "${given}". Known: ${FAULT_NAMES.join(", ")}.`);
  if (name === "retryAfter" && raw === "http-date") return { retryAfter: "http-date" };
  const value = Number(raw);
  if (raw === "" || !Number.isFinite(value)) throw new RangeError(`Fault ${name} needs a number, got "${raw}".`);
  const partial: Partial<FaultConfig> = { [name]: value };
  resolveFaults(partial); // validates the value
  return partial;
}

export type TransportFault = "rateLimit" | "serverError" | "hang" | "reset" | "truncate" | "slow";

/** Draws at most one transport fault per request; exactly one draw each time, so the sequence is reproducible. */
export class FaultPicker {
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed, "faults");
  }

  pick(config: FaultConfig): TransportFault | undefined {
    const u = this.rng.next();
    let edge = 0;
    const order: Array<[TransportFault, number]> = [
      ["rateLimit", config.rateLimitProbability],
      ["serverError", config.serverErrorProbability],
      ["hang", config.hangProbability],
      ["reset", config.resetProbability],
      ["truncate", config.truncateProbability],
      ["slow", config.slowProbability],
    ];
    for (const [fault, probability] of order) {
      edge += probability;
      if (u < edge) return fault;
    }
    return undefined;
  }

  serverErrorStatus(): 500 | 502 | 503 {
    const u = this.rng.next();
    return u < 0.5 ? 500 : u < 0.75 ? 502 : 503;
  }
}
