// The Organization page: what the newest inventory snapshot (docs/posture.md) shows — keys with age, last use,
// expiry and owner, users and roles, projects — each with its posture findings, endpoints the key could not read,
// and the coverage ledger. Every value shown comes from the organization (attacker-influenced text: names, emails);
// it is rendered as React text nodes only, never as HTML.

import { useState } from "react";
import { Link } from "react-router-dom";
import { api, listOf } from "../api.ts";
import { ErrorBanner, Loading, SeverityBadge, useLoad } from "../components.tsx";
import { fmtSecs, type Rec, str } from "../format.ts";

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
    endpoints: Array<{ path: string; ok: boolean; error: string | null; missingScope: string | null }>;
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
        <li key={f.ruleId}>
          <SeverityBadge severity={f.severity} /> {f.title}
        </li>
      ))}
    </ul>
  );
}

export function OrganizationPage() {
  const sources = useLoad(() => api.get<unknown>("/api/sources"), []);
  const [sourceId, setSourceId] = useState("");
  const org = useLoad(
    () => api.get<OrgResponse>("/api/organization", sourceId ? { source: sourceId } : {}),
    [sourceId],
  );
  const coverage = useLoad(() => api.get<Ledger>("/api/coverage"), []);
  const [tab, setTab] = useState<"keys" | "users" | "projects" | "coverage">("keys");
  const snapshot = org.data?.snapshot ?? null;
  const objects = org.data?.objects ?? [];
  const nowSecs = Math.floor((snapshot?.takenAtMs ?? Date.now()) / 1000);
  const findingsOf = (kind: string, id: string) =>
    (snapshot?.findings ?? []).filter((f) => f.kind === kind && f.objectId === id);
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const projectName = new Map(of("project").map((p) => [p.id, str(p.data.name)]));
  const keys = [...of("admin_api_key"), ...of("project_api_key")];
  const orgFindings = (snapshot?.findings ?? []).filter((f) => f.kind === "organization" || f.kind === "change");

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
            {snapshot.findings.length} findings (<Link to="/alerts?status=OPEN">open alerts</Link>).
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
        {(["keys", "users", "projects", "coverage"] as const).map((t) => (
          <button key={t} type="button" className={tab === t ? "tab active" : "tab"} onClick={() => setTab(t)}>
            {t === "keys" ? "Keys" : t === "users" ? "Users and roles" : t === "projects" ? "Projects" : "Coverage"}
          </button>
        ))}
      </nav>
      {tab === "keys" ? (
        <section className="card">
          <table>
            <thead>
              <tr>
                <th>Key</th>
                <th>Kind</th>
                <th>Project</th>
                <th>Owner</th>
                <th>Age</th>
                <th>Last use</th>
                <th>Expires</th>
                <th>Findings</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={`${k.kind}:${k.id}`}>
                  <td>
                    {str(k.data.name) || "—"} <span className="muted">{k.id}</span>
                  </td>
                  <td>{k.kind === "admin_api_key" ? "admin" : "project"}</td>
                  <td>{k.projectId ? (projectName.get(k.projectId) ?? k.projectId) : "—"}</td>
                  <td>{ownerOf(k.data)}</td>
                  <td>{days(k.data.created_at, nowSecs)}</td>
                  <td>
                    {typeof k.data.last_used_at === "number" ? `${days(k.data.last_used_at, nowSecs)} ago` : "never"}
                  </td>
                  <td>
                    {k.kind === "admin_api_key"
                      ? typeof k.data.expires_at === "number"
                        ? fmtSecs(k.data.expires_at)
                        : "never"
                      : "—"}
                  </td>
                  <td>
                    <Findings list={findingsOf(k.kind, k.id)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {tab === "users" ? (
        <section className="card">
          <table>
            <thead>
              <tr>
                <th>User</th>
                <th>Email</th>
                <th>Role</th>
                <th>Projects</th>
                <th>Findings</th>
              </tr>
            </thead>
            <tbody>
              {of("user").map((u) => (
                <tr key={u.id}>
                  <td>{str(u.data.name) || u.id}</td>
                  <td>{str(u.data.email)}</td>
                  <td>{str(u.data.role)}</td>
                  <td>{of("project_user").filter((m) => m.id.endsWith(`/${u.id}`)).length}</td>
                  <td>
                    <Findings list={findingsOf("user", u.id)} />
                  </td>
                </tr>
              ))}
              {of("invite").map((i) => (
                <tr key={i.id}>
                  <td className="muted">invite {str(i.data.status)}</td>
                  <td>{str(i.data.email)}</td>
                  <td>{str(i.data.role)}</td>
                  <td>—</td>
                  <td>
                    <Findings list={findingsOf("invite", i.id)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {tab === "projects" ? (
        <section className="card">
          <table>
            <thead>
              <tr>
                <th>Project</th>
                <th>Status</th>
                <th>Members</th>
                <th>Keys</th>
                <th>Service accounts</th>
              </tr>
            </thead>
            <tbody>
              {of("project").map((p) => (
                <tr key={p.id}>
                  <td>
                    {str(p.data.name)} <span className="muted">{p.id}</span>
                  </td>
                  <td>{str(p.data.status)}</td>
                  <td>{of("project_user").filter((m) => m.projectId === p.id).length}</td>
                  <td>{of("project_api_key").filter((k) => k.projectId === p.id).length}</td>
                  <td>{of("project_service_account").filter((s) => s.projectId === p.id).length}</td>
                </tr>
              ))}
            </tbody>
          </table>
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
              <table>
                <thead>
                  <tr>
                    <th>Type</th>
                    <th>Seen</th>
                    <th>Last seen</th>
                    <th>Tests</th>
                    <th>Rules</th>
                  </tr>
                </thead>
                <tbody>
                  {coverage.data.types.map((t) => (
                    <tr key={t.type}>
                      <td>{t.type}</td>
                      <td>{t.seenCount}</td>
                      <td>{t.lastSeenSecs === null ? "—" : fmtSecs(t.lastSeenSecs)}</td>
                      <td>{t.tests}</td>
                      <td className="wrap">{t.rules.join(", ") || "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : (
            <Loading when={coverage.loading} />
          )}
        </section>
      ) : null}
    </>
  );
}
