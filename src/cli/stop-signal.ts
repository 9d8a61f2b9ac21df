// SIGINT/SIGTERM become an AbortSignal: in-flight requests stop, the current page transaction either
// committed or never started, and the command returns normally so everything is closed cleanly.

import { setMaxListeners } from "node:events";

/**
 * Every walk in flight (each source's live poll, sweep and backfill slices, snapshots) listens to the one stop
 * signal and lets go when it ends; a busy process has hundreds at once, far past Node's leak warning at 10.
 */
const MAX_STOP_LISTENERS = 5_000;

export async function withStopSignal<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  setMaxListeners(MAX_STOP_LISTENERS, controller.signal);
  const stop = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130); // a second signal: stop now
    process.stderr.write(`\nReceived ${sig}; stopping after the current step…\n`);
    controller.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    return await fn(controller.signal);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
