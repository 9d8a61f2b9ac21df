// The events-over-time chart, apart from components.tsx so that recharts (most of the console's JavaScript)
// loads with the pages that draw it, not with the login page.

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { type Rec, str } from "./format.ts";

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

/** The folded rare types: grey, so they read as the rest rather than as one more type. */
const OTHER_COLOR = "#9ca3af";

/**
 * The types to draw, busiest first: with more types than colours, the rarest are summed into one "N other types" series in each
 * bucket (in place), so every series keeps a colour of its own and the legend stays readable.
 */
function foldRareTypes(data: Rec[], types: Set<string>): { shown: string[]; other: string | null } {
  const totals = new Map<string, number>();
  for (const entry of data) for (const t of types) totals.set(t, (totals.get(t) ?? 0) + (Number(entry[t]) || 0));
  const ranked = [...types].sort((a, b) => (totals.get(b) ?? 0) - (totals.get(a) ?? 0) || a.localeCompare(b));
  if (ranked.length <= PALETTE.length) return { shown: ranked, other: null };
  const kept = ranked.slice(0, PALETTE.length - 1);
  const rare = ranked.slice(PALETTE.length - 1);
  const other = `${rare.length} other types`;
  for (const entry of data) {
    entry[other] = rare.reduce((sum, t) => sum + (Number(entry[t]) || 0), 0);
    for (const t of rare) delete entry[t];
  }
  return { shown: [...kept, other], other };
}

/**
 * Rows of `{bucket, type, count}` (or already pivoted `{bucket, counts: {type: n}}`) as stacked bars, times in UTC.
 * With `bucketSecs` (the API's bucket size), buckets without events between the first and the last are drawn
 * empty: a quiet hour is a gap on the axis, not a bar the next busy hour closes up on.
 */
export function StackedEventsChart({
  rows,
  height = 280,
  bucketSecs,
}: {
  rows: Rec[];
  height?: number;
  bucketSecs?: number;
}) {
  const byBucket = new Map<string, Rec>();
  const types = new Set<string>();
  const starts = rows.map((r) => r.bucketStartSecs).filter((v): v is number => typeof v === "number");
  const daily =
    bucketSecs !== undefined ? bucketSecs % 86_400 === 0 : starts.length > 0 && starts.every((s) => s % 86_400 === 0);
  const labelOf = (start: number) =>
    new Date(start * 1000)
      .toISOString()
      .slice(daily ? 0 : 5, daily ? 10 : 13)
      .replace("T", " ") + (daily ? "" : ":00");
  if (bucketSecs !== undefined && bucketSecs > 0 && starts.length > 0) {
    const last = Math.max(...starts);
    // At most a few thousand buckets: the API's ranges are days of hours, or months of days.
    for (let start = Math.min(...starts); start <= last && byBucket.size < 5_000; start += bucketSecs)
      byBucket.set(labelOf(start), { bucket: labelOf(start), sort: start });
  }
  for (const r of rows) {
    const start = r.bucketStartSecs;
    const label = typeof start === "number" ? labelOf(start) : str(r.bucket ?? r.day ?? r.date);
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
  const data = [...byBucket.values()].sort((a, b) =>
    typeof a.sort === "number" && typeof b.sort === "number" ? a.sort - b.sort : str(a.sort).localeCompare(str(b.sort)),
  );
  if (data.length === 0) return <p className="muted">No events in this period.</p>;
  const { shown, other } = foldRareTypes(data, types);
  return (
    <div className="chart" style={{ height }}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
          <XAxis
            dataKey="bucket"
            tick={{ fontSize: 11 }}
            label={{ value: "UTC", position: "insideBottomRight", offset: -4, fontSize: 11 }}
          />
          <YAxis allowDecimals={false} tick={{ fontSize: 11 }} />
          <Tooltip />
          {/* In the bars' order (busiest first), not recharts' default alphabetical one. */}
          <Legend wrapperStyle={{ fontSize: 11 }} itemSorter={null} />
          {shown.map((t, i) => (
            <Bar
              key={t}
              dataKey={t}
              stackId="events"
              fill={t === other ? OTHER_COLOR : PALETTE[i % PALETTE.length]}
              isAnimationActive={false}
            />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
