import { type FormEvent, lazy, Suspense, useEffect, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, listOf, objectOf } from "../api.ts";
import {
  Disclosure,
  ErrorBanner,
  JsonBlock,
  Loading,
  SourceName,
  useAction,
  useLoad,
  usePageTitle,
  useSourceNames,
} from "../components.tsx";
import { EventFields } from "../event-fields.tsx";
import { fmtSecs, num, pick, type Rec, str, text } from "../format.ts";
import { Table } from "../table.tsx";

// recharts is most of the console's JavaScript: loaded when a search has results to chart.
const StackedEventsChart = lazy(() => import("../chart.tsx").then((m) => ({ default: m.StackedEventsChart })));

const RANGES: Array<{ value: string; label: string; secs: number }> = [
  { value: "1h", label: "Last hour", secs: 3600 },
  { value: "24h", label: "Last 24 hours", secs: 86400 },
  { value: "7d", label: "Last 7 days", secs: 7 * 86400 },
  { value: "30d", label: "Last 30 days", secs: 30 * 86400 },
  { value: "all", label: "All time", secs: 0 },
];

const FIELDS = ["type", "actor", "ip", "project", "text"] as const;

/** Results per page; "Next page" continues from the last one (the API's cursor). */
const PAGE_SIZE = 100;

/** The URL's paging state: the API's cursor and where the page starts in the whole result. */
const PAGING = ["after", "from"] as const;

/**
 * The URL's `at`: the moment (Unix seconds) the search was made, which ends its time range. Pinned when the
 * search is submitted, so its pages, histogram and exports — and a reload or a shared link — all read the same
 * events; "Refresh" moves it to now.
 */
const AT = "at";

const nowSecs = () => Math.floor(Date.now() / 1000);

const count = (n: number) => n.toLocaleString("en-US");

/** The form as the URL gives it: a link (a pivot, a shared search) lands on its filters, searched. */
function formOf(params: URLSearchParams): Record<string, string> {
  const f: Record<string, string> = { range: params.get("range") ?? (searchedIn(params) ? "all" : "7d") };
  for (const k of FIELDS) f[k] = params.get(k) ?? "";
  return f;
}

/** A URL with a time range or any filter is a search to run; a bare /search is an empty form. */
function searchedIn(params: URLSearchParams): boolean {
  return params.has("range") || FIELDS.some((k) => params.has(k));
}

/** The search's filters as a query string (range and fields): what a saved search keeps. */
function filtersOf(params: URLSearchParams): string {
  const out = new URLSearchParams();
  for (const k of ["range", ...FIELDS]) {
    const v = params.get(k);
    if (v) out.set(k, v);
  }
  return out.toString();
}

/** The pinned end of the URL's search (`at`), or null when the URL has none yet. */
function pinnedAt(params: URLSearchParams): number | null {
  const at = Number(params.get(AT));
  return Number.isSafeInteger(at) && at > 0 ? at : null;
}

/** The API's filter parameters for the URL's search: the range ends at `at` and starts its length before. */
function apiFilters(params: URLSearchParams): Record<string, string | undefined> {
  const range = RANGES.find((r) => r.value === (params.get("range") ?? "all"));
  const at = pinnedAt(params) ?? nowSecs();
  const q: Record<string, string | undefined> = {
    since: range && range.secs > 0 ? String(at - range.secs) : undefined,
    // `until` is exclusive: the pinned second itself is in the range.
    until: String(at + 1),
  };
  for (const k of FIELDS) q[k] = params.get(k) ?? undefined;
  return q;
}

function exportHref(params: URLSearchParams, format: "jsonl" | "csv"): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(apiFilters(params))) if (v) q.set(k, v);
  q.set("format", format);
  return `/api/events/export?${q.toString()}`;
}

/** The URL's search with its end pinned at `secs`. */
function withAt(params: URLSearchParams, secs: number): URLSearchParams {
  const next = new URLSearchParams(params);
  next.delete("t");
  next.set(AT, String(secs));
  return next;
}

export function SearchPage() {
  usePageTitle("Search");
  const [params, setParams] = useSearchParams();
  const [form, setForm] = useState<Record<string, string>>(() => formOf(params));
  // Back/forward, or a pivot link followed while on this page, changes the URL: the form follows it.
  const query = params.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: `query` is the URL's filters as one string
  useEffect(() => setForm(formOf(params)), [query]);
  const searched = searchedIn(params);
  const at = pinnedAt(params);
  // A link without its end (a pivot from another page, an older link) is pinned now, in place.
  // biome-ignore lint/correctness/useExhaustiveDependencies: `query` is the URL's filters as one string
  useEffect(() => {
    if (searched && at === null) setParams(withAt(params, nowSecs()), { replace: true });
  }, [query]);
  const sourceNames = useSourceNames();
  // The search without its page: its filters and its end.
  const filters = filtersOf(params);
  const searchKey = `${filters}&${AT}=${at ?? ""}`;
  const from = Math.max(0, Number(params.get("from")) || 0);
  const results = useLoad(async () => {
    if (!searched || at === null) return null;
    const q = { ...apiFilters(params), limit: PAGE_SIZE, after: params.get("after") ?? undefined };
    const data = await api.get<Rec>("/api/events", q);
    return { events: listOf<Rec>(data, "events"), next: typeof data?.next === "string" ? data.next : null };
  }, [query]);
  const histogram = useLoad(async () => {
    if (!searched || at === null) return null;
    return api.get<Rec>("/api/events/histogram", apiFilters(params));
  }, [searchKey]);
  const total = typeof histogram.data?.total === "number" ? histogram.data.total : null;

  function submit(e: FormEvent) {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) if (v.trim()) next.set(k, v.trim());
    if (!next.has("range")) next.set("range", "all");
    next.set(AT, String(nowSecs()));
    setParams(next);
  }

  /** The same search, ending now, from its first page. */
  function refresh() {
    const next = withAt(params, nowSecs());
    for (const k of PAGING) next.delete(k);
    setParams(next);
  }

  function nextPage(cursor: string, shown: number) {
    const next = new URLSearchParams(params);
    next.set("after", cursor);
    next.set("from", String(from + shown));
    setParams(next);
  }

  function firstPage() {
    const next = new URLSearchParams(params);
    for (const k of PAGING) next.delete(k);
    setParams(next);
  }

  const field = (name: string, label: string, placeholder: string) => (
    <label>
      {label}
      <input
        value={form[name] ?? ""}
        placeholder={placeholder}
        onChange={(e) => setForm({ ...form, [name]: e.target.value })}
      />
    </label>
  );

  const events = results.data?.events ?? null;
  const cursor = results.data?.next ?? null;
  // The histogram's total knows when the last page is reached; until it answers, the cursor decides.
  const more = events !== null && cursor !== null && (total === null || from + events.length < total);

  return (
    <>
      <header className="page-head">
        <h1>Search</h1>
      </header>
      <SavedSearches
        current={searched ? filters : ""}
        onOpen={(q) => setParams(withAt(new URLSearchParams(q), nowSecs()))}
      />
      <form className="filters" onSubmit={submit} aria-label="Search events">
        <label>
          Time range
          <select value={form.range} onChange={(e) => setForm({ ...form, range: e.target.value })}>
            {RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        {field("type", "Event type", "e.g. api_key.created")}
        {field("actor", "Actor", "email or id")}
        {field("ip", "IP", "203.0.113.7")}
        {field("project", "Project", "proj_…")}
        {field("text", "Text", "free text")}
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      <ErrorBanner message={results.error ?? histogram.error} />
      {searched && at !== null ? (
        <p className="list-bar">
          <span className="muted">Events up to {fmtSecs(at)}</span>
          <button type="button" onClick={refresh}>
            Refresh
          </button>
        </p>
      ) : null}
      <Loading when={searched && results.loading} />
      {searched && histogram.data && total !== null && total > 0 ? (
        <section className="card" aria-label="Results over time">
          <h2>
            {count(total)} {total === 1 ? "event" : "events"}, by {str(histogram.data.bucket)} and type
          </h2>
          <Suspense fallback={<p className="muted">Loading the chart…</p>}>
            <StackedEventsChart
              rows={listOf<Rec>(histogram.data.buckets)}
              height={200}
              bucketSecs={num(histogram.data.bucketSecs) ?? undefined}
            />
          </Suspense>
        </section>
      ) : null}
      {events ? (
        events.length === 0 ? (
          <p className="muted">No events found.</p>
        ) : (
          <>
            <div className="list-bar">
              <span aria-live="polite">
                Showing {count(from + 1)}–{count(from + events.length)}
                {total !== null ? ` of ${count(total)}` : ""} (newest first)
              </span>
              <span className="actions">
                <a className="button" href={exportHref(params, "csv")} download>
                  Export CSV
                </a>
                <a className="button" href={exportHref(params, "jsonl")} download>
                  Export JSON lines
                </a>
                <span className="muted">(up to 100,000 events)</span>
              </span>
            </div>
            <Table
              label="Search results"
              rows={events}
              rowKey={(ev) => `${str(ev.sourceId)}/${str(ev.id)}`}
              columns={[
                {
                  header: "Time",
                  className: "nowrap",
                  cell: (ev) => fmtSecs(pick(ev, "effectiveAtSecs", "effective_at")),
                },
                { header: "Type", className: "mono", cell: (ev) => str(ev.type) },
                {
                  header: "Actor",
                  className: "soft-wrap",
                  cell: (ev) => str(pick(ev, "actorEmail", "actorId")) || "—",
                },
                { header: "IP", className: "mono", cell: (ev) => str(ev.ip) || "—" },
                { header: "Project", className: "mono wrap", cell: (ev) => str(ev.projectId) || "—" },
                {
                  header: "Source",
                  className: "soft-wrap",
                  cell: (ev) => <SourceName id={str(ev.sourceId)} names={sourceNames} />,
                },
                {
                  header: "ID",
                  // Ids are long and unbroken: they wrap, so the column (the link to the event) stays on screen.
                  className: "mono wrap",
                  cell: (ev) => (
                    <Link to={`/events/${encodeURIComponent(text(ev.sourceId))}/${encodeURIComponent(text(ev.id))}`}>
                      {str(ev.id)}
                    </Link>
                  ),
                },
              ]}
            />
            <nav className="pager" aria-label="Pages">
              <button type="button" disabled={from === 0} onClick={firstPage}>
                ← First page
              </button>
              <button type="button" disabled={!more} onClick={() => cursor !== null && nextPage(cursor, events.length)}>
                Next page →
              </button>
            </nav>
          </>
        )
      ) : null}
    </>
  );
}

/** Saved searches (shared by the team): open one, save the current search by name, delete the chosen one. */
function SavedSearches({ current, onOpen }: { current: string; onOpen: (query: string) => void }) {
  const saved = useLoad(() => api.get<unknown>("/api/saved-searches"), []);
  const list = listOf<Rec>(saved.data, "savedSearches");
  const [chosen, setChosen] = useState("");
  const [name, setName] = useState("");
  const action = useAction();
  const busy = action.busy;
  const chosenSearch = list.find((s) => str(s.id) === chosen);

  const act = (fn: () => Promise<void>) =>
    action.run(async () => {
      await fn();
      saved.reload();
    });

  function save(e: FormEvent) {
    e.preventDefault();
    void act(async () => {
      await api.post("/api/saved-searches", { name: name.trim(), query: current });
      setName("");
    });
  }

  return (
    <section className="filters saved-searches" aria-label="Saved searches">
      <label>
        Open saved search
        <select
          value={chosen}
          onChange={(e) => {
            setChosen(e.target.value);
            const s = list.find((x) => str(x.id) === e.target.value);
            if (s) onOpen(text(s.query));
          }}
        >
          <option value="">{list.length === 0 ? "None saved yet" : "Choose…"}</option>
          {list.map((s) => (
            <option key={str(s.id)} value={str(s.id)}>
              {str(s.name)}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        disabled={busy || !chosenSearch}
        onClick={() =>
          void act(async () => {
            await api.del(`/api/saved-searches/${encodeURIComponent(chosen)}`);
            setChosen("");
          })
        }
      >
        Delete
      </button>
      <form onSubmit={save} className="actions" aria-label="Save this search">
        <label>
          Save this search as
          <input value={name} placeholder="name" onChange={(e) => setName(e.target.value)} maxLength={200} />
        </label>
        <button type="submit" disabled={busy || current === "" || name.trim() === ""}>
          Save
        </button>
      </form>
      <ErrorBanner message={action.error ?? saved.error} />
    </section>
  );
}

export function EventDetailPage() {
  const { sourceId = "", eventId = "" } = useParams();
  const loaded = useLoad(
    () => api.get<unknown>(`/api/events/${encodeURIComponent(sourceId)}/${encodeURIComponent(eventId)}`),
    [sourceId, eventId],
  );
  const ev = objectOf<Rec>(loaded.data, "event");
  usePageTitle(str(ev?.type) ? `Event ${str(ev?.type)}` : "Event");
  const sourceNames = useSourceNames();
  const navigate = useNavigate();
  return (
    <>
      <p>
        <button type="button" className="link-button" onClick={() => navigate(-1)}>
          ← Back
        </button>
      </p>
      <ErrorBanner message={loaded.error} />
      <Loading when={loaded.loading && !loaded.data} />
      {ev ? (
        <>
          <header className="page-head">
            <h1 className="mono wrap">{str(ev.type)}</h1>
          </header>
          <section className="card">
            <EventFields
              raw={ev.raw ?? {}}
              rawLabel="Raw event"
              lead={
                <>
                  <dt>Event ID</dt>
                  <dd className="mono wrap">{str(ev.id)}</dd>
                  <dt>Time</dt>
                  <dd>{fmtSecs(pick(ev, "effectiveAtSecs", "effective_at"))}</dd>
                  <dt>Source</dt>
                  <dd>
                    <SourceName id={str(ev.sourceId) || sourceId} names={sourceNames} />
                  </dd>
                </>
              }
            />
          </section>
          <section className="card">
            <Disclosure label="Normalized (what rules see)">
              <JsonBlock value={ev.normalized ?? {}} label="Normalized event" />
            </Disclosure>
          </section>
        </>
      ) : null}
    </>
  );
}
