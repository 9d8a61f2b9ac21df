// Late-event re-reads (issue 11, item 5): API requests a day of each polling setting, counted on the
// simulated organization's timeline (the default, routine org) rather than over HTTP, so a day at any volume
// takes milliseconds. One request per page of 100; a window with no event still costs one request. The main
// stream only (a source with tenant events polls a second, much smaller stream the same way).

import { RECENT_REREAD } from "../src/config/source-defaults.ts";
import { SOURCE_DEFAULTS } from "../src/core/source.ts";
import { createSimulatedOrg } from "../src/simulator/index.ts";

const DAY = 86_400;
const PAGE = 100;

export interface RereadSetting {
  name: string;
  overlapSecs: number;
  recent: { windowSecs: number; intervalSecs: number } | null;
  sweep: { windowSecs: number; intervalSecs: number } | null;
}

export const REREAD_SETTINGS: readonly RereadSetting[] = [
  { name: "plain polling (no re-read)", overlapSecs: 0, recent: null, sweep: null },
  {
    name: "before issue 11 (overlap 600 s, 24 h sweep hourly)",
    overlapSecs: 600,
    recent: null,
    sweep: { windowSecs: 24 * 3600, intervalSecs: 3600 },
  },
  {
    name: "defaults (overlap 120 s, 70 min every 5 min, 25 h sweep hourly)",
    overlapSecs: SOURCE_DEFAULTS.overlapSecs,
    recent: RECENT_REREAD,
    sweep: { windowSecs: SOURCE_DEFAULTS.sweepWindowSecs, intervalSecs: SOURCE_DEFAULTS.sweepIntervalSecs },
  },
  {
    name: "defaults with a 25 h sweep every 2 h",
    overlapSecs: SOURCE_DEFAULTS.overlapSecs,
    recent: RECENT_REREAD,
    sweep: { windowSecs: SOURCE_DEFAULTS.sweepWindowSecs, intervalSecs: 2 * 3600 },
  },
];

/** Requests a day of one poll a minute under `setting`, over the last simulated day of `eventsPerDay`. */
export function requestsPerDay(eventsPerDay: number, setting: RereadSetting, pollSecs = 60): number {
  const end = 1_795_000_000 - (1_795_000_000 % DAY);
  const org = createSimulatedOrg({ seed: 7, tenantShare: 0, history: { days: 3, eventsPerDay, endSecs: end } });
  const times = org
    .allEvents()
    .map((e) => e.effective_at)
    .sort((a, b) => a - b);
  const below = (t: number) => {
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((times[mid] as number) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const pages = (from: number, to: number) => Math.max(1, Math.ceil((below(to + 1) - below(from)) / PAGE));
  let requests = 0;
  let checkpoint = end - DAY;
  let lastSweep = checkpoint;
  for (let now = end - DAY + pollSecs; now <= end; now += pollSecs) {
    let start = checkpoint - setting.overlapSecs;
    const slot = (s: number, r: { intervalSecs: number }) => Math.floor(s / r.intervalSecs);
    if (setting.recent && slot(now, setting.recent) > slot(checkpoint, setting.recent)) {
      start = Math.min(start, now - setting.recent.windowSecs);
    }
    if (setting.sweep && now - lastSweep >= setting.sweep.intervalSecs) {
      start = Math.min(start, now - setting.sweep.windowSecs);
      lastSweep = now;
    }
    requests += pages(start, now);
    checkpoint = now;
  }
  return requests;
}
