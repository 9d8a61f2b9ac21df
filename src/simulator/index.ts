// The built-in simulator of OpenAI's `GET /v1/organization/audit_logs`: a realistic org (history, live
// activity, attack scenarios) behind an HTTP server that answers like the real API and can misbehave on purpose.
//
//   const sim = await startSimulator({ seed: 7, history: { days: 7, eventsPerDay: 500 },
//                                      scenarios: [{ name: "credential-stuffing" }] });
//   fetch(`${sim.baseUrl}/organization/audit_logs?limit=100`, { headers: { authorization: `Bearer ${sim.adminKey}` } });
//   sim.setFaults({ rateLimitProbability: 0.2, retryAfter: 1 });
//   await sim.close();

export { UNKNOWN_EVENT_TYPES } from "./anomalies.ts";
export type { OrgDirectory, SimProject, SimServiceAccount, SimUser } from "./directory.ts";
export { DEFAULT_FAULTS, FAULT_NAMES, parseFaultAssignment, resolveFaults } from "./faults.ts";
export { createSimulatedOrg, DEFAULT_SEED, DEFAULT_TENANT_SHARE, SimOrg } from "./org.ts";
export { isScenarioName, SCENARIO_LIST, SCENARIO_NAMES } from "./scenarios.ts";
export { AUDIT_LOGS_PATH, DEFAULT_ADMIN_KEY, DEFAULT_NO_SCOPE_KEY, startSimulator } from "./server.ts";
export type {
  FaultConfig,
  RunningSimulator,
  ScenarioName,
  SimulatedOrg,
  SimulatorOptions,
  SimulatorStats,
  VisibleScope,
} from "./types.ts";
