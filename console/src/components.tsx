import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "./api.ts";
import { pretty, str } from "./format.ts";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Loads once (and again on reload or when deps change). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: deps are the caller's
  useEffect(() => {
    let live = true;
    setLoading(true);
    load()
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (live) setError(errorMessage(e));
      })
      .finally(() => {
        if (live) setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

export function ErrorBanner({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <div className="banner banner-error" role="alert">
      {message}
    </div>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? <p className="muted">Loading…</p> : null;
}

export function SeverityBadge({ severity }: { severity: unknown }) {
  const s = str(severity).toUpperCase() || "INFO";
  return <span className={`badge sev-${s.toLowerCase()}`}>{s}</span>;
}

export function StatusBadge({ status }: { status: unknown }) {
  const s = str(status).toUpperCase();
  return <span className={`badge status-${s.toLowerCase()}`}>{s || "—"}</span>;
}

export function HealthBadge({ health }: { health: unknown }) {
  const h = str(health).toLowerCase() || "unknown";
  return <span className={`badge health-${h}`}>{h}</span>;
}

export function JsonBlock({ value, label }: { value: unknown; label?: string }) {
  return (
    <figure className="json-figure" aria-label={label}>
      <pre className="json">{pretty(value)}</pre>
    </figure>
  );
}

/** "enabled" / "disabled", for a pack or a rule. */
export function EnabledBadge({ enabled }: { enabled: boolean }) {
  return <span className={`badge ${enabled ? "on" : "off"}`}>{enabled ? "enabled" : "disabled"}</span>;
}

/** The button that turns a pack or rule the other way; `what` names it for screen readers ("pack X"). */
export function EnableToggle({
  enabled,
  what,
  busy = false,
  onToggle,
}: {
  enabled: boolean;
  what: string;
  busy?: boolean;
  onToggle: (enable: boolean) => void;
}) {
  const verb = enabled ? "Disable" : "Enable";
  return (
    <button type="button" disabled={busy} aria-label={`${verb} ${what}`} onClick={() => onToggle(!enabled)}>
      {verb}
    </button>
  );
}
