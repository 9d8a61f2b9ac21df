import { type FormEvent, Fragment, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { api, listOf, objectOf, type Query } from "../api.ts";
import {
  AttackTags,
  ErrorBanner,
  JsonBlock,
  Loading,
  SeverityBadge,
  SourceName,
  StatusBadge,
  useAction,
  useLoad,
  usePageTitle,
  useSourceNames,
} from "../components.tsx";
import { EventFields, EventHeading } from "../event-fields.tsx";
import { fmtMs, fmtSecs, fmtTime, num, pick, type Rec, SEVERITIES, STATUSES, str, text, visible } from "../format.ts";
import { Table } from "../table.tsx";

/** Alerts per page of the list. */
const PAGE_SIZE = 50;

/** "Created within": kept in the URL as the duration, so a shared view stays relative to when it is opened. */
const SINCE_CHOICES: Array<{ value: string; label: string; secs: number }> = [
  { value: "1h", label: "Last hour", secs: 3600 },
  { value: "24h", label: "Last 24 hours", secs: 86_400 },
  { value: "7d", label: "Last 7 days", secs: 7 * 86_400 },
  { value: "30d", label: "Last 30 days", secs: 30 * 86_400 },
];

const SORTS: Array<{ value: string; label: string }> = [
  { value: "newest", label: "Newest first" },
  { value: "oldest", label: "Oldest first" },
  { value: "severity", label: "Most severe first" },
  { value: "updated", label: "Last changed first" },
];

/** The list's actions on the selected alerts. */
const BULK_ACTIONS: Array<{ status: string; label: string }> = [
  { status: "ACKNOWLEDGED", label: "Acknowledge" },
  { status: "RESOLVED", label: "Resolve" },
  { status: "OPEN", label: "Reopen" },
];

interface Choice {
  value: string;
  label: string;
}

/** A choice whose label is its value. */
const same = (value: string): Choice => ({ value, label: value });

const count = (n: number) => n.toLocaleString("en-US");

/** The names alerts can be assigned to (every console user). */
function useAssignees(): string[] {
  const loaded = useLoad(() => api.get<unknown>("/api/assignees").then((d) => listOf<string>(d, "assignees")), []);
  return loaded.data ?? [];
}

/** The API query of the list's URL: every filter, the order and the page, so that a link shows the same view. */
function listQuery(params: URLSearchParams): Query {
  const assignee = params.get("assignee") ?? "";
  const since = SINCE_CHOICES.find((c) => c.value === params.get("since"));
  // "The last hour" of a pinned list is the hour its first page asked for (PINNED_SINCE): counted again from each
  // page's own now, the oldest alerts would drop out between pages and shift the later ones up, unseen.
  const pinnedSince = Number(params.get(PINNED_SINCE) ?? "");
  const sinceSecs =
    params.get(PINNED) && Number.isInteger(pinnedSince) && pinnedSince > 0
      ? pinnedSince
      : since
        ? Math.floor(Date.now() / 1000) - since.secs
        : null;
  return {
    status: params.get("status"),
    severity: params.get("severity"),
    rule: params.get("rule"),
    source: params.get("source"),
    history: params.get("history"),
    sort: params.get("sort"),
    offset: params.get("offset"),
    limit: PAGE_SIZE,
    ...(assignee === "none" ? { unassigned: "true" } : { assignee }),
    ...(since && sinceSecs !== null ? { since: sinceSecs } : {}),
    // Pages after the first show the list as it stood when the first was read (PINNED): alerts raised since then
    // would otherwise push the next page's alerts down, and the page would repeat some.
    ...(params.get(PINNED) ? { asOf: params.get(PINNED) } : {}),
  };
}

/** The URL parameter that pins the pages: the server's time (ms) of the first page's read (its `asOfMs`). */
const PINNED = "asof";
/** With PINNED: the `since` (s) the first page asked for, so that every page has the same Created filter. */
const PINNED_SINCE = "asofsince";

import { SuppressControl } from "./suppressions.tsx";

export function AlertsPage() {
  usePageTitle("Alerts");
  const [params, setParams] = useSearchParams();
  const filter = (name: string) => params.get(name) ?? "";
  const [rule, setRule] = useState(filter("rule"));
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const action = useAction();
  const sources = useLoad(() => api.get<unknown>("/api/sources").then((d) => listOf<Rec>(d, "sources")), []);
  // The rule filter is an exact id: the loaded rules' ids are offered as it is typed (any part, any case).
  const ruleIds = useLoad(
    () => api.get<unknown>("/api/rules").then((d) => listOf<Rec>(d, "rules").map((r) => str(r.id))),
    [],
  );
  const assignees = useAssignees();
  /** When the list last loaded unpinned: the second the pages after it are pinned to. */
  const loadedAt = useRef(0);
  /** The Created filter's `since` of that load (0: none), which the pinned pages keep. */
  const loadedSince = useRef(0);
  const alerts = useLoad(() => {
    const query = listQuery(params);
    return api.get<Rec>("/api/alerts", query).then((list) => {
      // The server's clock, which alerts are created on (the browser's may be minutes off).
      const asOfMs = num(list.asOfMs);
      if (!params.get(PINNED) && asOfMs !== null) {
        loadedAt.current = asOfMs;
        loadedSince.current = typeof query.since === "number" ? query.since : 0;
      }
      return list;
    });
  }, [params.toString()]);
  const rows = listOf<Rec>(alerts.data, "alerts");
  // What a bulk action acts on: the selected alerts the list shows now. One that left the list (another analyst
  // changed it, and it no longer matches the filters) is never acted on unseen.
  const selectedRows = rows.filter((a) => selected.has(str(a.id)));
  const total = num(alerts.data?.total) ?? rows.length;
  const offset = num(alerts.data?.offset) ?? 0;

  function setFilter(name: string, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    // Other filters, other alerts: back to the first page, nothing selected, the list as it is now.
    if (name !== "offset") next.delete("offset");
    if (name !== "offset" || !value) {
      next.delete(PINNED);
      next.delete(PINNED_SINCE);
    } else if (!next.get(PINNED) && loadedAt.current > 0) {
      next.set(PINNED, String(loadedAt.current));
      if (loadedSince.current > 0) next.set(PINNED_SINCE, String(loadedSince.current));
    }
    setSelected(new Set());
    setParams(next);
  }

  function submitRule(e: FormEvent) {
    e.preventDefault();
    setFilter("rule", rule.trim());
  }

  function toggle(id: string, on: boolean) {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  }

  function bulkStatus(status: string) {
    // Each alert's status as this list shows it: one another analyst changed since is refused (409), all or none,
    // and the list is read again to show it as it is now.
    const ids = selectedRows.map((a) => str(a.id));
    const expectedStatuses = Object.fromEntries(selectedRows.map((a) => [str(a.id), str(a.status).toUpperCase()]));
    void action.run(async () => {
      try {
        await api.post("/api/alerts/status", { ids, status, expectedStatuses });
        setSelected(new Set());
      } finally {
        alerts.reload();
      }
    });
  }

  /** A filter kept in the URL, chosen from `options` (`fallback` when the URL has none). */
  const select = (name: string, label: string, options: Choice[], fallback = "") => (
    <label>
      {label}
      <select value={filter(name) || fallback} onChange={(e) => setFilter(name, e.target.value)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );

  const sourceNames = new Map((sources.data ?? []).map((s) => [str(s.id), str(s.name)]));
  const allSelected = rows.length > 0 && rows.every((a) => selected.has(str(a.id)));

  return (
    <>
      <header className="page-head">
        <h1>Alerts</h1>
      </header>
      <form className="filters" onSubmit={submitRule} aria-label="Alert filters">
        {select("severity", "Severity", [{ value: "", label: "All" }, ...SEVERITIES.map(same)])}
        {select("status", "Status", [
          { value: "", label: "All" },
          { value: "UNRESOLVED", label: "Unresolved (open, acknowledged, triaged)" },
          ...STATUSES.map(same),
        ])}
        <label>
          Rule
          <input value={rule} placeholder="Rule ID" list="alert-rule-ids" onChange={(e) => setRule(e.target.value)} />
          <datalist id="alert-rule-ids">
            {(ruleIds.data ?? []).map((id) => (
              <option key={id} value={id} />
            ))}
          </datalist>
        </label>
        {select("source", "Source", [
          { value: "", label: "All" },
          ...(sources.data ?? []).map((s) => ({ value: str(s.id), label: str(s.name) })),
        ])}
        {select("assignee", "Assignee", [
          { value: "", label: "Anyone" },
          { value: "none", label: "Unassigned" },
          ...assignees.map(same),
        ])}
        {select("since", "Created", [{ value: "", label: "Any time" }, ...SINCE_CHOICES])}
        {select("history", "Raised", [
          { value: "", label: "Live and from history" },
          { value: "false", label: "Live only" },
          { value: "true", label: "From history (backfill) only" },
        ])}
        {select("sort", "Sort", SORTS, "newest")}
        <button type="submit">Apply</button>
      </form>
      <ErrorBanner message={alerts.error} />
      <Loading when={alerts.loading && !alerts.data} />
      {alerts.data && rows.length === 0 ? <p className="muted">No alerts match these filters.</p> : null}
      {rows.length > 0 ? (
        <>
          <div className="list-bar">
            <span aria-live="polite">
              Showing {count(offset + 1)}–{count(offset + rows.length)} of {count(total)}
            </span>
            <fieldset className="actions bulk" aria-label="Selected alerts">
              <span className="muted">{selectedRows.length} selected</span>
              {BULK_ACTIONS.map((a) => (
                <button
                  key={a.status}
                  type="button"
                  disabled={action.busy || selectedRows.length === 0}
                  onClick={() => bulkStatus(a.status)}
                >
                  {a.label} selected
                </button>
              ))}
            </fieldset>
          </div>
          <ErrorBanner message={action.error} />
          <Table
            label="Alerts"
            className="alerts-table"
            rows={rows}
            rowKey={(a) => str(a.id)}
            columns={[
              {
                headerClassName: "select",
                header: (
                  <input
                    type="checkbox"
                    aria-label="Select all on this page"
                    checked={allSelected}
                    onChange={(e) => setSelected(e.target.checked ? new Set(rows.map((a) => str(a.id))) : new Set())}
                  />
                ),
                className: "select",
                cell: (a, i) => (
                  <input
                    type="checkbox"
                    // Named by its place in the list, not its title: titles are free text.
                    aria-label={`Select alert ${offset + i + 1}`}
                    checked={selected.has(str(a.id))}
                    onChange={(e) => toggle(str(a.id), e.target.checked)}
                  />
                ),
              },
              { header: "Severity", cell: (a) => <SeverityBadge severity={a.severity} /> },
              {
                header: "Title",
                className: "alert-title",
                cell: (a) => <Link to={`/alerts/${encodeURIComponent(text(a.id))}`}>{str(a.title) || str(a.id)}</Link>,
              },
              {
                header: "Status",
                cell: (a) => (
                  <>
                    <StatusBadge status={a.status} />
                    {a.fromHistory === true ? <HistoryBadge /> : null}
                  </>
                ),
              },
              {
                header: "Assignee",
                headerClassName: "col-minor",
                className: "wrap col-minor",
                cell: (a) => str(a.assignee) || "—",
              },
              {
                header: "Rule",
                headerClassName: "col-minor",
                className: "mono soft-wrap col-minor",
                cell: (a) => <DottedId id={str(a.ruleId)} />,
              },
              {
                header: "Source",
                headerClassName: "col-minor",
                className: "soft-wrap col-minor",
                cell: (a) => <SourceName id={str(a.sourceId)} names={sourceNames} />,
              },
              {
                header: "Events",
                headerClassName: "col-minor",
                className: "col-minor",
                cell: (a) => str(a.matchCount),
              },
              // When it happened (the start of its window, in event time), beside when Vigil raised it: a
              // backfill raises a month's alerts in a minute.
              {
                header: "Window",
                headerClassName: "col-minor",
                className: "col-minor",
                cell: (a) => fmtSecs(a.windowStartSecs),
              },
              { header: "Created", className: "created", cell: (a) => fmtTime(a, ["createdAtMs"], ["createdAtSecs"]) },
            ]}
          />
          {params.get(PINNED) ? (
            <p className="muted">
              As the list stood at {fmtMs(Number(params.get(PINNED)))}: alerts raised since are not in these pages.{" "}
              <button type="button" onClick={() => setFilter(PINNED, "")}>
                Show the newest
              </button>
            </p>
          ) : null}
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              disabled={offset === 0}
              onClick={() => setFilter("offset", offset - PAGE_SIZE > 0 ? String(offset - PAGE_SIZE) : "")}
            >
              ← Previous
            </button>
            <button
              type="button"
              disabled={offset + rows.length >= total}
              onClick={() => setFilter("offset", String(offset + PAGE_SIZE))}
            >
              Next →
            </button>
          </nav>
        </>
      ) : null}
    </>
  );
}

// The lifecycle: OPEN → ACKNOWLEDGED → RESOLVED; Close ends one needing no action. Either sends the resolve.
const ACTIONS: Array<{ status: string; label: string }> = [
  { status: "ACKNOWLEDGED", label: "Acknowledge" },
  { status: "RESOLVED", label: "Resolve" },
  { status: "CLOSED", label: "Close" },
  { status: "OPEN", label: "Reopen" },
];

/** What can be done from a status: anything but staying; an ended alert is reopened, not acknowledged. */
function actionsFrom(status: string): typeof ACTIONS {
  const ended = status === "RESOLVED" || status === "CLOSED";
  return ACTIONS.filter((a) => a.status !== status && !(ended && a.status === "ACKNOWLEDGED"));
}

/**
 * A dotted id (OpenAI.Controls.SSOPolicyChange) that a narrow column breaks after its dots, not inside a word; the
 * break points are <wbr>, so a copied id is the id.
 */
function DottedId({ id }: { id: string }) {
  const parts = id.split(".");
  return (
    <>
      {parts.map((part, i) => (
        <Fragment key={parts.slice(0, i + 1).join(".")}>
          {i > 0 ? (
            <>
              .<wbr />
            </>
          ) : null}
          {part}
        </Fragment>
      ))}
    </>
  );
}

function HistoryBadge() {
  return (
    <span className="badge" title="Raised from history (a backfill): not sent to destinations">
      history
    </span>
  );
}

export function AlertDetailPage() {
  const { id = "" } = useParams();
  const loaded = useLoad(() => api.get<unknown>(`/api/alerts/${encodeURIComponent(id)}`), [id]);
  const action = useAction();
  const alert = objectOf<Rec>(loaded.data, "alert");
  usePageTitle(str(alert?.title) || "Alert");
  const root = (loaded.data ?? {}) as Rec;
  const matches = listOf<Rec>(pick(root, "matches") ?? pick(alert, "matches") ?? []);
  const events = listOf<Rec>(pick(root, "events") ?? pick(alert, "events") ?? []);
  const activity = listOf<Rec>(pick(root, "activity") ?? []);
  const deliveries = listOf<Rec>(
    pick(root, "deliveries", "deliveryLog", "delivery") ?? pick(alert, "deliveries", "deliveryLog") ?? [],
  );
  const runbook = pick(root, "runbook") ?? pick(alert, "runbook");
  const reports = pick(root, "reports") ?? pick(alert, "reports");
  const sourceNames = useSourceNames();
  const assignees = useAssignees();
  const [comment, setComment] = useState("");
  const status = str(alert?.status).toUpperCase();

  /**
   * A triage action, then the alert again (its status, assignee and history), also when it failed: a change
   * refused because someone changed the alert meanwhile (409) leaves the page showing it as it is now.
   */
  const act = (path: string, body: unknown) =>
    action.run(async () => {
      try {
        await api.post(`/api/alerts/${encodeURIComponent(id)}/${path}`, body);
      } finally {
        loaded.reload();
      }
    });

  // What this page shows goes with each change, so that it never silently undoes another analyst's.
  const setStatus = (next: string) => act("status", { status: next, expectedStatus: status });

  async function addComment(e: FormEvent) {
    e.preventDefault();
    if (await act("comments", { body: comment })) setComment("");
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
              {alert.fromHistory === true ? <HistoryBadge /> : null}
            </div>
          </header>
          <section className="card">
            <div className="actions">
              {actionsFrom(status).map((a) => (
                <button key={a.status} type="button" disabled={action.busy} onClick={() => setStatus(a.status)}>
                  {a.label}
                </button>
              ))}
              <label className="inline">
                Assignee
                <select
                  value={text(alert.assignee)}
                  disabled={action.busy}
                  onChange={(e) =>
                    act("assign", { assignee: e.target.value || null, expectedAssignee: alert.assignee ?? null })
                  }
                >
                  <option value="">Unassigned</option>
                  {/* A removed user stays shown as the assignee until someone changes it. */}
                  {[...new Set([...assignees, ...(alert.assignee ? [text(alert.assignee)] : [])])].map((u) => (
                    <option key={u} value={u}>
                      {visible(u)}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            <ErrorBanner message={action.error} />
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
            <h2>History</h2>
            {activity.length === 0 ? (
              <p>
                Current status <StatusBadge status={alert.status} />, last changed {fmtTime(alert, ["updatedAtMs"], [])}
                .
              </p>
            ) : (
              <Table
                label="History"
                rows={activity}
                // The history only grows, oldest first: a row's place is its identity.
                rowKey={(_, i) => i}
                columns={[
                  { header: "When", cell: (entry) => fmtTime(entry, ["atMs"], []) },
                  { header: "Who", cell: (entry) => str(entry.by) || "—" },
                  { header: "What", className: "prewrap wrap", cell: (entry) => <ActivityText entry={entry} /> },
                ]}
              />
            )}
            <form className="comment-form" onSubmit={addComment} aria-label="Add a comment">
              <label>
                Comment
                <textarea
                  value={comment}
                  rows={3}
                  maxLength={10_000}
                  placeholder="What you found, what you did"
                  onChange={(e) => setComment(e.target.value)}
                />
              </label>
              <button type="submit" disabled={action.busy || comment.trim() === ""}>
                Add comment
              </button>
            </form>
          </section>
          <section className="card">
            <h2>Delivery log</h2>
            <Table
              label="Delivery log"
              rows={deliveries}
              rowKey={(d, i) => str(d.id) || i}
              empty="No deliveries (no destination matched)."
              columns={[
                { header: "Destination", cell: (d) => str(pick(d, "destinationName", "destinationId")) },
                { header: "Kind", cell: (d) => str(d.kind) },
                { header: "Status", cell: (d) => str(d.status) },
                { header: "Attempts", cell: (d) => str(d.attempts) },
                { header: "Delivered", cell: (d) => fmtTime(d, ["deliveredAtMs"], []) },
                { header: "Last error", className: "wrap", cell: (d) => str(d.lastError) || "—" },
              ]}
            />
          </section>
        </>
      ) : null}
    </>
  );
}

/** One history entry in words; comments are the user's text, rendered as text. */
function ActivityText({ entry }: { entry: Rec }) {
  switch (entry.kind) {
    case "status":
      return (
        <>
          {entry.from ? (
            <>
              <StatusBadge status={entry.from} /> →{" "}
            </>
          ) : (
            "Raised "
          )}
          <StatusBadge status={entry.to} />
        </>
      );
    case "assigned":
      return <>{entry.assignee ? `Assigned to ${str(entry.assignee)}` : "Unassigned"}</>;
    case "comment":
      return <>{str(entry.body)}</>;
    default:
      return <>{str(entry.kind)}</>;
  }
}
