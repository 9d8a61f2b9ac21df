import { useCallback, useEffect, useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { errorMessage } from "./api.ts";
import { pretty, type Rec, str } from "./format.ts";

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

const PALETTE = [
  "#2563eb",
  "#16a34a",
  "#d97706",
  "#dc2626",
  "#7c3aed",
  "#0891b2",
  "#db2777",
  "#65a30d",
  "#ea580c",
  "#475569",
  "#0d9488",
  "#9333ea",
];

/** Rows of `{bucket, type, count}` (or already pivoted `{bucket, counts: {type: n}}`) as stacked bars. */
export function StackedEventsChart({ rows, height = 280 }: { rows: Rec[]; height?: number }) {
  const byBucket = new Map<string, Rec>();
  const types = new Set<string>();
  const starts = rows.map((r) => r.bucketStartSecs).filter((v): v is number => typeof v === "number");
  const daily = starts.length > 0 && starts.every((s) => s % 86_400 === 0);
  for (const r of rows) {
    const start = r.bucketStartSecs;
    const label =
      typeof start === "number"
        ? new Date(start * 1000)
            .toISOString()
            .slice(daily ? 0 : 5, daily ? 10 : 13)
            .replace("T", " ") + (daily ? "" : ":00")
        : str(r.bucket ?? r.day ?? r.date);
    const entry = byBucket.get(label) ?? { bucket: label, sort: typeof start === "number" ? start : label };
    const counts = r.counts && typeof r.counts === "object" ? (r.counts as Rec) : null;
    if (counts) {
      for (const [t, n] of Object.entries(counts)) {
        types.add(t);
        entry[t] = (Number(entry[t]) || 0) + (Number(n) || 0);
      }
    } else {
      const t = str(r.type ?? r.eventType ?? "events");
      types.add(t);
      entry[t] = (Number(entry[t]) || 0) + (Number(r.count ?? r.events ?? r.n) || 0);
    }
    byBucket.set(label, entry);
  }
  const data = [...byBucket.values()].sort((a, b) => str(a.sort).localeCompare(str(b.sort)));
  if (data.length === 0) return <p className="muted">No events in this period.</p>;
  const typeList = [...types].sort();
  return (
    <div className="chart" style={{ height }}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
          <XAxis dataKey="bucket" tick={{ fontSize: 11 }} />
          <YAxis allowDecimals={false} tick={{ fontSize: 11 }} />
          <Tooltip />
          {typeList.length <= 12 ? <Legend wrapperStyle={{ fontSize: 11 }} /> : null}
          {typeList.map((t, i) => (
            <Bar key={t} dataKey={t} stackId="events" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
