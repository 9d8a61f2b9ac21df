// Signal (issue 11): alerts a day on the simulator's default organization (a week of routine activity, no
// scenario), and how many of the attack scenarios raise their alert at the expected severity.

import { SCENARIO_NAMES } from "../src/simulator/index.ts";
import {
  alertsFor,
  alertsPerDay,
  raisedAsExpected,
  SCENARIO_EXPECTATIONS,
  SIM_NOW,
  scenarioAlerts,
} from "../test/simulated-alerts.ts";

export interface SignalFigures {
  days: number;
  eventsPerDay: number;
  perDay: { all: number; mediumPlus: number; highPlus: number };
  recall: number;
  scenarios: number;
  /** Scenarios that did not raise their alert at the expected severity. */
  missed: string[];
}

export async function benchSignal(eventsPerDay: number, days = 7): Promise<SignalFigures> {
  const alerts = await alertsFor({ seed: 2026, history: { days, eventsPerDay, endSecs: SIM_NOW } }, days + 1);
  const missed: string[] = [];
  for (const name of SCENARIO_NAMES) {
    if (!raisedAsExpected(name, await scenarioAlerts(name))) {
      const want = SCENARIO_EXPECTATIONS[name];
      missed.push(`${name} (${want.ruleId} ${want.severity})`);
    }
  }
  return {
    days,
    eventsPerDay,
    perDay: alertsPerDay(alerts, days),
    recall: SCENARIO_NAMES.length - missed.length,
    scenarios: SCENARIO_NAMES.length,
    missed,
  };
}
