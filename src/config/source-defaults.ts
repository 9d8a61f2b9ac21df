// Polling constants that are not per-source settings. A source's settings, with their defaults and bounds,
// are one schema in core/source.ts.

/**
 * The source `vigil start` creates in demo mode, polling the built-in simulator that runs only inside that
 * process. It is removed once a real source exists (pipeline/runtime.ts retireDemoSource).
 */
export const DEMO_SOURCE_NAME = "Demo (simulated OpenAI organization)";

/**
 * The recent re-read, between the overlap and the sweep: every 5 minutes of the clock (the first poll of each
 * 5-minute slot), a poll reads the last 70 minutes, so an event visible up to 1 hour late is stored and
 * detected within 5 minutes of becoming visible (1 h of lateness + the 5 minutes it may wait + a poll
 * interval's margin). Not a per-source setting: it costs about one request per 5 minutes at up to ~2,000
 * events an hour (docs/ingest.md has the figures); a source's sweep window caps it (0 turns both off).
 */
export const RECENT_REREAD = { windowSecs: 70 * 60, intervalSecs: 300 } as const;
