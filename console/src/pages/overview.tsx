import { Link } from "react-router-dom";
import { api, listOf } from "../api.ts";
import { StackedEventsChart } from "../chart.tsx";
import { AdminOnly, ErrorBanner, HealthBadge, Loading, SeverityBadge, useLoad, usePageTitle } from "../components.tsx";
import { fmtTime, healthOf, pick, type Rec, SEVERITIES, str, text } from "../format.ts";
import { Table } from "../table.tsx";

/** `{HIGH: 2}` or `[{severity: "HIGH", count: 2}]` → counts by severity. */
function severityCounts(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (Array.isArray(v)) {
    for (const r of v as Rec[]) out[str(r.severity).toUpperCase()] = Number(r.count ?? r.n ?? 0) || 0;
  } else if (v && typeof v === "object") {
    for (const [k, n] of Object.entries(v as Rec)) out[k.toUpperCase()] = Number(n) || 0;
  }
  return out;
}

export function OverviewPage() {
  usePageTitle("Overview");
  const { data, error, loading } = useLoad(() => api.get<Rec>("/api/overview"), []);
  const days = listOf<Rec>(pick(data, "eventsPerDay", "eventsByDay", "events", "days") ?? []);
  const open = severityCounts(pick(data, "openAlertsBySeverity", "openAlerts", "alertsBySeverity"));
  const sources = listOf<Rec>(pick(data, "sources") ?? []);
  const history = (pick(data, "historyAlerts") ?? {}) as Rec;
  const historyTotal = Number(history.total ?? 0) || 0;
  return (
    <>
      <header className="page-head">
        <h1>Overview</h1>
      </header>
      <ErrorBanner message={error} />
      <Loading when={loading && !data} />
      <section className="grid-4" aria-label="Open alerts by severity">
        {SEVERITIES.map((s) => (
          <Link key={s} to={`/alerts?status=UNRESOLVED&severity=${s}`} className={`stat stat-${s.toLowerCase()}`}>
            <span className="stat-value">{open[s] ?? 0}</span>
            <span className="stat-label">
              <SeverityBadge severity={s} /> open
            </span>
          </Link>
        ))}
      </section>
      {historyTotal > 0 ? (
        <p className="muted">
          {historyTotal} alert(s) were raised from history (a source's backfill), {Number(history.open ?? 0) || 0} of
          them open. They are not sent to destinations unless a destination asks for history.{" "}
          <Link to="/alerts?history=true">Review them</Link>.
        </p>
      ) : null}
      <section className="card">
        <h2>Events per day by type (last 14 days)</h2>
        <StackedEventsChart rows={days} bucketSecs={86_400} />
      </section>
      <section className="card">
        <h2>Source health</h2>
        <Table
          rows={sources}
          rowKey={(s) => str(s.id)}
          empty={
            <>
              No log sources yet.{" "}
              <AdminOnly fallback="An admin can add one.">
                <Link to="/sources/new">Create one</Link>.
              </AdminOnly>
            </>
          }
          columns={[
            {
              header: "Source",
              cell: (s) => <Link to={`/sources/${encodeURIComponent(text(s.id))}`}>{str(s.name)}</Link>,
            },
            { header: "Health", cell: (s) => <HealthBadge health={healthOf(s)} /> },
            {
              header: "Last success",
              cell: (s) => fmtTime(pick(s, "pollStatus", "poll") ?? s, ["lastSuccessMs"], ["lastSuccessSecs"]),
            },
            {
              header: "Last error",
              className: "wrap",
              cell: (s) => str(pick(pick(s, "pollStatus", "poll") ?? s, "lastError")) || "—",
            },
          ]}
        />
      </section>
    </>
  );
}
