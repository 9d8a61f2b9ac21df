import { type FormEvent, useEffect, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, listOf, objectOf } from "../api.ts";
import { Disclosure, ErrorBanner, JsonBlock, Loading, SourceName, useLoad, useSourceNames } from "../components.tsx";
import { EventFields } from "../event-fields.tsx";
import { fmtSecs, pick, type Rec, str } from "../format.ts";

const RANGES: Array<{ value: string; label: string; secs: number }> = [
  { value: "1h", label: "Last hour", secs: 3600 },
  { value: "24h", label: "Last 24 hours", secs: 86400 },
  { value: "7d", label: "Last 7 days", secs: 7 * 86400 },
  { value: "30d", label: "Last 30 days", secs: 30 * 86400 },
  { value: "all", label: "All time", secs: 0 },
];

const FIELDS = ["type", "actor", "ip", "project", "text"] as const;

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

export function SearchPage() {
  const [params, setParams] = useSearchParams();
  const [form, setForm] = useState<Record<string, string>>(() => formOf(params));
  // Back/forward, or a pivot link followed while on this page, changes the URL: the form follows it.
  const query = params.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: `query` is the URL's filters as one string
  useEffect(() => setForm(formOf(params)), [query]);
  const searched = searchedIn(params);
  const sourceNames = useSourceNames();
  const results = useLoad(async () => {
    if (!searched) return null;
    const range = RANGES.find((r) => r.value === (params.get("range") ?? "all"));
    const since = range && range.secs > 0 ? Math.floor(Date.now() / 1000) - range.secs : undefined;
    const q: Record<string, string | number | undefined> = { since, limit: 200 };
    for (const k of FIELDS) q[k] = params.get(k) ?? undefined;
    return listOf<Rec>(await api.get<unknown>("/api/events", q), "events");
  }, [params.toString()]);

  function submit(e: FormEvent) {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) if (v.trim()) next.set(k, v.trim());
    if (!next.has("range")) next.set("range", "all");
    next.set("t", String(Date.now()));
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

  return (
    <>
      <header className="page-head">
        <h1>Search</h1>
      </header>
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
      <ErrorBanner message={results.error} />
      <Loading when={searched && results.loading} />
      {results.data ? (
        results.data.length === 0 ? (
          <p className="muted">No events found.</p>
        ) : (
          <>
            <p className="muted">
              {results.data.length} {results.data.length === 1 ? "event" : "events"} (newest first)
            </p>
            <table aria-label="Search results">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Type</th>
                  <th>Actor</th>
                  <th>IP</th>
                  <th>Project</th>
                  <th>Source</th>
                  <th>ID</th>
                </tr>
              </thead>
              <tbody>
                {results.data.map((ev) => (
                  <tr key={`${str(ev.sourceId)}/${str(ev.id)}`}>
                    <td className="nowrap">{fmtSecs(pick(ev, "effectiveAtSecs", "effective_at"))}</td>
                    <td className="mono">{str(ev.type)}</td>
                    <td className="soft-wrap">{str(pick(ev, "actorEmail", "actorId")) || "—"}</td>
                    <td className="mono">{str(ev.ip) || "—"}</td>
                    <td className="mono">{str(ev.projectId) || "—"}</td>
                    <td className="soft-wrap">
                      <SourceName id={str(ev.sourceId)} names={sourceNames} />
                    </td>
                    <td className="mono">
                      <Link to={`/events/${encodeURIComponent(str(ev.sourceId))}/${encodeURIComponent(str(ev.id))}`}>
                        {str(ev.id)}
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )
      ) : null}
    </>
  );
}

export function EventDetailPage() {
  const { sourceId = "", eventId = "" } = useParams();
  const loaded = useLoad(
    () => api.get<unknown>(`/api/events/${encodeURIComponent(sourceId)}/${encodeURIComponent(eventId)}`),
    [sourceId, eventId],
  );
  const ev = objectOf<Rec>(loaded.data, "event");
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
