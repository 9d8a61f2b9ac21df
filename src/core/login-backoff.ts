// Exponential backoff for failed logins, per throttle key (a client address, an account).

export interface LoginBackoff {
  /** Failures before any wait. */
  freeFailures: number;
  /** The first wait; each failure after it doubles the wait. */
  baseMs: number;
  maxMs: number;
  /** A key with no failure for this long starts again from zero. */
  forgetAfterMs: number;
}

/** How long a key waits after its `failures`-th failure in a row. */
export function backoffMs(failures: number, policy: LoginBackoff): number {
  const over = failures - policy.freeFailures;
  if (over <= 0) return 0;
  // 2^30 already exceeds any sane maxMs; the cap keeps the power finite.
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(over - 1, 30));
}
