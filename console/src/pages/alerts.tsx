import { type FormEvent, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { api, errorMessage, listOf, objectOf } from "../api.ts";
import {
  AttackTags,
  ErrorBanner,
  JsonBlock,
  Loading,
  SeverityBadge,
  SourceName,
  StatusBadge,
  useLoad,
  useSourceNames,
} from "../components.tsx";
import { EventFields, EventHeading } from "../event-fields.tsx";
import { fmtTime, pick, type Rec, SEVERITIES, STATUSES, str } from "../format.ts";
import { SuppressControl } from "./suppressions.tsx";

export function AlertsPage() {
  const [params, setParams] = useSearchParams();
  const filters = {
    status: params.get("status") ?? "",
    severity: params.get("severity") ?? "",
    rule: params.get("rule") ?? "",
    source: params.get("source") ?? "",
    history: params.get("history") ?? "",
  };
  const [rule, setRule] = useState(filters.rule);
  const sources = useLoad(() => api.get<unknown>("/api/sources").then((d) => listOf<Rec>(d, "sources")), []);
  const alerts = useLoad(
    () => api.get<unknown>("/api/alerts", { ...filters, limit: 200 }).then((d) => listOf<Rec>(d, "alerts")),
    [params.toString()],
  );

  function setFilter(name: string, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next);
  }

  function submitRule(e: FormEvent) {
    e.preventDefault();
    setFilter("rule", rule.trim());
  }

  const sourceNames = new Map((sources.data ?? []).map((s) => [str(s.id), str(s.name)]));

  return (
    <>
      <header className="page-head">
        <h1>Alerts</h1>
      </header>
      <form className="filters" onSubmit={submitRule} aria-label="Alert filters">
        <label>
          Severity
          <select value={filters.severity} onChange={(e) => setFilter("severity", e.target.value)}>
            <option value="">All</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={filters.status} onChange={(e) => setFilter("status", e.target.value)}>
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Rule
          <input value={rule} placeholder="Rule ID" onChange={(e) => setRule(e.target.value)} />
        </label>
        <label>
          Source
          <select value={filters.source} onChange={(e) => setFilter("source", e.target.value)}>
            <option value="">All</option>
            {(sources.data ?? []).map((s) => (
              <option key={str(s.id)} value={str(s.id)}>
                {str(s.name)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Raised
          <select value={filters.history} onChange={(e) => setFilter("history", e.target.value)}>
            <option value="">Live and from history</option>
            <option value="false">Live only</option>
            <option value="true">From history (backfill) only</option>
          </select>
        </label>
        <button type="submit">Apply</button>
      </form>
      <ErrorBanner message={alerts.error} />
      <Loading when={alerts.loading && !alerts.data} />
      {alerts.data && alerts.data.length === 0 ? <p className="muted">No alerts match these filters.</p> : null}
      {alerts.data && alerts.data.length > 0 ? (
        <table aria-label="Alerts" className="alerts-table">
          <thead>
            <tr>
              <th>Severity</th>
              <th>Title</th>
              <th>Status</th>
              <th className="col-minor">Rule</th>
              <th className="col-minor">Source</th>
              <th className="col-minor">Events</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {alerts.data.map((a) => (
              <tr key={str(a.id)}>
                <td>
                  <SeverityBadge severity={a.severity} />
                </td>
                <td className="wrap">
                  <Link to={`/alerts/${encodeURIComponent(str(a.id))}`}>{str(a.title) || str(a.id)}</Link>
                </td>
                <td>
                  <StatusBadge status={a.status} />
                  {a.fromHistory === true ? (
                    <span className="badge" title="Raised from history (a backfill): not sent to destinations">
                      history
                    </span>
                  ) : null}
                </td>
                <td className="mono wrap col-minor">{str(a.ruleId)}</td>
                <td className="wrap col-minor">
                  <SourceName id={str(a.sourceId)} names={sourceNames} />
                </td>
                <td className="col-minor">{str(a.matchCount)}</td>
                <td className="created">{fmtTime(a, ["createdAtMs"], ["createdAtSecs"])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

// The lifecycle: OPEN → ACKNOWLEDGED → RESOLVED (Close ends an alert without a resolve notification).
const ACTIONS: Array<{ status: string; label: string }> = [
  { status: "ACKNOWLEDGED", label: "Acknowledge" },
  { status: "RESOLVED", label: "Resolve" },
  { status: "CLOSED", label: "Close" },
  { status: "OPEN", label: "Reopen" },
];

export function AlertDetailPage() {
  const { id = "" } = useParams();
  const loaded = useLoad(() => api.get<unknown>(`/api/alerts/${encodeURIComponent(id)}`), [id]);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const alert = objectOf<Rec>(loaded.data, "alert");
  const root = (loaded.data ?? {}) as Rec;
  const matches = listOf<Rec>(pick(root, "matches") ?? pick(alert, "matches") ?? []);
  const events = listOf<Rec>(pick(root, "events") ?? pick(alert, "events") ?? []);
  const changes = listOf<Rec>(pick(root, "statusChanges", "history") ?? pick(alert, "statusChanges", "history") ?? []);
  const deliveries = listOf<Rec>(
    pick(root, "deliveries", "deliveryLog", "delivery") ?? pick(alert, "deliveries", "deliveryLog") ?? [],
  );
  const runbook = pick(root, "runbook") ?? pick(alert, "runbook");
  const reports = pick(root, "reports") ?? pick(alert, "reports");
  const sourceNames = useSourceNames();
  const status = str(alert?.status).toUpperCase();

  async function setStatus(next: string) {
    setBusy(true);
    setActionError(null);
    try {
      await api.post(`/api/alerts/${encodeURIComponent(id)}/status`, { status: next });
      loaded.reload();
    } catch (e) {
      setActionError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  // Matched events: the events themselves when given, else the match records.
  const matchedEvents =
    events.length > 0
      ? events
      : matches.map((m) => (m.event && typeof m.event === "object" ? m.event : (m.match ?? m)) as Rec);

  return (
    <>
      <p>
        <Link to="/alerts">← Alerts</Link>
      </p>
      <ErrorBanner message={loaded.error} />
      <Loading when={loaded.loading && !loaded.data} />
      {alert ? (
        <>
          <header className="page-head">
            <h1 className="wrap">{str(alert.title)}</h1>
            <div className="head-badges">
              <SeverityBadge severity={alert.severity} />
              <StatusBadge status={alert.status} />
            </div>
          </header>
          <section className="card">
            <div className="actions">
              {ACTIONS.filter((a) => a.status !== status).map((a) => (
                <button key={a.status} type="button" disabled={busy} onClick={() => setStatus(a.status)}>
                  {a.label}
                </button>
              ))}
            </div>
            <ErrorBanner message={actionError} />
            <SuppressControl alert={alert} events={matchedEvents} />
            <dl className="facts">
              <dt>Rule</dt>
              <dd className="mono">{str(alert.ruleId)}</dd>
              <dt>Pack</dt>
              <dd>{str(alert.packId) || "—"}</dd>
              <dt>Source</dt>
              <dd>
                <SourceName id={str(alert.sourceId)} names={sourceNames} />
              </dd>
              <dt>MITRE ATT&amp;CK</dt>
              <dd>
                <AttackTags reports={reports} />
              </dd>
              <dt>Events</dt>
              <dd>{str(alert.matchCount)}</dd>
              <dt>Window</dt>
              <dd>
                {fmtTime(alert, [], ["windowStartSecs"])} → {fmtTime(alert, [], ["windowEndSecs"])}
              </dd>
              <dt>Created</dt>
              <dd>{fmtTime(alert, ["createdAtMs"], [])}</dd>
              <dt>Dedup</dt>
              <dd className="mono wrap">{str(alert.dedupString)}</dd>
            </dl>
            {alert.description ? <p className="wrap">{str(alert.description)}</p> : null}
            {alert.reference ? <p className="wrap muted">Reference: {str(alert.reference)}</p> : null}
          </section>
          <section className="card">
            <h2>Runbook</h2>
            <p className="prewrap">{str(runbook) || "No runbook."}</p>
          </section>
          <section className="card">
            <h2>Context</h2>
            <JsonBlock value={alert.alertContext ?? {}} label="Alert context" />
          </section>
          <section className="card">
            <h2>Matched events ({matchedEvents.length})</h2>
            {matchedEvents.map((ev, i) => (
              <article key={str(pick(ev, "id", "eventId")) || i} className="matched-event" aria-label="Matched event">
                <EventHeading ev={ev} />
                {ev.raw !== undefined ? (
                  <EventFields raw={ev.raw} rawLabel="Matched event" />
                ) : (
                  // The event is no longer stored: the match record is all there is.
                  <JsonBlock value={ev} label="Matched event" />
                )}
              </article>
            ))}
          </section>
          <section className="card">
            <h2>Status changes</h2>
            {changes.length === 0 ? (
              <p>
                Current status <StatusBadge status={alert.status} />, last changed {fmtTime(alert, ["updatedAtMs"], [])}
                .
              </p>
            ) : (
              <table aria-label="Status changes">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>From</th>
                    <th>To</th>
                    <th>By</th>
                  </tr>
                </thead>
                <tbody>
                  {changes.map((c, i) => (
                    <tr key={str(c.id) || i}>
                      <td>{fmtTime(c, ["atMs", "createdAtMs", "changedAtMs"], ["atSecs"])}</td>
                      <td>{str(pick(c, "from", "fromStatus", "oldStatus")) || "—"}</td>
                      <td>{str(pick(c, "to", "toStatus", "status", "newStatus"))}</td>
                      <td>{str(pick(c, "by", "user", "actor", "username")) || "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section className="card">
            <h2>Delivery log</h2>
            {deliveries.length === 0 ? (
              <p className="muted">No deliveries (no destination matched).</p>
            ) : (
              <table aria-label="Delivery log">
                <thead>
                  <tr>
                    <th>Destination</th>
                    <th>Kind</th>
                    <th>Status</th>
                    <th>Attempts</th>
                    <th>Delivered</th>
                    <th>Last error</th>
                  </tr>
                </thead>
                <tbody>
                  {deliveries.map((d, i) => (
                    <tr key={str(d.id) || i}>
                      <td>{str(pick(d, "destinationName", "destinationId"))}</td>
                      <td>{str(d.kind)}</td>
                      <td>{str(d.status)}</td>
                      <td>{str(d.attempts)}</td>
                      <td>{fmtTime(d, ["deliveredAtMs"], [])}</td>
                      <td className="wrap">{str(d.lastError) || "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      ) : null}
    </>
  );
}
