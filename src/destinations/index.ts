// Public API of the destinations module.

export {
  applyDestinationChange,
  assertDestinationEndpoint,
  DESTINATION_BINDINGS,
  destinationEndpointProblem,
} from "./endpoints.ts";
export {
  configFields,
  createDestination,
  type DestinationConfig,
  DestinationConfigError,
  destinationConfigSchema,
  parseDestinationConfig,
  unknownConfigFields,
} from "./factory.ts";
export { redactUrl } from "./redaction.ts";
export {
  defaultRoute,
  explainRoute,
  MAX_ROUTED_DESTINATIONS,
  type RoutableAlert,
  type RouteDecision,
  routeAlert,
} from "./routing.ts";
export { sampleNotification } from "./sample.ts";
export type {
  ActorSummary,
  AlertNotification,
  DeliveryResult,
  Destination,
  DestinationEnv,
  DestinationType,
  NotificationKind,
} from "./types.ts";
export { DEFAULT_MIN_SEVERITY, DESTINATION_TYPES, defaultMinSeverity } from "./types.ts";
export { signWebhookBody, verifyWebhookSignature } from "./webhook/webhook.ts";
