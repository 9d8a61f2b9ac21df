// Who this worker is, for the fleet ledger (core/fleet.ts): VIGIL_WORKER_ID when the operator names it (e.g.
// one per systemd unit), else the host, the pid and a random part, so a restarted process is a new worker and
// never mistakes the leases of its dead predecessor for its own. The incarnation is random per process either
// way: a second live process under a configured id is refused (store heartbeatWorker), not merged with the first.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { WorkerIdentity } from "../core/fleet.ts";

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

export function workerIdentity(configuredId: string | undefined): WorkerIdentity {
  const host = hostname();
  const pid = process.pid;
  return {
    id: configuredId ?? `${host}-${pid}-${randomBytes(3).toString("hex")}`,
    host,
    pid,
    version: packageVersion(),
    incarnation: randomBytes(8).toString("hex"),
  };
}
