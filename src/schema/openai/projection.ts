// The OpenAI-specific step of the OpenAI.Audit log type, applied after the generic schema engine.
//
// Panther's published OpenAI.Audit schema (the seed) declares fields the real API never sends:
// `actor.user`, `actor.service_account`, and top-level `api_key`, `user`, `service_account`. The
// seed's example rules read them (`actor.user.email`), so on real data they would always say
// "Unknown". This projection fills them from where the API really puts that information
// (openai-audit-logs-api.md §7.3, §10) so that both the seed's rules and Panther's own rules work
// unmodified. The real fields are left untouched; a projected field is only written when absent.

import { columnName } from "../column-name.ts";

type Obj = Record<string, unknown>;

function asObject(v: unknown): Obj | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** A new object with the given keys copied when they hold a value (null and absent are skipped). */
function pick(entries: ReadonlyArray<readonly [string, unknown]>): Obj | undefined {
  const out: Obj = {};
  let any = false;
  for (const [key, value] of entries) {
    if (value === undefined || value === null) continue;
    out[key] = Array.isArray(value) ? [...value] : value;
    any = true;
  }
  return any ? out : undefined;
}

/** `actor.user` from the session user or the user behind a user API key; `actor.service_account` likewise. */
function projectActor(record: Obj): void {
  const actor = asObject(record.actor);
  if (actor === undefined) return;
  const session = asObject(actor.session);
  const apiKey = asObject(actor.api_key);
  if (actor.user === undefined) {
    const user = asObject(session?.user) ?? asObject(apiKey?.user);
    if (user !== undefined) actor.user = { ...user };
  }
  if (actor.service_account === undefined) {
    const serviceAccount = asObject(apiKey?.service_account);
    if (serviceAccount !== undefined) actor.service_account = { ...serviceAccount };
  }
}

type Target = "api_key" | "user" | "service_account";

/** How a type-keyed payload becomes one of the seed's target objects. */
const TARGETS: Readonly<Record<string, { target: Target; build: (payload: Obj) => Obj | undefined }>> = {
  "api_key.created": {
    target: "api_key",
    build: (p) =>
      pick([
        ["id", p.id],
        ["scopes", asObject(p.data)?.scopes],
      ]),
  },
  "api_key.updated": {
    target: "api_key",
    // The schema says changes_requested; the spec's own example sends data (API reference §7.6).
    build: (p) =>
      pick([
        ["id", p.id],
        ["scopes", asObject(p.changes_requested)?.scopes ?? asObject(p.data)?.scopes],
      ]),
  },
  "api_key.deleted": { target: "api_key", build: (p) => pick([["id", p.id]]) },
  "user.added": {
    target: "user",
    build: (p) =>
      pick([
        ["id", p.id],
        ["role", asObject(p.data)?.role],
      ]),
  },
  "user.updated": {
    target: "user",
    build: (p) =>
      pick([
        ["id", p.id],
        ["role", asObject(p.changes_requested)?.role],
      ]),
  },
  "user.deleted": { target: "user", build: (p) => pick([["id", p.id]]) },
  // The invitee is the user affected by an invite, and the only target that carries an email.
  "invite.sent": {
    target: "user",
    build: (p) =>
      pick([
        ["email", asObject(p.data)?.email],
        ["role", asObject(p.data)?.role],
      ]),
  },
  "service_account.created": {
    target: "service_account",
    build: (p) =>
      pick([
        ["id", p.id],
        ["role", asObject(p.data)?.role],
      ]),
  },
  "service_account.updated": {
    target: "service_account",
    build: (p) =>
      pick([
        ["id", p.id],
        ["role", asObject(p.changes_requested)?.role],
      ]),
  },
  "service_account.deleted": { target: "service_account", build: (p) => pick([["id", p.id]]) },
};

/**
 * `effective_at` stays Unix seconds, as the API sends it, Panther's own OpenAI tests write it, and
 * the seed's alert_context reports it; the schema's timestamp type still validates it and makes it
 * the event time (p_event_time carries Panther's text form).
 */
function keepEffectiveAtSeconds(record: Obj, raw: Obj): void {
  const value = raw.effective_at;
  if (typeof value === "number") record.effective_at = value;
  else if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value)))
    record.effective_at = Number(value);
}

/** Fills the seed's projection fields on a decoded OpenAI.Audit record (in place). */
export function projectOpenAIAudit(record: Obj, raw: Obj = {}): void {
  keepEffectiveAtSeconds(record, raw);
  projectActor(record);
  const type = record.type;
  if (typeof type !== "string") return;
  const rule = Object.hasOwn(TARGETS, type) ? TARGETS[type] : undefined;
  if (rule === undefined || record[rule.target] !== undefined) return;
  const payload = asObject(record[columnName(type)]);
  if (payload === undefined) return;
  const projected = rule.build(payload);
  if (projected !== undefined) record[rule.target] = projected;
}
