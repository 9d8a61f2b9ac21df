import { useState } from "react";
import { api, listOf, objectOf } from "../api.ts";
import {
  AdminOnly,
  AdminOnlyNote,
  AttackTags,
  EnabledBadge,
  EnableToggle,
  ErrorBanner,
  JsonBlock,
  Loading,
  SeverityBadge,
  useAction,
  useLoad,
  usePageTitle,
} from "../components.tsx";
import { pick, type Rec, str, text, visible } from "../format.ts";
import { attackOf, compareTactics, tacticName, techniqueName } from "../mitre.ts";
import { Table } from "../table.tsx";

interface TestRun {
  passed: number;
  failed: number;
  results: Rec[];
}

/** The server reports failures only; results that say they passed are left out of the table. */
function resultOk(r: Rec): boolean {
  const v = pick(r, "passed", "ok", "pass");
  return v === true || str(r.status).toLowerCase() === "passed";
}

function countOf(v: unknown): string {
  return Array.isArray(v) ? String(v.length) : str(v);
}

/** The rule's files as text (React escapes them; nothing is rendered as markup). */
function RuleSource({ id }: { id: string }) {
  const detail = useLoad(
    () => api.get<unknown>(`/api/rules/${encodeURIComponent(id)}`).then((d) => objectOf<Rec>(d, "rule")),
    [id],
  );
  const files = listOf<Rec>(detail.data?.files ?? []);
  return (
    <>
      <h3>Source</h3>
      <ErrorBanner message={detail.error} />
      <Loading when={detail.loading && !detail.data} />
      {detail.data && files.length === 0 ? <p className="muted">The rule's file cannot be read.</p> : null}
      {files.map((f) => (
        <figure key={str(f.name)} className="json-figure" aria-label={`Rule source ${str(f.name)}`}>
          <figcaption className="muted mono small">{str(f.name)}</figcaption>
          <pre className="code">{str(f.text)}</pre>
        </figure>
      ))}
    </>
  );
}

/** The rules under each ATT&CK tactic they map to (a rule with several tactics is under each), then the rest. */
function RulesByTactic({ rules }: { rules: Rec[] }) {
  const groups = new Map<string, Array<{ rule: Rec; techniques: string[] }>>();
  const unmapped: Rec[] = [];
  for (const rule of rules) {
    const entries = attackOf(rule.reports);
    if (entries.length === 0) unmapped.push(rule);
    for (const tactic of new Set(entries.map((a) => a.tactic))) {
      const techniques = entries.filter((a) => a.tactic === tactic && a.technique).map((a) => a.technique);
      groups.set(tactic, [...(groups.get(tactic) ?? []), { rule, techniques }]);
    }
  }
  const tactics = [...groups.keys()].sort(compareTactics);
  const name = (r: Rec) => str(pick(r, "displayName", "title", "name")) || str(r.id);
  return (
    <div className="by-tactic">
      {tactics.map((tactic) => (
        <section key={tactic} className="tactic-group" aria-label={`Tactic ${tactic}`}>
          <h3>
            {tacticName(tactic)} <span className="muted mono small">{tactic}</span>{" "}
            <span className="muted small">({groups.get(tactic)?.length ?? 0})</span>
          </h3>
          <ul>
            {(groups.get(tactic) ?? []).map(({ rule, techniques }) => (
              <li key={str(rule.id)}>
                <SeverityBadge severity={rule.severity} /> {name(rule)}{" "}
                <span className="muted mono small">{str(rule.id)}</span>
                {techniques.length > 0 ? (
                  <span className="small">
                    {" "}
                    — {techniques.map((t) => (techniqueName(t) ? `${t} ${techniqueName(t)}` : t)).join("; ")}
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        </section>
      ))}
      {unmapped.length > 0 ? (
        <section className="tactic-group" aria-label="No ATT&CK mapping">
          <h3>
            No ATT&amp;CK mapping <span className="muted small">({unmapped.length})</span>
          </h3>
          <ul>
            {unmapped.map((rule) => (
              <li key={str(rule.id)}>
                <SeverityBadge severity={rule.severity} /> {name(rule)}{" "}
                <span className="muted mono small">{str(rule.id)}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

export function DetectionsPage() {
  usePageTitle("Detections");
  const packs = useLoad(() => api.get<unknown>("/api/packs").then((d) => listOf<Rec>(d, "packs")), []);
  const rules = useLoad(
    () =>
      api
        .get<unknown>("/api/rules")
        .then((d) => ({ list: listOf<Rec>(d, "rules"), problems: listOf<string>(d, "problems") })),
    [],
  );
  const toggling = useAction();
  const testing = useAction();
  const [filter, setFilter] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const [byTactic, setByTactic] = useState(false);
  const [run, setRun] = useState<TestRun | null>(null);
  const running = testing.busy;

  function toggle(kind: "packs" | "rules", id: string, enable: boolean) {
    return toggling.run(async () => {
      await api.post(`/api/${kind}/${encodeURIComponent(id)}/${enable ? "enable" : "disable"}`, {});
      packs.reload();
      rules.reload();
    });
  }

  function runTests(ruleIds?: string[]) {
    return testing.run(async () => {
      setRun(await api.post<TestRun>("/api/rules/test", ruleIds ? { ruleIds } : {}));
    });
  }

  const shown = (rules.data?.list ?? []).filter((r) =>
    `${str(r.id)} ${str(pick(r, "displayName", "title", "name"))} ${str(pick(r, "packId", "pack"))} ${attackOf(
      r.reports,
    )
      .map((a) => `${a.tactic} ${tacticName(a.tactic)} ${a.technique}`)
      .join(" ")}`
      .toLowerCase()
      .includes(filter.trim().toLowerCase()),
  );

  return (
    <>
      <header className="page-head">
        <h1>Detections</h1>
        <button type="button" className="primary" disabled={running} onClick={() => void runTests()}>
          {running ? "Running tests…" : "Run All Tests"}
        </button>
      </header>
      <AdminOnly fallback={<AdminOnlyNote what="enable or disable packs and rules" />}>{null}</AdminOnly>
      <ErrorBanner message={toggling.error ?? testing.error ?? packs.error ?? rules.error} />
      {rules.data && rules.data.problems.length > 0 ? (
        <div className="banner banner-error" role="alert">
          <strong>
            {rules.data.problems.length} rule {rules.data.problems.length === 1 ? "file" : "files"} could not be loaded;
            their rules do not run and their data models do not apply (the others do). Fix the file and restart Vigil:
          </strong>
          <ul>
            {rules.data.problems.map((p) => (
              <li key={p} className="mono wrap">
                {p}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {run ? (
        <section className="card" aria-label="Test results">
          <h2>
            Test results: <span className="ok-text">{run.passed} passed</span>,{" "}
            <span className={run.failed > 0 ? "err-text" : ""}>{run.failed} failed</span>
          </h2>
          <Table
            label="Failed tests"
            rows={listOf<Rec>(run.results).filter((r) => !resultOk(r))}
            // A rule's tests may share names: the place tells them apart.
            rowKey={(r, i) => `${str(r.ruleId)}-${str(pick(r, "test", "name"))}-${i}`}
            columns={[
              { header: "Rule", className: "mono", cell: (r) => str(r.ruleId) },
              { header: "Test", cell: (r) => str(pick(r, "test", "name", "testName")) },
              {
                header: "Message",
                className: "wrap prewrap",
                cell: (r) =>
                  Array.isArray(r.reasons) ? r.reasons.map(str).join("\n") : str(pick(r, "message", "error")),
              },
            ]}
          />
        </section>
      ) : null}
      <section className="card">
        <h2>Packs</h2>
        <Loading when={packs.loading && !packs.data} />
        <Table
          label="Packs"
          rows={packs.data}
          rowKey={(p) => str(p.id)}
          empty="No packs installed."
          columns={[
            {
              header: "Pack",
              cell: (p) => (
                <>
                  <strong>{str(pick(p, "displayName", "name")) || str(p.id)}</strong>{" "}
                  <span className="muted mono">{str(p.id)}</span>
                </>
              ),
            },
            { header: "Description", className: "wrap", cell: (p) => str(p.description) },
            { header: "Rules", cell: (p) => countOf(pick(p, "ruleCount", "rules")) || "—" },
            { header: "State", cell: (p) => <EnabledBadge enabled={p.enabled !== false} /> },
            {
              cell: (p) => (
                <EnableToggle
                  enabled={p.enabled !== false}
                  what={`pack ${str(p.id)}`}
                  onToggle={(on) => void toggle("packs", text(p.id), on)}
                />
              ),
            },
          ]}
        />
      </section>
      <section className="card">
        <div className="card-head">
          <h2>Rules ({shown.length})</h2>
          <div className="head-badges">
            <fieldset className="segmented" aria-label="Rules view">
              <button type="button" aria-pressed={!byTactic} onClick={() => setByTactic(false)}>
                List
              </button>
              <button type="button" aria-pressed={byTactic} onClick={() => setByTactic(true)}>
                By ATT&amp;CK tactic
              </button>
            </fieldset>
            <label className="inline">
              Filter rules
              <input value={filter} placeholder="id, name or pack" onChange={(e) => setFilter(e.target.value)} />
            </label>
          </div>
        </div>
        <Loading when={rules.loading && !rules.data} />
        {byTactic ? <RulesByTactic rules={shown} /> : null}
        <table aria-label="Rules" hidden={byTactic}>
          <thead>
            <tr>
              <th>Severity</th>
              <th>Rule</th>
              <th>Pack</th>
              <th>MITRE ATT&amp;CK</th>
              <th>Tests</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => {
              const id = text(r.id);
              const enabled = r.enabled !== false;
              const tests = listOf<unknown>(pick(r, "tests") ?? []);
              const isOpen = open === id;
              return [
                <tr key={id}>
                  <td>
                    <SeverityBadge severity={r.severity} />
                  </td>
                  <td className="wrap">
                    <button
                      type="button"
                      className="link-button"
                      aria-expanded={isOpen}
                      onClick={() => setOpen(isOpen ? null : id)}
                    >
                      {str(pick(r, "displayName", "title", "name")) || visible(id)}
                    </button>
                    <div className="muted mono small">{visible(id)}</div>
                  </td>
                  <td className="mono">{str(pick(r, "packId", "pack")) || "—"}</td>
                  <td>
                    <AttackTags reports={r.reports} />
                  </td>
                  <td>{tests.length || str(r.testCount) || "0"}</td>
                  <td>
                    {str(r.loadProblem) ? (
                      <span className="badge off" title={str(r.loadProblem)}>
                        does not load
                      </span>
                    ) : (
                      <EnabledBadge enabled={enabled} />
                    )}
                  </td>
                  <td className="nowrap">
                    <EnableToggle
                      enabled={enabled}
                      what={`rule ${id}`}
                      onToggle={(on) => void toggle("rules", id, on)}
                    />{" "}
                    <button
                      type="button"
                      aria-label={`Test rule ${id}`}
                      disabled={tests.length === 0}
                      onClick={() => void runTests([id])}
                    >
                      Test
                    </button>
                  </td>
                </tr>,
                isOpen ? (
                  <tr key={`${id}-detail`} className="detail-row">
                    <td colSpan={7}>
                      {r.description ? <p className="wrap">{str(r.description)}</p> : null}
                      {r.runbook ? <p className="wrap prewrap">Runbook: {str(r.runbook)}</p> : null}
                      <dl className="facts">
                        <dt>Log types</dt>
                        <dd className="mono">
                          {listOf<unknown>(r.logTypes ?? [])
                            .map(str)
                            .join(", ") || "—"}
                        </dd>
                        <dt>Threshold</dt>
                        <dd>{str(r.threshold) || "1"}</dd>
                        <dt>Dedup period</dt>
                        <dd>{r.dedupPeriodMinutes ? `${str(r.dedupPeriodMinutes)} min` : "—"}</dd>
                        <dt>Tags</dt>
                        <dd>
                          {listOf<unknown>(r.tags ?? [])
                            .map(str)
                            .join(", ") || "—"}
                        </dd>
                        <dt>Kind</dt>
                        <dd>{str(r.kind) || "—"}</dd>
                      </dl>
                      <RuleSource id={id} />
                      <h3>Tests</h3>
                      {tests.length === 0 ? (
                        <p className="muted">No tests.</p>
                      ) : (
                        <ul className="test-list">
                          {tests.map((t, i) =>
                            typeof t === "string" ? (
                              <li key={t}>{t}</li>
                            ) : (
                              <li key={str(pick(t, "name", "Name")) || i}>
                                <strong>{str(pick(t, "name", "Name"))}</strong>{" "}
                                <span className="muted">
                                  expects {str(pick(t, "expectedResult", "ExpectedResult", "expected"))}
                                </span>
                                {pick(t, "log", "Log") !== undefined ? (
                                  <JsonBlock value={pick(t, "log", "Log")} />
                                ) : null}
                              </li>
                            ),
                          )}
                        </ul>
                      )}
                    </td>
                  </tr>
                ) : null,
              ];
            })}
          </tbody>
        </table>
      </section>
    </>
  );
}
