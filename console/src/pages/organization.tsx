// The Organization page: what the newest inventory snapshot (docs/posture.md) shows — keys with age, last use,
// expiry and owner, users and roles, projects, controls (mTLS, data retention, spend alerts, model and hosted-tool
// permissions) — each with its posture findings, endpoints the key could not read, the history of one key or user
// across snapshots beside its audit events, and the coverage ledger. Every value shown comes from the organization (attacker-influenced text: names, emails);
// it is rendered as React text nodes only, never as HTML.

import { type ReactNode, useState } from "react";
import { Link } from "react-router-dom";
import { api, listOf } from "../api.ts";
import { ErrorBanner, Loading, SeverityBadge, useLoad, usePageTitle } from "../components.tsx";
import { fmtMs, fmtSecs, pick, type Rec, str } from "../format.ts";
import { Table } from "../table.tsx";

interface OrgObject {
  kind: string;
  id: string;
  projectId: string | null;
  data: Rec;
}

interface Finding {
  ruleId: string;
  kind: string;
  objectId: string;
  title: string;
  severity: string;
  sinceMs: number;
}

interface OrgResponse {
  source: { id: string; name: string } | null;
  snapshot: {
    takenAtMs: number;
    objectCount: number;
    requests: number;
    changeCount: number | null;
    findings: Finding[];
    endpoints: Array<{ kind: string; path: string; ok: boolean; error: string | null; missingScope: string | null }>;
  } | null;
  objects: OrgObject[];
}

interface TypeRow {
  type: string;
  seenCount: number;
  lastSeenSecs: number | null;
  rules: string[];
  tests: number;
}

interface Ledger {
  known: number;
  seen: number;
  covered: number;
  types: TypeRow[];
  unknownSeen: Array<{ type: string; seenCount: number; lastSeenSecs: number }>;
}

interface HistoryChange {
  snapshotId: number;
  takenAtMs: number;
  change: string;
  fields: string[];
  before: Rec | null;
  after: Rec | null;
  auditEventIds: string[] | null;
}

interface HistoryResponse {
  kind: string;
  id: string;
  current: Rec | null;
  currentAsOfMs: number | null;
  firstSeenMs: number | null;
  changes: HistoryChange[];
  events: Rec[];
}

interface HistoryTarget {
  kind: string;
  id: string;
  label: string;
}

const DAY = 86_400;

function days(fromSecs: unknown, nowSecs: number): string {
  return typeof fromSecs === "number" ? `${Math.floor((nowSecs - fromSecs) / DAY)} d` : "—";
}

function ownerOf(key: Rec): string {
  const owner = (key.owner ?? {}) as Rec;
  const type = str(owner.type);
  const inner = ((type && owner[type]) ?? owner) as Rec;
  return str(inner.email ?? inner.name ?? inner.id) || "—";
}

function Findings({ list }: { list: Finding[] }) {
  if (list.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="plain">
      {list.map((f) => (
        <li key={`${f.ruleId}:${f.objectId}:${f.title}`}>
          <SeverityBadge severity={f.severity} /> {str(f.title)}
        </li>
      ))}
    </ul>
  );
}

function valueText(v: unknown): string {
  return v === undefined || v === null ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** One change seen between two snapshots: what it was, field by field. */
function ChangeLine({ c }: { c: HistoryChange }) {
  const fields = c.change === "changed" ? c.fields : [];
  return (
    <li>
      <strong>{fmtMs(c.takenAtMs)}</strong> {c.change}
      {fields.length > 0 ? (
        <ul className="plain">
          {fields.map((f) => (
            <li key={f}>
              {f}: {valueText(c.before?.[f])} → {valueText(c.after?.[f])}
            </li>
          ))}
        </ul>
      ) : null}
      <div className="muted">
        {c.auditEventIds === null
          ? "not judged against the audit log yet"
          : c.auditEventIds.length > 0
            ? `audit log: ${c.auditEventIds.join(", ")}`
            : "no audit event recorded it"}
      </div>
    </li>
  );
}

/** One object across the kept snapshots (left) beside the audit events about it (right). */
function HistoryPanel({ sourceId, target, onClose }: { sourceId: string; target: HistoryTarget; onClose: () => void }) {
  const history = useLoad(
    () =>
      api.get<HistoryResponse>("/api/organization/history", {
        kind: target.kind,
        id: target.id,
        ...(sourceId ? { source: sourceId } : {}),
      }),
    [sourceId, target.kind, target.id],
  );
  const h = history.data;
  return (
    <section className="card" aria-label="History">
      <header className="page-head">
        <h2>
          History of {target.label} <span className="muted">{target.id}</span>
        </h2>
        <button type="button" className="link-button" onClick={onClose}>
          Close
        </button>
      </header>
      <ErrorBanner message={history.error} />
      <Loading when={history.loading && !h} />
      {h ? (
        <div className="two-col">
          <div>
            <h3>Snapshots</h3>
            <p className="muted">
              {h.firstSeenMs === null ? "First sighting pruned." : `First seen ${fmtMs(h.firstSeenMs)}.`}{" "}
              {h.current === null
                ? "Not in the newest snapshot."
                : `In the newest snapshot (${fmtMs(h.currentAsOfMs)}).`}
            </p>
            {h.changes.length === 0 ? (
              <p className="muted">No change between the kept snapshots.</p>
            ) : (
              <ul className="plain">
                {h.changes.map((c) => (
                  <ChangeLine key={`${c.snapshotId}:${c.change}`} c={c} />
                ))}
              </ul>
            )}
          </div>
          <div>
            <h3>Audit events</h3>
            <Table
              rows={h.events}
              rowKey={(e) => str(e.id)}
              empty="No stored audit event names it."
              columns={[
                { header: "Time", cell: (e) => fmtSecs(e.effectiveAtSecs) },
                { header: "Type", cell: (e) => str(e.type) },
                { header: "Actor", className: "soft-wrap", cell: (e) => str(pick(e, "actorEmail", "actorId")) || "—" },
              ]}
            />
          </div>
        </div>
      ) : null}
    </section>
  );
}

/** A control's findings, when it has any (controls without one stay uncluttered). */
function ControlFindings({ list }: { list: Finding[] }) {
  return list.length > 0 ? <Findings list={list} /> : null;
}

/** Organization controls of one kind, each with its findings; "none" when there is none. */
function ControlList({
  items,
  text,
  findingsOf,
}: {
  items: OrgObject[];
  text: (o: OrgObject) => ReactNode;
  findingsOf: (id: string) => Finding[];
}) {
  if (items.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="plain">
      {items.map((o) => (
        <li key={o.id}>
          {text(o)} <ControlFindings list={findingsOf(o.id)} />
        </li>
      ))}
    </ul>
  );
}

function HistoryButton({ target, open }: { target: HistoryTarget; open: (t: HistoryTarget) => void }) {
  return (
    <button type="button" className="link-button" onClick={() => open(target)} aria-label={`History of ${target.id}`}>
      History
    </button>
  );
}

function ProjectName({ p }: { p: OrgObject }) {
  return (
    <>
      {str(p.data.name)} <span className="muted">{str(p.id)}</span>
    </>
  );
}

function tools(permissions: Rec | undefined): string {
  if (!permissions) return "—";
  const on = Object.entries(permissions)
    .filter(([, v]) => typeof v === "object" && v !== null && (v as Rec).enabled === true)
    .map(([k]) => k);
  return on.length > 0 ? on.sort().join(", ") : "none";
}

function models(policy: Rec | undefined): string {
  if (!policy) return "no policy (every model)";
  const ids = Array.isArray(policy.model_ids) ? policy.model_ids.map(String).join(", ") : "";
  return `${policy.mode === "deny_list" ? "all but" : "only"} ${ids || "—"}`;
}

function spend(alert: Rec): string {
  const amount = typeof alert.threshold_amount === "number" ? (alert.threshold_amount / 100).toFixed(2) : "?";
  const recipients = Array.isArray((alert.notification_channel as Rec | undefined)?.recipients)
    ? ((alert.notification_channel as Rec).recipients as unknown[]).length
    : 0;
  return `${amount} ${str(alert.currency).toUpperCase()} per ${str(alert.interval) || "?"} (${recipients} recipient${recipients === 1 ? "" : "s"})`;
}

export function OrganizationPage() {
  usePageTitle("Organization");
  const sources = useLoad(() => api.get<unknown>("/api/sources"), []);
  const [sourceId, setSourceId] = useState("");
  const org = useLoad(
    () => api.get<OrgResponse>("/api/organization", sourceId ? { source: sourceId } : {}),
    [sourceId],
  );
  const coverage = useLoad(() => api.get<Ledger>("/api/coverage"), []);
  const [tab, setTab] = useState<"keys" | "users" | "projects" | "controls" | "coverage">("keys");
  const [history, setHistory] = useState<HistoryTarget | null>(null);
  const snapshot = org.data?.snapshot ?? null;
  const objects = org.data?.objects ?? [];
  const nowSecs = Math.floor((snapshot?.takenAtMs ?? Date.now()) / 1000);
  const findingsOf = (kind: string, id: string) =>
    (snapshot?.findings ?? []).filter((f) => f.kind === kind && f.objectId === id);
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const projectName = new Map(of("project").map((p) => [p.id, str(p.data.name)]));
  const keys = [...of("admin_api_key"), ...of("project_api_key")];
  const orgFindings = (snapshot?.findings ?? []).filter((f) => f.kind === "organization" || f.kind === "change");
  // Control findings are findings on changes; a project setting's id is its project.
  const changeFindingsOf = (id: string) =>
    (snapshot?.findings ?? []).filter((f) => f.kind === "change" && f.objectId === id);
  const byProject = (kind: string) => new Map(of(kind).map((o) => [o.projectId ?? o.id, o.data]));
  const retention = byProject("project_data_retention");
  const modelPolicy = byProject("project_model_permissions");
  const toolPolicy = byProject("project_hosted_tool_permissions");
  const orgRetention = of("data_retention")[0]?.data;
  const countIn = (kind: string, projectId: string) => of(kind).filter((o) => o.projectId === projectId).length;
  const projectSpendAlerts = (projectId: string) => of("project_spend_alert").filter((a) => a.projectId === projectId);

  return (
    <>
      <header className="page-head">
        <h1>Organization</h1>
        <label>
          Source{" "}
          <select value={sourceId || org.data?.source?.id || ""} onChange={(e) => setSourceId(e.target.value)}>
            {listOf<Rec>(sources.data, "sources").map((s) => (
              <option key={str(s.id)} value={str(s.id)}>
                {str(s.name)}
              </option>
            ))}
          </select>
        </label>
      </header>
      <ErrorBanner message={org.error} />
      <Loading when={org.loading && !org.data} />
      {org.data && !snapshot ? (
        <p className="muted">
          No inventory snapshot yet: snapshots run hourly per source (<code>vigil posture snapshot</code> runs one now).
        </p>
      ) : null}
      {snapshot ? (
        <section className="card" aria-label="Snapshot">
          <p>
            Snapshot of {new Date(snapshot.takenAtMs).toISOString()}: {snapshot.objectCount} objects,{" "}
            {snapshot.requests} requests, {snapshot.changeCount ?? "no"} changes since the previous one,{" "}
            {snapshot.findings.length} findings, each also an alert of this source (
            <Link to={`/alerts?status=UNRESOLVED&source=${encodeURIComponent(org.data?.source?.id ?? sourceId)}`}>
              its unresolved alerts
            </Link>
            ).
          </p>
          {snapshot.endpoints
            .filter((e) => !e.ok)
            .map((e) => (
              <div key={e.path} className="banner banner-error" role="alert">
                Not read: {e.error}
              </div>
            ))}
          {orgFindings.length > 0 ? <Findings list={orgFindings} /> : null}
        </section>
      ) : null}
      <nav className="tabs" aria-label="Organization sections">
        {(["keys", "users", "projects", "controls", "coverage"] as const).map((t) => (
          <button key={t} type="button" className={tab === t ? "tab active" : "tab"} onClick={() => setTab(t)}>
            {
              {
                keys: "Keys",
                users: "Users and roles",
                projects: "Projects",
                controls: "Controls",
                coverage: "Coverage",
              }[t]
            }
          </button>
        ))}
      </nav>
      {history ? (
        <HistoryPanel
          sourceId={sourceId || org.data?.source?.id || ""}
          target={history}
          onClose={() => setHistory(null)}
        />
      ) : null}
      {tab === "keys" ? (
        <section className="card">
          <Table
            rows={keys}
            rowKey={(k) => `${k.kind}:${k.id}`}
            columns={[
              {
                header: "Key",
                cell: (k) => (
                  <>
                    {str(k.data.name) || "—"} <span className="muted">{str(k.id)}</span>{" "}
                    <HistoryButton
                      target={{ kind: k.kind, id: k.id, label: str(k.data.name) || k.id }}
                      open={setHistory}
                    />
                  </>
                ),
              },
              { header: "Kind", cell: (k) => (k.kind === "admin_api_key" ? "admin" : "project") },
              { header: "Project", cell: (k) => (k.projectId ? (projectName.get(k.projectId) ?? k.projectId) : "—") },
              { header: "Owner", cell: (k) => ownerOf(k.data) },
              { header: "Age", cell: (k) => days(k.data.created_at, nowSecs) },
              {
                header: "Last use",
                cell: (k) =>
                  typeof k.data.last_used_at === "number" ? `${days(k.data.last_used_at, nowSecs)} ago` : "never",
              },
              {
                header: "Expires",
                cell: (k) =>
                  k.kind === "admin_api_key"
                    ? typeof k.data.expires_at === "number"
                      ? fmtSecs(k.data.expires_at)
                      : "never"
                    : "—",
              },
              { header: "Findings", cell: (k) => <Findings list={findingsOf(k.kind, k.id)} /> },
            ]}
          />
        </section>
      ) : null}
      {tab === "users" ? (
        <section className="card">
          <Table
            rows={[...of("user"), ...of("invite")]}
            rowKey={(u) => u.id}
            columns={[
              {
                header: "User",
                cell: (u) => (
                  <>
                    {u.kind === "invite" ? (
                      <span className="muted">invite {str(u.data.status)}</span>
                    ) : (
                      str(u.data.name) || u.id
                    )}{" "}
                    <HistoryButton
                      target={{ kind: u.kind, id: u.id, label: str(u.data.email) || u.id }}
                      open={setHistory}
                    />
                  </>
                ),
              },
              { header: "Email", cell: (u) => str(u.data.email) },
              { header: "Role", cell: (u) => str(u.data.role) },
              {
                header: "Projects",
                cell: (u) =>
                  u.kind === "invite" ? "—" : of("project_user").filter((m) => m.id.endsWith(`/${u.id}`)).length,
              },
              { header: "Findings", cell: (u) => <Findings list={findingsOf(u.kind, u.id)} /> },
            ]}
          />
        </section>
      ) : null}
      {tab === "projects" ? (
        <section className="card">
          <Table
            rows={of("project")}
            rowKey={(p) => p.id}
            columns={[
              { header: "Project", cell: (p) => <ProjectName p={p} /> },
              { header: "Status", cell: (p) => str(p.data.status) },
              { header: "Members", cell: (p) => countIn("project_user", p.id) },
              { header: "Keys", cell: (p) => countIn("project_api_key", p.id) },
              { header: "Service accounts", cell: (p) => countIn("project_service_account", p.id) },
            ]}
          />
        </section>
      ) : null}
      {tab === "controls" ? (
        <section className="card" aria-label="Controls">
          <h2>Organization</h2>
          <dl className="facts">
            <dt>Data retention</dt>
            <dd>
              {of("data_retention").length > 0 || snapshot?.endpoints.some((e) => e.kind === "data_retention" && e.ok)
                ? str(orgRetention?.type) || "standard (none configured)"
                : "not read"}{" "}
              <ControlFindings list={changeFindingsOf("organization")} />
            </dd>
            <dt>Spend alerts</dt>
            <dd>
              <ControlList
                items={of("spend_alert")}
                findingsOf={changeFindingsOf}
                text={(a) => (
                  <>
                    {spend(a.data)} <span className="muted">{str(a.id)}</span>
                  </>
                )}
              />
            </dd>
            <dt>mTLS certificates</dt>
            <dd>
              <ControlList
                items={of("certificate")}
                findingsOf={changeFindingsOf}
                text={(c) => `${str(c.data.name) || c.id} — ${c.data.active === true ? "active" : "inactive"}`}
              />
            </dd>
            <dt>IP allowlists</dt>
            <dd className="muted">
              Not readable through the Admin API; their changes are watched in the audit log (ip_allowlist.*).
            </dd>
          </dl>
          <h2>Projects</h2>
          <Table
            rows={of("project").filter((p) => p.data.status !== "archived")}
            rowKey={(p) => p.id}
            columns={[
              { header: "Project", cell: (p) => <ProjectName p={p} /> },
              { header: "Data retention", cell: (p) => str(retention.get(p.id)?.type) || "—" },
              { header: "Models", className: "wrap", cell: (p) => models(modelPolicy.get(p.id)) },
              { header: "Hosted tools on", cell: (p) => tools(toolPolicy.get(p.id)) },
              {
                header: "Spend alerts",
                cell: (p) =>
                  projectSpendAlerts(p.id)
                    .map((a) => spend(a.data))
                    .join("; ") || "—",
              },
              {
                header: "Findings",
                cell: (p) => (
                  <Findings
                    list={[
                      ...changeFindingsOf(p.id),
                      ...projectSpendAlerts(p.id).flatMap((a) => changeFindingsOf(a.id)),
                    ]}
                  />
                ),
              },
            ]}
          />
        </section>
      ) : null}
      {tab === "coverage" ? (
        <section className="card" aria-label="Coverage">
          <ErrorBanner message={coverage.error} />
          {coverage.data ? (
            <>
              <p>
                {coverage.data.known} event types known to the spec; {coverage.data.seen} seen in this organization;{" "}
                {coverage.data.covered} covered by a tested rule.
              </p>
              {coverage.data.unknownSeen.length > 0 ? (
                <div className="banner" role="status">
                  Seen but unknown to the spec: {coverage.data.unknownSeen.map((u) => u.type).join(", ")}
                </div>
              ) : null}
              <Table
                rows={coverage.data.types}
                rowKey={(t) => t.type}
                columns={[
                  { header: "Type", cell: (t) => t.type },
                  { header: "Seen", cell: (t) => t.seenCount },
                  { header: "Last seen", cell: (t) => (t.lastSeenSecs === null ? "—" : fmtSecs(t.lastSeenSecs)) },
                  { header: "Tests", cell: (t) => t.tests },
                  { header: "Rules", className: "wrap", cell: (t) => t.rules.join(", ") || "—" },
                ]}
              />
            </>
          ) : (
            <Loading when={coverage.loading} />
          )}
        </section>
      ) : null}
    </>
  );
}
