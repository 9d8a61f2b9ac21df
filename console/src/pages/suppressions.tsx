// Suppressions: "suppress matches like this" on an alert page, and the Suppressions page listing every one with
// what it absorbed, who made it and why, and a way to remove it. Everything shown is rendered as text.

import { type FormEvent, useState } from "react";
import { Link } from "react-router-dom";
import { api, listOf, objectOf } from "../api.ts";
import { ErrorBanner, Loading, useAction, useLoad, usePageTitle } from "../components.tsx";
import { fmtMs, pick, type Rec, str, text, visible } from "../format.ts";
import { Table } from "../table.tsx";

/** The fields a suppression can pin, as the API names them, with the matched event's field for each. */
const FIELDS: Array<{ field: string; label: string; from: (ev: Rec, alert: Rec) => unknown }> = [
  { field: "actorEmail", label: "Actor email", from: (ev) => ev.actorEmail },
  { field: "actorId", label: "Actor id", from: (ev) => ev.actorId },
  { field: "ip", label: "IP address", from: (ev) => ev.ip },
  { field: "projectId", label: "Project", from: (ev) => ev.projectId },
  { field: "dedup", label: "Alert grouping key", from: (_ev, alert) => alert.dedupString },
];

const EXPIRIES: Array<{ label: string; secs: number | null }> = [
  { label: "1 day", secs: 86_400 },
  { label: "7 days", secs: 7 * 86_400 },
  { label: "30 days", secs: 30 * 86_400 },
  { label: "90 days", secs: 90 * 86_400 },
  { label: "Until removed", secs: null },
];

const FIELD_LABEL = new Map(FIELDS.map((f) => [f.field, f.label]));

/**
 * On an alert: pick the values of its first matched event (actor, IP, project, or the alert's grouping key),
 * an expiry and a reason; later matches of the rule with those values are counted, not alerted.
 */
export function SuppressControl({ alert, events }: { alert: Rec; events: Rec[] }) {
  const [open, setOpen] = useState(false);
  const first = events.find((e) => e && typeof e === "object") ?? {};
  // The values as they are (a suppression matches them exactly); shown with their hidden characters visible.
  const offered = FIELDS.map((f) => ({ ...f, value: text(f.from(first, alert)) })).filter((f) => f.value !== "");
  const [chosen, setChosen] = useState<Set<string>>(
    () =>
      new Set(offered.some((f) => f.field === "actorEmail") ? ["actorEmail"] : offered.slice(0, 1).map((f) => f.field)),
  );
  const [expiry, setExpiry] = useState("1");
  const [reason, setReason] = useState("");
  const action = useAction();
  const [made, setMade] = useState<Rec | null>(null);

  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run(async () => {
      const conditions = Object.fromEntries(offered.filter((f) => chosen.has(f.field)).map((f) => [f.field, f.value]));
      const res = await api.post<unknown>("/api/suppressions", {
        ruleId: text(alert.ruleId),
        conditions,
        reason,
        expiresInSecs: EXPIRIES[Number(expiry)]?.secs ?? null,
      });
      setMade(objectOf<Rec>(res, "suppression"));
      setOpen(false);
    });
  }

  if (made) {
    return (
      <div className="banner banner-ok" role="status">
        Suppressed: later matches of {str(alert.ruleId)} like this are counted, not alerted.{" "}
        <Link to="/suppressions">See suppressions</Link>
      </div>
    );
  }
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)} disabled={offered.length === 0}>
        Suppress matches like this
      </button>
    );
  }
  return (
    <form className="form suppress-form" onSubmit={submit} aria-label="Suppress matches like this">
      <fieldset>
        <legend>Suppress matches of {str(alert.ruleId)} with</legend>
        {offered.map((f) => (
          <label key={f.field} className="check">
            <input
              type="checkbox"
              checked={chosen.has(f.field)}
              onChange={(e) => {
                const next = new Set(chosen);
                if (e.target.checked) next.add(f.field);
                else next.delete(f.field);
                setChosen(next);
              }}
            />
            {f.label}: <span className="mono wrap">{visible(f.value)}</span>
          </label>
        ))}
      </fieldset>
      <label>
        For
        <select value={expiry} onChange={(e) => setExpiry(e.target.value)}>
          {EXPIRIES.map((x, i) => (
            <option key={x.label} value={String(i)}>
              {x.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Reason (why these matches are benign)
        <input value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={1000} />
      </label>
      <ErrorBanner message={action.error} />
      <div className="actions">
        <button type="submit" disabled={action.busy || chosen.size === 0 || reason.trim() === ""}>
          Suppress
        </button>
        <button type="button" className="link-button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function stateOf(s: Rec, nowMs: number): string {
  if (s.removedAtMs != null) return `Removed ${fmtMs(s.removedAtMs)} by ${str(s.removedBy)}`;
  const expires = typeof s.expiresAtMs === "number" ? s.expiresAtMs : null;
  if (expires !== null && expires <= nowMs) return `Expired ${fmtMs(expires)}`;
  return expires === null ? "Active until removed" : `Active until ${fmtMs(expires)}`;
}

export function SuppressionsPage() {
  usePageTitle("Suppressions");
  const [showRemoved, setShowRemoved] = useState(false);
  const loaded = useLoad(
    () => api.get<unknown>("/api/suppressions", { all: showRemoved ? "true" : undefined }),
    [showRemoved],
  );
  const action = useAction();
  const list = listOf<Rec>(loaded.data, "suppressions");
  const nowMs = Number(pick(loaded.data, "nowMs") ?? Date.now());

  function remove(id: string) {
    void action.run(async () => {
      await api.del(`/api/suppressions/${encodeURIComponent(id)}`);
      loaded.reload();
    });
  }

  return (
    <>
      <header className="page-head">
        <h1>Suppressions</h1>
      </header>
      <p className="muted">
        Matches like these are counted, not alerted: no alert, no delivery. Make one from an alert ("Suppress matches
        like this"); per-rule severity and enable/disable are on Detections.
      </p>
      <label className="check">
        <input type="checkbox" checked={showRemoved} onChange={(e) => setShowRemoved(e.target.checked)} />
        Show removed
      </label>
      <ErrorBanner message={loaded.error ?? action.error} />
      <Loading when={loaded.loading && !loaded.data} />
      {loaded.data && list.length === 0 ? <p className="muted">No suppressions.</p> : null}
      {list.length > 0 ? (
        <section className="card">
          <Table
            label="Suppressions"
            rows={list}
            rowKey={(s) => str(s.id)}
            columns={[
              { header: "Rule", className: "mono wrap", cell: (s) => str(s.ruleId) },
              {
                header: "Matches like",
                cell: (s) =>
                  Object.entries((s.conditions && typeof s.conditions === "object" ? s.conditions : {}) as Rec).map(
                    ([k, v]) => (
                      <div key={k} className="wrap">
                        {FIELD_LABEL.get(k) ?? k}: <span className="mono">{str(v)}</span>
                      </div>
                    ),
                  ),
              },
              { header: "Suppressed", cell: (s) => str(s.matchCount) },
              { header: "Last suppressed", cell: (s) => fmtMs(s.lastMatchAtMs) },
              { header: "State", cell: (s) => stateOf(s, nowMs) },
              {
                header: "Made by",
                cell: (s) => (
                  <>
                    {str(s.createdBy)}
                    <div className="muted">{fmtMs(s.createdAtMs)}</div>
                  </>
                ),
              },
              { header: "Reason", className: "wrap", cell: (s) => str(s.reason) },
              {
                cell: (s) =>
                  s.removedAtMs == null ? (
                    <button type="button" onClick={() => remove(str(s.id))}>
                      Remove
                    </button>
                  ) : null,
              },
            ]}
          />
        </section>
      ) : null}
    </>
  );
}
