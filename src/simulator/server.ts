// The HTTP face of the simulator: `GET /v1/organization/audit_logs` on node:http, with OpenAI's auth and error
// behaviour and the transport faults. node:http rather than a framework because resets and truncated bodies
// need direct control of the socket and of Content-Length.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { systemClock, unixSeconds } from "../core/clock.ts";
import { isAdminListPath, listPage, notConfigured, resourceFor, scopeDenied } from "./admin-lists.ts";
import {
  type ApiError,
  incorrectKey,
  invalidUrl,
  missingKey,
  missingScope,
  rateLimited,
  serverError,
} from "./api-errors.ts";
import { type FaultConfig, FaultPicker, resolveFaults, type TransportFault } from "./faults.ts";
import { DEFAULT_SEED, SimOrg } from "./org.ts";
import { parseAuditLogQuery, unknownCursor } from "./query.ts";
import type { RunningSimulator, SimulatorOptions, SimulatorStats } from "./types.ts";

/** Not a secret: the simulator accepts it and nothing else does. */
export const DEFAULT_ADMIN_KEY = "sk-admin-vigil-simulator-0000000000000000";
/** Authenticates, but lacks the `api.audit_logs.read` scope (403). */
export const DEFAULT_NO_SCOPE_KEY = "sk-admin-vigil-simulator-noscope-00000000";

export const AUDIT_LOGS_PATH = "/v1/organization/audit_logs";

type Outcome =
  | { kind: "error"; error: ApiError }
  | { kind: "hang" }
  | { kind: "page"; body: string; fault: TransportFault | undefined };

const TRANSPORT_FAULTS: readonly TransportFault[] = ["rateLimit", "serverError", "slow", "hang", "reset", "truncate"];

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const adminKey = options.adminKey ?? DEFAULT_ADMIN_KEY;
  const noScopeKey = options.readOnlyKeyWithoutScope ?? DEFAULT_NO_SCOPE_KEY;
  if (adminKey === noScopeKey) throw new RangeError("adminKey and readOnlyKeyWithoutScope must differ");
  const clock = options.clock ?? systemClock;
  const pageDelayMs = options.pageDelayMs ?? 0;
  const org = new SimOrg(options);
  const picker = new FaultPicker(options.seed ?? DEFAULT_SEED);
  let faults = resolveFaults(options.faults);
  let deniedPaths = [...(options.deniedPaths ?? [])];

  let requests = 0;
  const byStatus: Record<string, number> = {};
  const transportCounts: Record<string, number> = Object.fromEntries(TRANSPORT_FAULTS.map((f) => [f, 0]));
  // Delayed responses; cleared on close so no timer outlives the server.
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, fn: () => void): void => {
    if (ms <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const send = (
    res: ServerResponse,
    status: number,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ): void => {
    if (res.destroyed) return;
    byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
    res.writeHead(status, {
      ...headers,
      "content-type": "application/json",
      "content-length": String(typeof body === "string" ? Buffer.byteLength(body) : body.length),
    });
    res.end(body);
  };

  const retryAfter = (): string =>
    faults.retryAfter === "http-date"
      ? new Date((unixSeconds(clock) + 2) * 1000).toUTCString()
      : String(faults.retryAfter);

  /** What to answer: an error, a page (possibly with a fault in how it is delivered), or nothing at all. */
  const decide = (req: IncomingMessage): Outcome => {
    const url = new URL(req.url ?? "/", "http://simulator.invalid");
    const adminList = req.method === "GET" && isAdminListPath(url.pathname);
    if (req.method !== "GET" || (url.pathname !== AUDIT_LOGS_PATH && !adminList)) {
      return { kind: "error", error: invalidUrl(req.method ?? "GET", url.pathname) };
    }

    const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    if (!auth) return { kind: "error", error: missingKey() };
    const key = auth[1] as string;
    if (key === noScopeKey) return { kind: "error", error: adminList ? scopeDenied() : missingScope() };
    if (key !== adminKey) return { kind: "error", error: incorrectKey(key) };
    // A key without the management scope: only the audit log answers.
    if (adminList && deniedPaths.some((p) => url.pathname.endsWith(p))) return { kind: "error", error: scopeDenied() };

    const fault = picker.pick(faults);
    if (fault) transportCounts[fault] = (transportCounts[fault] ?? 0) + 1;
    if (fault === "rateLimit") return { kind: "error", error: rateLimited(retryAfter()) };
    if (fault === "serverError") return { kind: "error", error: serverError(picker.serverErrorStatus()) };
    if (fault === "hang") return { kind: "hang" };

    if (adminList) {
      const resource = resourceFor(org.inventory(unixSeconds(clock)), url.pathname, url.searchParams);
      if (resource === null) return { kind: "error", error: invalidUrl("GET", url.pathname) };
      if (resource.kind === "object") {
        if (resource.object === null) return { kind: "error", error: notConfigured(url.pathname) };
        return { kind: "page", body: JSON.stringify(resource.object), fault };
      }
      const page = listPage(resource.objects, url.searchParams);
      return page.ok ? { kind: "page", body: page.body, fault } : { kind: "error", error: page.error };
    }

    const parsed = parseAuditLogQuery(url.searchParams);
    if (!parsed.ok) return { kind: "error", error: parsed.error };
    const page = org.list(parsed.query, unixSeconds(clock));
    if (!page.ok) return { kind: "error", error: unknownCursor(page.param, page.id) };
    const body = JSON.stringify({
      object: "list",
      data: page.items.map((e) => e.record),
      first_id: page.items[0]?.id ?? null,
      last_id: page.items[page.items.length - 1]?.id ?? null,
      has_more: page.hasMore,
    });
    return { kind: "page", body, fault };
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    requests++;
    res.setHeader("x-request-id", `req_${requests.toString(16).padStart(32, "0")}`);
    const outcome = decide(req);
    // A hung request gets no answer: its socket stays open until the client gives up or close() destroys it.
    if (outcome.kind === "hang") return;
    if (outcome.kind === "error") {
      const { error } = outcome;
      later(pageDelayMs, () => send(res, error.status, JSON.stringify(error.body), error.headers));
      return;
    }
    const { body, fault } = outcome;
    later(pageDelayMs + (fault === "slow" ? faults.slowMs : 0), () => {
      if (fault === "reset") {
        resetMidway(res, body);
      } else if (fault === "truncate") {
        const bytes = Buffer.from(body);
        send(res, 200, bytes.subarray(0, Math.floor(bytes.length / 2)));
      } else {
        send(res, 200, body);
      }
    });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const host = hostForUrl(options.host ?? "127.0.0.1");
  let closing: Promise<void> | undefined;

  return {
    baseUrl: `http://${host}:${address.port}/v1`,
    adminKey,
    noScopeKey,
    org,
    setDeniedPaths(paths: string[]) {
      deniedPaths = [...paths];
    },
    setFaults(partial: Partial<FaultConfig>) {
      faults = resolveFaults(partial);
      org.setDataFaults(faults);
    },
    stats(): SimulatorStats {
      return {
        requests,
        byStatus: { ...byStatus },
        faultsInjected: { ...transportCounts, ...org.dataFaultCounts },
      };
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        // Hung and keep-alive sockets would hold close() open forever.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Headers and half of the body, then a TCP reset: the client sees a socket error mid-response. */
function resetMidway(res: ServerResponse, body: string): void {
  if (res.destroyed) return;
  const bytes = Buffer.from(body);
  res.writeHead(200, { "content-type": "application/json", "content-length": String(bytes.length) });
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => {
    const socket = res.socket;
    if (!socket) return;
    if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
    else socket.destroy();
  });
}

function hostForUrl(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
