// The org's events in one sorted array, answering list requests without scanning everything: the
// effective_at bounds are binary-searched, a cursor is found through an id map plus a binary search, and a page
// scans only from the cursor until it has `limit + 1` matches.
//
// Internally the array is ascending by (effective_at, id) so that live activity appends at the end; the API's
// order, newest first, is the same array read backwards.

import type { AuditLogActor, RawAuditLog } from "../core/audit-log.ts";
import { isTenantScoped } from "../core/event-types.ts";
import type { ParsedQuery } from "./query.ts";

export interface StoredEvent {
  /** effective_at and id as filed: they order the list even when the served record's own fields are broken. */
  readonly at: number;
  readonly id: string;
  /** The first second at which the API shows it: effective_at, or later for a late event. */
  readonly visibleAt: number;
  readonly type: string;
  readonly tenant: boolean;
  readonly actorIds: readonly string[];
  /** Lower-cased. */
  readonly actorEmails: readonly string[];
  readonly projectId: string | undefined;
  readonly resourceId: string | undefined;
  /** What the API returns for it. */
  readonly record: RawAuditLog;
}

/**
 * Files a record. `source` is the well-formed record that filters read; `served` is what the API returns (the
 * same object unless a data fault broke it).
 */
export function fileRecord(source: RawAuditLog, served: RawAuditLog, visibleAt: number): StoredEvent {
  const actorIds: string[] = [];
  const actorEmails: string[] = [];
  collectActor(source.actor, actorIds, actorEmails);
  const payload = source[source.type];
  const resourceId =
    payload !== null && typeof payload === "object" && typeof (payload as { id?: unknown }).id === "string"
      ? (payload as { id: string }).id
      : undefined;
  return {
    at: source.effective_at,
    id: source.id,
    visibleAt: Math.max(visibleAt, source.effective_at),
    type: source.type,
    // The shared definition (core/event-types.ts), so the simulator and Vigil agree on what a plain poll sees:
    // an unknown type, even a `tenant.*` one, counts as classic.
    tenant: isTenantScoped(source.type),
    actorIds,
    actorEmails,
    projectId: typeof source.project?.id === "string" ? source.project.id : undefined,
    resourceId,
    record: served,
  };
}

function collectActor(actor: AuditLogActor | null | undefined, ids: string[], emails: string[]): void {
  if (!actor || typeof actor !== "object") return;
  const add = (id: unknown, email: unknown) => {
    if (typeof id === "string") ids.push(id);
    if (typeof email === "string") emails.push(email.toLowerCase());
  };
  add(actor.session?.user?.id, actor.session?.user?.email);
  const key = actor.api_key;
  if (key) {
    // actor_ids[] matches "a user ID, a service account ID, or an api key tracking ID" (spec).
    add(key.id, undefined);
    add(key.user?.id, key.user?.email);
    add(key.service_account?.id, undefined);
  }
}

function compare(a: StoredEvent, b: StoredEvent): number {
  if (a.at !== b.at) return a.at - b.at;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export type PageResult =
  | { ok: true; items: StoredEvent[]; hasMore: boolean }
  | { ok: false; param: "after" | "before"; id: string };

export class EventStore {
  private events: StoredEvent[] = [];
  private readonly byId = new Map<string, StoredEvent>();

  get size(): number {
    return this.events.length;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Adds events; an id that is already filed is an error (the API never shows two records with one id). */
  insert(batch: readonly StoredEvent[]): void {
    if (batch.length === 0) return;
    const incoming = new Set<string>();
    for (const event of batch) {
      if (this.byId.has(event.id) || incoming.has(event.id)) {
        throw new Error(`simulator: audit log id ${event.id} is already in the org`);
      }
      incoming.add(event.id);
    }
    for (const event of batch) this.byId.set(event.id, event);
    const sorted = [...batch].sort(compare);
    const last = this.events[this.events.length - 1];
    if (last === undefined || compare(sorted[0] as StoredEvent, last) > 0) {
      for (const event of sorted) this.events.push(event);
    } else if (sorted.length <= 256) {
      for (const event of sorted) this.events.splice(this.lowerBound(event), 0, event);
    } else {
      // V8's TimSort merges the two sorted runs in linear time.
      this.events = this.events.concat(sorted).sort(compare);
    }
  }

  /** Newest first, optionally only what `accept` keeps. */
  newestFirst(accept?: (event: StoredEvent) => boolean): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (let i = this.events.length - 1; i >= 0; i--) {
      const event = this.events[i] as StoredEvent;
      if (!accept || accept(event)) out.push(event);
    }
    return out;
  }

  /** One page of `GET /organization/audit_logs` as the API shows it at `nowSecs`. */
  page(query: ParsedQuery, nowSecs: number): PageResult {
    const { gt, gte, lt, lte } = query.effectiveAt;
    const fromAt = Math.max(gt === undefined ? -Infinity : gt + 1, gte ?? -Infinity);
    const toAt = Math.min(lt === undefined ? Infinity : lt - 1, lte ?? Infinity, nowSecs);
    const lo = this.firstAtOrAfter(fromAt);
    const hi = this.firstAfter(toAt); // exclusive
    const want = query.limit + 1;
    const found: StoredEvent[] = [];

    if (query.before !== undefined) {
      // `before` = the items before the cursor in list order, i.e. newer: walk up from it, nearest first.
      const cursor = this.byId.get(query.before);
      if (!cursor) return { ok: false, param: "before", id: query.before };
      for (let i = Math.max(this.lowerBound(cursor) + 1, lo); i < hi && found.length < want; i++) {
        const event = this.events[i] as StoredEvent;
        if (matches(event, query, nowSecs)) found.push(event);
      }
      const items = found.slice(0, query.limit).reverse();
      return { ok: true, items, hasMore: found.length > query.limit };
    }

    let start = hi - 1;
    if (query.after !== undefined) {
      const cursor = this.byId.get(query.after);
      if (!cursor) return { ok: false, param: "after", id: query.after };
      start = Math.min(this.lowerBound(cursor) - 1, hi - 1);
    }
    for (let i = start; i >= lo && found.length < want; i--) {
      const event = this.events[i] as StoredEvent;
      if (matches(event, query, nowSecs)) found.push(event);
    }
    return { ok: true, items: found.slice(0, query.limit), hasMore: found.length > query.limit };
  }

  /** Index of the first event not ordered before `event` (its own index when it is filed). */
  private lowerBound(event: StoredEvent): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.events[mid] as StoredEvent, event) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private firstAtOrAfter(at: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.events[mid] as StoredEvent).at < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private firstAfter(at: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.events[mid] as StoredEvent).at <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** AND across parameters, OR within each array (API reference §3.2). */
function matches(event: StoredEvent, q: ParsedQuery, nowSecs: number): boolean {
  if (event.visibleAt > nowSecs) return false;
  if (event.tenant !== q.tenantOnly) return false;
  if (q.eventTypes && !q.eventTypes.has(event.type)) return false;
  if (q.projectIds && (event.projectId === undefined || !q.projectIds.has(event.projectId))) return false;
  if (q.resourceIds && (event.resourceId === undefined || !q.resourceIds.has(event.resourceId))) return false;
  if (q.actorIds && !event.actorIds.some((id) => q.actorIds?.has(id))) return false;
  if (q.actorEmails && !event.actorEmails.some((email) => q.actorEmails?.has(email))) return false;
  return true;
}
