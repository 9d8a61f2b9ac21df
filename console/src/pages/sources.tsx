import { type FormEvent, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api, listOf, objectOf } from "../api.ts";
import { StackedEventsChart } from "../chart.tsx";
import {
  AdminOnly,
  AdminOnlyNote,
  ErrorBanner,
  HealthBadge,
  JsonBlock,
  Loading,
  useAction,
  useLoad,
  usePageTitle,
} from "../components.tsx";
import { fmtHours, fmtMs, fmtSecs, fmtTime, healthOf, num, pick, type Rec, str, text } from "../format.ts";
import { Table } from "../table.tsx";
import {
  DeleteSource,
  defaultOf,
  HOUR,
  NoDataAlertFields,
  rangeOf,
  SourcePacks,
  SourceSettingsForm,
  useSettingsSchema,
} from "./source-settings.tsx";
import { WorkersSection } from "./workers.tsx";

function pollOf(s: unknown): Rec {
  const p = pick(s, "pollStatus", "poll", "status");
  return p && typeof p === "object" ? (p as Rec) : ((s ?? {}) as Rec);
}

export function SourcesPage() {
  usePageTitle("Log Sources");
  const navigate = useNavigate();
  const sources = useLoad(() => api.get<unknown>("/api/sources").then((d) => listOf<Rec>(d, "sources")), []);
  return (
    <>
      <header className="page-head">
        <h1>Log Sources</h1>
        <AdminOnly>
          <button type="button" className="primary" onClick={() => navigate("/sources/new")}>
            Create New
          </button>
        </AdminOnly>
      </header>
      <ErrorBanner message={sources.error} />
      <Loading when={sources.loading && !sources.data} />
      <Table
        label="Log sources"
        rows={sources.data}
        rowKey={(s) => str(s.id)}
        empty="No log sources yet. Click “Create New” to connect an OpenAI organization."
        columns={[
          { header: "Name", cell: (s) => <Link to={`/sources/${encodeURIComponent(text(s.id))}`}>{str(s.name)}</Link> },
          { header: "Log type", className: "mono", cell: () => "OpenAI.Audit" },
          { header: "Health", cell: (s) => <HealthBadge health={healthOf(s)} /> },
          { header: "Last success", className: "nowrap", cell: (s) => fmtTime(pollOf(s), ["lastSuccessMs"], []) },
          { header: "Events", cell: (s) => str(pick(s, "eventCount", "events")) || "0" },
          { header: "Last error", className: "wrap", cell: (s) => str(pollOf(s).lastError) || "—" },
        ]}
      />
      <WorkersSection />
    </>
  );
}

type Step = "catalog" | "configuration" | "credentials" | "verify";

interface Verification {
  ok: boolean;
  latencyMs?: number;
  code?: string;
  message?: string;
}

const CATALOG = [
  {
    id: "openai",
    name: "OpenAI",
    logType: "OpenAI.Audit",
    description:
      "Collect your OpenAI organization's audit logs (API keys, projects, users, invites, logins, SCIM, roles) through the Audit Logs API with an Admin API key.",
  },
];

export function NewSourcePage() {
  usePageTitle("New log source");
  const navigate = useNavigate();
  const [step, setStep] = useState<Step>("catalog");
  const [query, setQuery] = useState("");
  const [panel, setPanel] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [baseUrl, setBaseUrl] = useState("");
  const [pollIntervalSecs, setPollIntervalSecs] = useState("");
  const [backfillDays, setBackfillDays] = useState("");
  const [includeTenant, setIncludeTenant] = useState(true);
  const [apiKey, setApiKey] = useState("");
  const [verification, setVerification] = useState<Verification | null>(null);
  const verifying = useAction();
  const creating = useAction();
  const busy = verifying.busy || creating.busy;
  const [noDataAlert, setNoDataAlert] = useState(true);
  const schema = useSettingsSchema();
  /** null until typed: the field shows the server's default, and the server applies it. */
  const [noDataHours, setNoDataHours] = useState<string | null>(null);
  const [selectedPacks, setSelectedPacks] = useState<Set<string> | null>(null);
  const packs = useLoad(() => api.get<unknown>("/api/packs").then((d) => listOf<Rec>(d, "packs")), []);
  const packIds =
    selectedPacks ?? new Set((packs.data ?? []).filter((p) => p.enabled !== false).map((p) => text(p.id)));

  const tiles = CATALOG.filter((t) => `${t.name} ${t.logType}`.toLowerCase().includes(query.trim().toLowerCase()));
  const tile = CATALOG.find((t) => t.id === panel);

  function verify() {
    setVerification(null);
    return verifying.run(async () => {
      const body: Rec = { apiKey };
      if (baseUrl.trim()) body.baseUrl = baseUrl.trim();
      setVerification(await api.post<Verification>("/api/sources/verify", body));
    });
  }

  function create() {
    return creating.run(async () => {
      const body: Rec = {
        name: name.trim(),
        apiKey,
        includeTenantEvents: includeTenant,
        noDataAlertEnabled: noDataAlert,
        packs: [...packIds],
      };
      // Out of bounds, the server refuses it with the field and the limit.
      if (noDataHours?.trim()) body.noDataAlertSecs = Math.round(Number(noDataHours) * HOUR);
      if (baseUrl.trim()) body.baseUrl = baseUrl.trim();
      if (pollIntervalSecs.trim()) body.pollIntervalSecs = Number(pollIntervalSecs);
      if (backfillDays.trim()) body.backfillDays = Number(backfillDays);
      const created = objectOf<Rec>(await api.post<unknown>("/api/sources", body), "source");
      const id = str(created?.id);
      navigate(id ? `/sources/${encodeURIComponent(id)}` : "/sources");
    });
  }

  function submitConfiguration(e: FormEvent) {
    e.preventDefault();
    setStep("credentials");
  }

  function submitCredentials(e: FormEvent) {
    e.preventDefault();
    setStep("verify");
    void verify();
  }

  /** The setup steps' heading and where the user is among them. */
  const setupHead = (
    <>
      <header className="page-head">
        <h1>Configure OpenAI source</h1>
      </header>
      <ol className="stepper" aria-label="Setup steps">
        {(["configuration", "credentials", "verify"] as const).map((s, i) => (
          <li key={s} className={s === step ? "current" : ""} aria-current={s === step ? "step" : undefined}>
            {i + 1}. {s === "configuration" ? "Configuration" : s === "credentials" ? "Credentials" : "Verify & Finish"}
          </li>
        ))}
      </ol>
    </>
  );

  if (step === "catalog") {
    return (
      <>
        <p>
          <Link to="/sources">← Log Sources</Link>
        </p>
        <header className="page-head">
          <h1>Create New Log Source</h1>
        </header>
        <label className="search-box">
          Search log sources
          <input
            type="search"
            value={query}
            placeholder="Search for a log source, e.g. OpenAI"
            onChange={(e) => setQuery(e.target.value)}
          />
        </label>
        <div className="tiles">
          {tiles.map((t) => (
            <button key={t.id} type="button" className="tile" onClick={() => setPanel(t.id)}>
              <span className="tile-logo" aria-hidden="true">
                {t.name.slice(0, 1)}
              </span>
              <span className="tile-name">{t.name}</span>
              <span className="tile-type muted">{t.logType}</span>
            </button>
          ))}
          {tiles.length === 0 ? <p className="muted">No log source matches “{query}”.</p> : null}
        </div>
        {tile ? (
          <aside className="slideout" role="dialog" aria-modal="false" aria-label={`${tile.name} log source`}>
            <div className="slideout-head">
              <h2>{tile.name}</h2>
              <button type="button" className="link-button" aria-label="Close panel" onClick={() => setPanel(null)}>
                ✕
              </button>
            </div>
            <p>{tile.description}</p>
            <dl className="facts">
              <dt>Log type</dt>
              <dd className="mono">{tile.logType}</dd>
              <dt>Transport</dt>
              <dd>Pull (HTTPS polling of GET /v1/organization/audit_logs)</dd>
              <dt>Needs</dt>
              <dd>An OpenAI Admin API key with the api.audit_logs.read scope</dd>
            </dl>
            <button type="button" className="primary" onClick={() => setStep("configuration")}>
              Start Setup
            </button>
          </aside>
        ) : null}
      </>
    );
  }

  if (step === "configuration") {
    return (
      <>
        {setupHead}
        <form className="card form" onSubmit={submitConfiguration} aria-label="Configuration">
          <h2>Configuration</h2>
          <label>
            Name
            <input value={name} required placeholder="My OpenAI Audit Logs" onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Log Types
            <select value="OpenAI.Audit" disabled aria-readonly="true">
              <option value="OpenAI.Audit">OpenAI.Audit</option>
            </select>
          </label>
          <details className="advanced">
            <summary>Advanced</summary>
            <label>
              Base URL
              <input
                value={baseUrl}
                type="url"
                placeholder="https://api.openai.com/v1"
                onChange={(e) => setBaseUrl(e.target.value)}
              />
            </label>
            <label>
              Poll interval (seconds)
              <input
                value={pollIntervalSecs}
                type="number"
                {...rangeOf(schema, "pollIntervalSecs")}
                placeholder={schema ? `default ${defaultOf(schema, "pollIntervalSecs")}` : "default"}
                onChange={(e) => setPollIntervalSecs(e.target.value)}
              />
            </label>
            <label>
              Backfill (days)
              <input
                value={backfillDays}
                type="number"
                {...rangeOf(schema, "backfillDays")}
                placeholder={schema ? `default ${defaultOf(schema, "backfillDays")}` : "default"}
                onChange={(e) => setBackfillDays(e.target.value)}
              />
            </label>
            <label className="check">
              <input type="checkbox" checked={includeTenant} onChange={(e) => setIncludeTenant(e.target.checked)} />
              Include tenant-scoped events
            </label>
          </details>
          <div className="actions">
            <button type="button" onClick={() => setStep("catalog")}>
              Back
            </button>
            <button type="submit" className="primary">
              Setup
            </button>
          </div>
        </form>
      </>
    );
  }

  if (step === "credentials") {
    return (
      <>
        {setupHead}
        <form className="card form" onSubmit={submitCredentials} aria-label="Credentials">
          <h2>Credentials</h2>
          <label>
            API Key
            <input
              type="password"
              autoComplete="off"
              value={apiKey}
              required
              placeholder="sk-admin-…"
              onChange={(e) => setApiKey(e.target.value)}
            />
          </label>
          <p className="muted">
            An OpenAI Admin API key (Organization settings → Admin keys) with read access to audit logs. It is stored
            encrypted and never shown again.
          </p>
          <div className="actions">
            <button type="button" onClick={() => setStep("configuration")}>
              Back
            </button>
            <button type="submit" className="primary">
              Setup
            </button>
          </div>
        </form>
      </>
    );
  }

  const verified = verification?.ok === true;
  return (
    <>
      {setupHead}
      <section className="card" aria-label="Verification">
        <h2>Verification</h2>
        {busy && !verification && !verifying.error ? <p className="muted">Checking the connection to OpenAI…</p> : null}
        {verified ? (
          <div className="banner banner-ok" role="status">
            Vigil can reach the OpenAI API with this key
            {typeof verification.latencyMs === "number" ? ` (${verification.latencyMs} ms)` : ""}.
          </div>
        ) : null}
        {verification && !verification.ok ? (
          <div className="banner banner-error" role="alert">
            <strong>Vigil cannot reach the OpenAI API with this key.</strong> {verification.message ?? ""}
            {verification.code ? <span className="muted mono"> ({verification.code})</span> : null}
          </div>
        ) : null}
        {verifying.error ? (
          <div className="banner banner-error" role="alert">
            <strong>Verification failed.</strong> {verifying.error}
          </div>
        ) : null}
        {!verified && !busy ? (
          <div className="actions">
            <button type="button" onClick={() => setStep("credentials")}>
              Back to Credentials
            </button>
            <button type="button" onClick={() => void verify()}>
              Retry
            </button>
          </div>
        ) : null}
      </section>
      {verified ? (
        <section className="card form" aria-label="Finish setup">
          <fieldset>
            <legend>Detection packs</legend>
            <ErrorBanner message={packs.error} />
            {(packs.data ?? []).length === 0 && !packs.loading ? <p className="muted">No packs installed.</p> : null}
            {(packs.data ?? []).map((p) => {
              const id = text(p.id);
              return (
                <label key={id} className="check">
                  <input
                    type="checkbox"
                    checked={packIds.has(id)}
                    onChange={(e) => {
                      const next = new Set(packIds);
                      if (e.target.checked) next.add(id);
                      else next.delete(id);
                      setSelectedPacks(next);
                    }}
                  />
                  <span>
                    <strong>{str(pick(p, "displayName", "name")) || id}</strong>
                    {p.description ? <span className="muted"> — {str(p.description)}</span> : null}
                  </span>
                </label>
              );
            })}
          </fieldset>
          <NoDataAlertFields
            name="nodata"
            enabled={noDataAlert}
            hours={noDataHours ?? defaultOf(schema, "noDataAlertSecs", HOUR)}
            schema={schema}
            onEnabled={setNoDataAlert}
            onHours={setNoDataHours}
          />
          <ErrorBanner message={creating.error} />
          <div className="actions">
            <button type="button" onClick={() => setStep("credentials")}>
              Back
            </button>
            <button type="button" className="primary" disabled={busy} onClick={() => void create()}>
              Finish Setup
            </button>
          </div>
        </section>
      ) : null}
    </>
  );
}

export function SourcePage() {
  const { id = "" } = useParams();
  const enc = encodeURIComponent(id);
  const [days, setDays] = useState(7);
  const sources = useLoad(() => api.get<unknown>("/api/sources").then((d) => listOf<Rec>(d, "sources")), [id]);
  const health = useLoad(() => api.get<unknown>(`/api/sources/${enc}/health`), [id]);
  const stats = useLoad(() => api.get<unknown>(`/api/sources/${enc}/stats`, { days }), [id, days]);
  const quarantine = useLoad(
    () =>
      api
        .get<unknown>(`/api/sources/${enc}/quarantine`, { limit: 50 })
        .then((d) => listOf<Rec>(d, "quarantine", "records")),
    [id],
  );
  const [testResult, setTestResult] = useState<{ ok: boolean; text: string } | null>(null);
  const testing = useAction();
  const source = (sources.data ?? []).find((s) => str(s.id) === id) ?? null;
  usePageTitle(str(source?.name) || "Log source");
  const h = (health.data ?? {}) as Rec;
  const poll = pollOf(health.data ?? source);
  const checkpoints = pick(h, "checkpoints") ?? pick(source, "checkpoints");
  const streams: Rec[] = Array.isArray(checkpoints)
    ? (checkpoints as Rec[])
    : checkpoints && typeof checkpoints === "object"
      ? Object.entries(checkpoints as Rec).map(([stream, st]) =>
          st && typeof st === "object" ? { stream, ...(st as Rec) } : { stream, checkpointSecs: st },
        )
      : [];
  const checkpointObj = pick(h, "checkpoint") ?? pick(source, "checkpoint");
  const newTypes = listOf<unknown>(pick(h, "newEventTypes", "unknownTypes", "newTypes") ?? []);
  const statRows = listOf<Rec>(stats.data, "stats", "buckets", "series", "rows");

  function test() {
    setTestResult(null);
    return testing.run(async () => {
      const r = await api.post<Verification>(`/api/sources/${enc}/test`);
      setTestResult(
        r.ok
          ? { ok: true, text: `Connection works${typeof r.latencyMs === "number" ? ` (${r.latencyMs} ms)` : ""}.` }
          : { ok: false, text: r.message ?? "The key does not work." },
      );
    });
  }
  // A request that failed reads as a failed test.
  const testShown = testing.error !== null ? { ok: false, text: testing.error } : testResult;

  return (
    <>
      <p>
        <Link to="/sources">← Log Sources</Link>
      </p>
      <header className="page-head">
        <h1>{str(source?.name) || "Log source"}</h1>
        <div className="head-badges">
          <HealthBadge health={healthOf(health.data) !== "unknown" ? healthOf(health.data) : healthOf(source)} />
          <AdminOnly>
            <button type="button" onClick={() => void test()}>
              Test Connection
            </button>
          </AdminOnly>
        </div>
      </header>
      {testShown ? (
        <div className={`banner ${testShown.ok ? "banner-ok" : "banner-error"}`} role="status">
          {testShown.text}
        </div>
      ) : null}
      <ErrorBanner message={sources.error ?? health.error} />
      <section className="card">
        <h2>Health</h2>
        <dl className="facts">
          <dt>Log type</dt>
          <dd className="mono">OpenAI.Audit</dd>
          <dt>Last poll</dt>
          <dd>{fmtMs(poll.lastPollFinishedMs ?? poll.lastPollStartedMs)}</dd>
          <dt>Last success</dt>
          <dd>{fmtMs(poll.lastSuccessMs)}</dd>
          <dt>Last event stored</dt>
          <dd>{fmtMs(poll.lastEventStoredMs)}</dd>
          <dt>Consecutive failures</dt>
          <dd>{str(poll.consecutiveFailures) || "0"}</dd>
          <dt>Last error</dt>
          <dd className="wrap">
            {poll.lastError
              ? `${str(poll.lastError)}${poll.lastErrorCode ? ` (${str(poll.lastErrorCode)})` : ""}`
              : "—"}
          </dd>
          <dt>Events stored</dt>
          <dd>{str(pick(h, "events", "eventCount") ?? pick(source, "events", "eventCount")) || "0"}</dd>
          <dt>Quarantined</dt>
          <dd>{str(pick(h, "quarantineCount", "quarantined")) || String((quarantine.data ?? []).length)}</dd>
          <dt>Base URL</dt>
          <dd className="mono wrap">
            {str(pick(source, "effectiveBaseUrl", "baseUrl")) || "https://api.openai.com/v1"}
          </dd>
          <dt>Poll interval</dt>
          <dd>{source?.pollIntervalSecs ? `${str(source.pollIntervalSecs)} s` : "—"}</dd>
          <dt>No-data alert</dt>
          <dd>
            {source?.noDataAlertEnabled === false
              ? "Off"
              : source?.noDataAlertSecs
                ? `After ${fmtHours(source.noDataAlertSecs)} without events`
                : "—"}
          </dd>
          <dt>Poll-failure alert</dt>
          <dd>
            {typeof source?.pollFailureAlertSecs === "number"
              ? `After ${fmtHours(source.pollFailureAlertSecs)} of failing polls`
              : "—"}
          </dd>
        </dl>
        <h3>Checkpoints</h3>
        {streams.length > 0 ? (
          <Table
            label="Checkpoints"
            rows={streams}
            rowKey={(s, i) => str(s.stream) || i}
            columns={[
              { header: "Stream", cell: (s) => str(s.stream) },
              { header: "Checkpoint", cell: (s) => fmtSecs(s.checkpointSecs) },
              { header: "Last sweep", cell: (s) => fmtSecs(s.lastSweepSecs) },
            ]}
          />
        ) : checkpointObj !== undefined ? (
          <JsonBlock value={checkpointObj} label="Checkpoint" />
        ) : (
          <p className="muted">No checkpoint yet.</p>
        )}
        {newTypes.length > 0 ? (
          <>
            <h3>New event types</h3>
            <ul>
              {newTypes.map((t, i) => (
                <li key={str(pick(t, "type")) || i} className="mono">
                  {str(pick(t, "type") ?? t)}
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </section>
      <section className="card">
        <div className="card-head">
          <h2>Events over time by type</h2>
          <label className="inline">
            Period
            <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
              <option value={1}>1 day</option>
              <option value={7}>7 days</option>
              <option value={14}>14 days</option>
              <option value={30}>30 days</option>
            </select>
          </label>
        </div>
        <ErrorBanner message={stats.error} />
        <StackedEventsChart rows={statRows} bucketSecs={num(pick(stats.data, "bucketSecs")) ?? undefined} />
      </section>
      <section className="card">
        <h2>Quarantined events</h2>
        <ErrorBanner message={quarantine.error} />
        <AdminOnly
          fallback={(quarantine.data ?? []).length > 0 ? <AdminOnlyNote what="replay quarantined events" /> : null}
        >
          <QuarantineReplay
            key={id}
            sourceId={id}
            hasRecords={(quarantine.data ?? []).length > 0}
            onDone={() => {
              quarantine.reload();
              health.reload();
              stats.reload();
            }}
          />
        </AdminOnly>
        <Table
          label="Quarantined events"
          rows={quarantine.data ?? []}
          rowKey={(q, i) => str(q.id) || i}
          empty="Nothing quarantined."
          columns={[
            { header: "Received", className: "nowrap", cell: (q) => fmtMs(q.receivedAtMs) },
            { header: "Event", className: "mono", cell: (q) => str(q.eventId) || "—" },
            { header: "Reason", className: "wrap", cell: (q) => str(q.reason) },
            { header: "Issues", cell: (q) => <JsonBlock value={q.issues ?? []} /> },
            { header: "Raw", cell: (q) => <JsonBlock value={q.raw ?? ""} /> },
          ]}
        />
      </section>
      {source ? (
        <>
          <AdminOnly fallback={<AdminOnlyNote what="change, test or delete this source" />}>
            <SourceSettingsForm
              key={`settings-${id}`}
              source={source}
              onSaved={() => {
                // The header's health depends on the settings too (a disabled source is DISABLED).
                sources.reload();
                health.reload();
              }}
            />
          </AdminOnly>
          <SourcePacks sourceId={str(source.id)} />
          <AdminOnly>
            <DeleteSource key={`delete-${id}`} source={source} />
          </AdminOnly>
        </>
      ) : null}
    </>
  );
}

/** Reads the quarantine again with the current schema (POST …/quarantine/replay): a dry run first, then for real. */
function QuarantineReplay({
  sourceId,
  hasRecords,
  onDone,
}: {
  sourceId: string;
  hasRecords: boolean;
  onDone: () => void;
}) {
  const action = useAction();
  const [outcome, setOutcome] = useState<{ dryRun: boolean; r: Rec } | null>(null);
  const replay = (dryRun: boolean) =>
    action.run(
      async () => {
        const r = await api.post<Rec>(`/api/sources/${encodeURIComponent(sourceId)}/quarantine/replay`, {
          dryRun,
        });
        setOutcome({ dryRun, r });
        if (!dryRun) onDone();
      },
      dryRun ? "check" : "replay",
    );
  // The outcome stays shown after a replay that emptied the quarantine.
  if (!hasRecords && outcome === null) return null;
  return (
    <div className="quarantine-replay">
      {hasRecords ? (
        <>
          <p className="muted">
            After an upgrade that fixed why these events were refused, read them again with the current schema: those it
            accepts are stored as events, with detection, and leave the quarantine. Alerts on events from after the
            source was added are sent as new; on older ones they are history, as its backfill's are.
          </p>
          <div className="actions">
            <button type="button" disabled={action.busy} onClick={() => void replay(true)}>
              {action.busyTag === "check" ? "Checking…" : "Check with the current schema"}
            </button>
            <button type="button" className="primary" disabled={action.busy} onClick={() => void replay(false)}>
              {action.busyTag === "replay" ? "Replaying…" : "Replay quarantined events"}
            </button>
          </div>
        </>
      ) : null}
      <ErrorBanner message={action.error} />
      {outcome ? <ReplaySummary dryRun={outcome.dryRun} r={outcome.r} /> : null}
    </div>
  );
}

/** What a replay (or its dry run) did, as the API answers it (usecases/sources.ts replaySourceQuarantine). */
function ReplaySummary({ dryRun, r }: { dryRun: boolean; r: Rec }) {
  const n = (field: string) => num(r[field]) ?? 0;
  const alerts = listOf<unknown>(r.createdAlertIds ?? []).length;
  const reasons = listOf<Rec>(r.reasons ?? []);
  return (
    <div className="banner banner-ok" role="status">
      {dryRun
        ? `${n("examined")} read: ${n("accepted")} accepted by the current schema, ${n("stillRefused")} still refused. Nothing changed.`
        : `${n("examined")} read: ${n("stored")} stored as events${n("alreadyStored") > 0 ? ` (${n("alreadyStored")} were stored already)` : ""}${n("conflicting") > 0 ? `, ${n("conflicting")} kept (their event is stored with other content)` : ""}, ${alerts} alert(s) raised, ${n("stillRefused")} still refused.`}
      {n("previewsOnly") > 0 ? ` ${n("previewsOnly")} kept only as a preview cannot be read again.` : ""}
      {reasons.length > 0 ? (
        <ul>
          {reasons.map((x) => (
            <li key={text(x.reason)}>
              {str(x.records)} × {str(x.reason)}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
