// Helpers shared by the simulator's tests: a clock the test moves by hand, and plain HTTP calls to the endpoint.

import type { RawAuditLog } from "../core/audit-log.ts";
import type { Clock } from "../core/clock.ts";
import type { RunningSimulator } from "./types.ts";

export class ManualClock implements Clock {
  private ms: number;

  constructor(secs: number) {
    this.ms = secs * 1000;
  }

  nowMs(): number {
    return this.ms;
  }

  get secs(): number {
    return Math.floor(this.ms / 1000);
  }

  setSecs(secs: number): void {
    this.ms = secs * 1000;
  }

  advanceSecs(secs: number): void {
    this.ms += secs * 1000;
  }
}

export interface ListResponse {
  object: string;
  data: RawAuditLog[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** GET the audit-log endpoint with a raw query string (as given: encoded or not). */
export async function getAuditLogs(
  sim: RunningSimulator,
  query = "",
  options: { key?: string | null; signal?: AbortSignal } = {},
): Promise<HttpResult> {
  const key = options.key === undefined ? sim.adminKey : options.key;
  const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
  const url = `${sim.baseUrl}/organization/audit_logs${query ? `?${query}` : ""}`;
  const res = await fetch(url, { headers, ...(options.signal ? { signal: options.signal } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export async function listPage(sim: RunningSimulator, query = ""): Promise<ListResponse> {
  const res = await getAuditLogs(sim, query);
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${res.text}`);
  return res.json as ListResponse;
}

/** Walks every page the way the official SDKs do (after = last_id while has_more) and returns the ids in order. */
export async function walkIds(sim: RunningSimulator, baseQuery: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 100_000; pages++) {
    const parts = [baseQuery, `limit=${limit}`, after ? `after=${encodeURIComponent(after)}` : ""].filter(Boolean);
    const page = await listPage(sim, parts.join("&"));
    for (const item of page.data) ids.push(item.id);
    if (!page.has_more) return ids;
    after = page.last_id;
  }
  throw new Error("too many pages");
}
