import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { api, errorMessage, listOf } from "./api.ts";
import { pretty, type Rec, str } from "./format.ts";
import { attackOf, tacticName, techniqueName } from "./mitre.ts";

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

export interface Action {
  /** True while an action runs. */
  busy: boolean;
  /** What the running action was called with (`run`'s tag), to mark the one button busy among many. */
  busyTag: string | null;
  /** The last failed action's error (the API's message), until the next action starts. */
  error: string | null;
  setError: (message: string | null) => void;
  /** Runs `fn`: clears the error, is busy meanwhile; resolves true if it succeeded, false if it failed. */
  run: (fn: () => Promise<unknown>, tag?: string) => Promise<boolean>;
}

/** A form's or a button's action: one way to be busy and to show why it failed. */
export function useAction(): Action {
  const [busyTag, setBusyTag] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (fn: () => Promise<unknown>, tag = "") => {
    setBusyTag(tag);
    setError(null);
    try {
      await fn();
      return true;
    } catch (e) {
      setError(errorMessage(e));
      return false;
    } finally {
      setBusyTag(null);
    }
  }, []);
  return { busy: busyTag !== null, busyTag, error, setError, run };
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

/** Names the browser tab after the page ("Alerts · Vigil"), so tabs and a screen reader can tell pages apart. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Vigil` : "Vigil";
  }, [title]);
}

/**
 * Whether the signed-in user is an admin. Changes to sources, destinations, packs and rules are an admin's (the
 * server refuses them to analysts): analysts are not offered them, and are told who can.
 */
export const AdminContext = createContext(false);

export function useIsAdmin(): boolean {
  return useContext(AdminContext);
}

/** `children` for an admin; for an analyst, `fallback` (default: nothing). */
export function AdminOnly({ children, fallback = null }: { children: ReactNode; fallback?: ReactNode }) {
  return <>{useIsAdmin() ? children : fallback}</>;
}

/** What an analyst sees where an admin would change something. */
export function AdminOnlyNote({ what }: { what: string }) {
  return <p className="muted">Only an admin can {what}.</p>;
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
  if (!useIsAdmin()) return null;
  return (
    <button type="button" disabled={busy} aria-label={`${verb} ${what}`} onClick={() => onToggle(!enabled)}>
      {verb}
    </button>
  );
}

/** Content one click away: a button that says what it shows, and the content below it once opened. */
export function Disclosure({ label, children }: { label: string; children: ReactNode }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="disclosure">
      <button type="button" className="link-button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? "▾" : "▸"} {label}
      </button>
      {open ? children : null}
    </div>
  );
}

/** Source ids to names (`/api/sources`), for pages that hold a source id; an unknown id maps to nothing. */
export function useSourceNames(): Map<string, string> {
  const sources = useLoad(() => api.get<unknown>("/api/sources").then((d) => listOf<Rec>(d, "sources")), []);
  return new Map((sources.data ?? []).map((s) => [str(s.id), str(s.name)]));
}

/** A source by its name, linked to its page; its id only until the names have loaded (or if it is gone). */
export function SourceName({ id, names }: { id: string; names: Map<string, string> }) {
  if (!id) return <>—</>;
  const name = names.get(id);
  return name ? (
    <Link to={`/sources/${encodeURIComponent(id)}`}>{name}</Link>
  ) : (
    <span className="mono" title="Source id">
      {id}
    </span>
  );
}

const TECHNIQUE_ID = /^T\d{4}(\.\d{3})?$/;

/** A rule's or alert's ATT&CK tactics and techniques as tags (named when the id is a common one). */
export function AttackTags({ reports }: { reports: unknown }) {
  const entries = attackOf(reports);
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="attack-tags" aria-label="MITRE ATT&CK">
      {entries.map((a) => {
        const technique = a.technique ? techniqueName(a.technique) : undefined;
        const href = TECHNIQUE_ID.test(a.technique)
          ? `https://attack.mitre.org/techniques/${a.technique.replace(".", "/")}/`
          : undefined;
        return (
          <li key={`${a.tactic}:${a.technique}`} className="attack-tag" title={technique ?? a.technique}>
            <span className="attack-tactic">
              {a.tactic} {tacticName(a.tactic) !== a.tactic ? tacticName(a.tactic) : ""}
            </span>
            {a.technique ? (
              <span className="attack-technique mono">
                {href ? (
                  <a href={href} target="_blank" rel="noreferrer noopener">
                    {a.technique}
                  </a>
                ) : (
                  a.technique
                )}
                {technique ? ` ${technique}` : ""}
              </span>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}
