// The Workers card of the Log Sources page: the `vigil start` processes sharing the database (a fleet, see
// docs/deploy.md), whether each is live, and which sources each polls — where someone asking "who polls this
// source?" looks. The data is GET /api/workers, the view `vigil workers` prints too.

import { Link } from "react-router-dom";
import { api, listOf } from "../api.ts";
import { ErrorBanner, Loading, useLoad } from "../components.tsx";
import { fmtMs, num, type Rec, str, text } from "../format.ts";
import { Table } from "../table.tsx";

/** A worker's state as a badge: live green, dead red (it went silent without leaving), stopped grey. */
const STATE_CLASS: Record<string, string> = { live: "health-ok", dead: "health-failing", stopped: "off" };

function fmtAge(ms: unknown): string {
  const n = num(ms);
  if (n === null) return "—";
  const secs = Math.round(n / 1000);
  if (secs < 120) return `${secs} s ago`;
  if (secs < 7200) return `${Math.round(secs / 60)} min ago`;
  return `${Math.round(secs / 3600)} h ago`;
}

function HeldSources({ sources }: { sources: Rec[] }) {
  if (sources.length === 0) return <>—</>;
  return (
    <>
      {sources.map((s, i) => (
        <span key={str(s.id)}>
          {i > 0 ? ", " : null}
          <Link to={`/sources/${encodeURIComponent(text(s.id))}`}>{str(s.name)}</Link>
        </span>
      ))}
    </>
  );
}

export function WorkersSection() {
  const fleet = useLoad(() => api.get<Rec>("/api/workers"), []);
  const workers = listOf<Rec>(fleet.data?.workers ?? []);
  const unassigned = listOf<string>(fleet.data?.unassignedSources ?? []);
  const note = str(fleet.data?.note);
  return (
    <section className="card workers-card" aria-labelledby="workers-heading">
      <div className="card-head">
        <h2 id="workers-heading">Workers</h2>
        <button type="button" onClick={fleet.reload} disabled={fleet.loading}>
          Refresh
        </button>
      </div>
      <ErrorBanner message={fleet.error} />
      <Loading when={fleet.loading && !fleet.data} />
      {note ? <p className="muted">{note}</p> : null}
      {/* On SQLite no process registers (the note says why): "no worker" would read as if Vigil were not running. */}
      {fleet.data && workers.length === 0 && fleet.data.database !== "postgresql" ? null : (
        <Table
          label="Workers"
          rows={fleet.data ? workers : null}
          rowKey={(w) => str(w.id)}
          empty="No worker has registered in the last day."
          columns={[
            { header: "Worker", className: "mono", cell: (w) => str(w.id) },
            {
              header: "Host",
              className: "wrap",
              cell: (w) => (
                <>
                  {str(w.host)} <span className="muted">pid {str(w.pid)}</span>
                </>
              ),
            },
            {
              header: "State",
              cell: (w) => (
                <span className={`badge ${STATE_CLASS[str(w.state)] ?? ""}`}>{str(w.state) || "unknown"}</span>
              ),
            },
            // The age, the time itself on hover.
            {
              header: "Last heartbeat",
              className: "nowrap",
              cell: (w) => <span title={fmtMs(w.heartbeatAtMs)}>{fmtAge(w.heartbeatAgeMs)}</span>,
            },
            {
              header: "Sources polled",
              className: "wrap",
              cell: (w) => <HeldSources sources={listOf<Rec>(w.sources ?? [])} />,
            },
            { header: "Backfill slices", cell: (w) => str(w.backfillSlices) || "0" },
            { header: "Cluster jobs", cell: (w) => str(w.clusterJobs) || "0" },
            { header: "Rebalances", cell: (w) => str(w.rebalances) || "0" },
          ]}
        />
      )}
      {unassigned.length > 0 ? (
        <p className="err-text">Not polled by any live worker: {unassigned.join(", ")}</p>
      ) : null}
    </section>
  );
}
