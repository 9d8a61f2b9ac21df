import type { AuditLogPage, AuditLogQuery } from "../core/audit-log.ts";

/** What the poller and the backfill need of an audit log API client (the real one, or a test fake). */
export interface AuditLogReader {
  pages(query: AuditLogQuery, signal?: AbortSignal): AsyncGenerator<AuditLogPage>;
}
