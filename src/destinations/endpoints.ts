// Which fields of a destination's config say where it sends (its endpoint), and which hold secrets. A stored
// secret is only ever sent to the endpoint it was entered for: a change of endpoint does not carry the stored
// secrets over; whoever points the destination elsewhere gives them again (docs/security.md, finding 1).

import { ConfigurationError } from "../core/errors.ts";
import { hostProblem, type OutboundPolicy, outboundUrlProblem } from "../core/outbound.ts";
import type { DestinationType } from "./types.ts";

interface Binding {
  /** Fields that decide where (and how safely) the secrets travel. */
  endpoint: readonly string[];
  /** Fields that hold secrets. A destination whose endpoint is itself the secret (Slack) has none apart. */
  secrets: readonly string[];
}

export const DESTINATION_BINDINGS: Record<DestinationType, Binding> = {
  slack: { endpoint: ["webhook_url"], secrets: [] },
  webhook: { endpoint: ["url"], secrets: ["secret", "headers"] },
  pagerduty: { endpoint: ["base_url"], secrets: ["routing_key"] },
  // Turning TLS off, or its certificate check, exposes the password as much as another host does.
  email: {
    endpoint: ["host", "port", "secure", "require_tls", "tls_reject_unauthorized", "allow_plaintext"],
    secrets: ["auth"],
  },
  file: { endpoint: ["path"], secrets: [] },
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The config after a change: `changes` laid over `previous` (the stored config, secrets included). When the
 * change moves the endpoint, the stored secrets are not carried over: each one the previous config had must be
 * given again in `changes`, else the result names them in `missing` and nothing should be saved.
 */
export function applyDestinationChange(
  type: string,
  previous: Record<string, unknown>,
  changes: Record<string, unknown>,
): { config: Record<string, unknown>; missing: string[] } {
  const binding = (DESTINATION_BINDINGS as Record<string, Binding | undefined>)[type];
  if (binding === undefined) throw new Error(`unknown destination type ${type}`);
  const moved = binding.endpoint.some((f) => f in changes && !same(changes[f], previous[f]));
  const missing = moved ? binding.secrets.filter((f) => previous[f] !== undefined && !(f in changes)) : [];
  return { config: { ...previous, ...changes }, missing };
}

/** Why this destination may not send under the outbound policy (https only, allowed hosts); null when it may. */
export function destinationEndpointProblem(config: Record<string, unknown>, policy: OutboundPolicy): string | null {
  for (const field of ["webhook_url", "url", "base_url"]) {
    const value = config[field];
    if (typeof value === "string") {
      const problem = outboundUrlProblem(value, policy);
      if (problem) return `${field}: ${problem}`;
    }
  }
  if (config.type === "email" && typeof config.host === "string") {
    const problem = hostProblem(config.host, policy);
    if (problem) return `host: ${problem}`;
  }
  return null;
}

/** Throws `outbound_refused`, naming the destination and the field, when it may not send under the policy. */
export function assertDestinationEndpoint(config: Record<string, unknown>, policy: OutboundPolicy, name: string): void {
  const problem = destinationEndpointProblem(config, policy);
  if (problem) throw new ConfigurationError("outbound_refused", `Destination ${name} is refused: ${problem}`);
}
