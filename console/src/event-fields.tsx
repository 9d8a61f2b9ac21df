// An audit log record as readable fields (who, from where, in which project, what changed), with links that
// pivot to a search for the same actor, IP, key or project, and the raw JSON one click away. Every value is
// attacker-controlled text: it is rendered as React text children only, and pivot values go into the search
// page's query string through URLSearchParams.

import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import { Disclosure, JsonBlock } from "./components.tsx";
import { fmtSecs, type Rec, str, visible } from "./format.ts";

function obj(v: unknown): Rec | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Rec) : undefined;
}

function text(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

/** The fields an analyst reads first, from the OpenAI audit log record (see the API reference §7.3). */
export interface ReadableEvent {
  type: string;
  timeSecs: number | null;
  actorType: string;
  actorEmail: string;
  actorId: string;
  /** The API key the actor used (actor type api_key). */
  actorKeyId: string;
  ip: string;
  /** "Paris, Île-de-France, FR" from ip_address_details. */
  location: string;
  country: string;
  asn: string;
  userAgent: string;
  projectId: string;
  projectName: string;
  /** The payload (the record's field named after its type): its target id, and its other fields. */
  targetId: string;
  changes: Array<[string, unknown]>;
  details: Array<[string, unknown]>;
}

export function readableEvent(raw: unknown): ReadableEvent {
  const rec = obj(raw) ?? {};
  const actor = obj(rec.actor);
  const session = obj(actor?.session);
  const apiKey = obj(actor?.api_key);
  const user = obj(session?.user) ?? obj(apiKey?.user);
  const serviceAccount = obj(apiKey?.service_account);
  const geo = obj(session?.ip_address_details);
  const project = obj(rec.project);
  const type = text(rec.type);
  const payload = obj(rec[type]) ?? {};
  const changes = obj(payload.changes_requested) ?? {};
  const details: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(payload)) {
    if (k === "id" || k === "changes_requested") continue;
    // `data` holds the created object's fields: shown as fields of their own.
    if (k === "data" && obj(v)) details.push(...Object.entries(obj(v) ?? {}));
    else details.push([k, v]);
  }
  return {
    type,
    timeSecs: typeof rec.effective_at === "number" ? rec.effective_at : null,
    actorType: text(actor?.type),
    actorEmail: text(user?.email),
    actorId: text(user?.id) || text(serviceAccount?.id) || text(apiKey?.id),
    actorKeyId: text(apiKey?.id),
    ip: text(session?.ip_address),
    location: [text(geo?.city), text(geo?.region), text(geo?.country)].filter(Boolean).join(", "),
    country: text(geo?.country),
    asn: text(geo?.asn),
    userAgent: text(session?.user_agent),
    projectId: text(project?.id),
    projectName: text(project?.name),
    targetId: text(payload.id),
    changes: Object.entries(changes),
    details,
  };
}

/** The search page with these filters, over all time (the search page reads its filters from the URL). */
export function searchLink(filters: Record<string, string>): string {
  const q = new URLSearchParams({ range: "all", ...filters });
  return `/search?${q.toString()}`;
}

function Pivot({ label, filters }: { label: string; filters: Record<string, string> }) {
  return (
    <Link className="pivot" to={searchLink(filters)} aria-label={visible(label)} title={visible(label)}>
      search ↗
    </Link>
  );
}

function valueText(v: unknown): string {
  if (Array.isArray(v)) return visible(v.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(", "));
  return str(v);
}

function Field({ name, children }: { name: string; children: ReactNode }) {
  return (
    <>
      <dt>{name}</dt>
      <dd className="wrap">{children}</dd>
    </>
  );
}

/**
 * A record's readable fields with pivots. `raw` is the record; `rawLabel` names the JSON figure once opened;
 * `lead` is rows (dt/dd pairs) the page puts first in the same list, so all the fields line up.
 */
export function EventFields({ raw, rawLabel, lead }: { raw: unknown; rawLabel: string; lead?: ReactNode }) {
  const e = readableEvent(raw);
  const actor = e.actorEmail || e.actorId;
  const keyLike = /^(admin_)?api_key\./.test(e.type) ? e.targetId : "";
  return (
    <div className="event-fields">
      <dl className="facts" aria-label="Event fields">
        {lead}
        <Field name="Actor">
          {actor ? (
            <>
              {visible(actor)}
              {e.actorEmail && e.actorId ? <span className="muted mono small"> {visible(e.actorId)}</span> : null}
              {e.actorType ? <span className="muted small"> ({visible(e.actorType)})</span> : null}{" "}
              <Pivot label={`Events by the same actor ${actor}`} filters={{ actor }} />
            </>
          ) : (
            "—"
          )}
        </Field>
        {e.actorKeyId ? (
          <Field name="Using key">
            <span className="mono">{visible(e.actorKeyId)}</span>{" "}
            <Pivot label={`Events with the same key ${e.actorKeyId}`} filters={{ text: e.actorKeyId }} />
          </Field>
        ) : null}
        <Field name="IP">
          {e.ip ? (
            <>
              <span className="mono">{visible(e.ip)}</span>
              {e.location ? <span> · {visible(e.location)}</span> : null}
              {e.asn ? <span className="muted"> · AS{visible(e.asn.replace(/^AS/i, ""))}</span> : null}{" "}
              <Pivot label={`Events from the same IP ${e.ip}`} filters={{ ip: e.ip }} />
            </>
          ) : (
            "—"
          )}
        </Field>
        {e.userAgent ? <Field name="User agent">{visible(e.userAgent)}</Field> : null}
        <Field name="Project">
          {e.projectId ? (
            <>
              {visible(e.projectName || e.projectId)}
              {e.projectName ? <span className="muted mono small"> {visible(e.projectId)}</span> : null}{" "}
              <Pivot label={`Events in the same project ${e.projectId}`} filters={{ project: e.projectId }} />
            </>
          ) : (
            "—"
          )}
        </Field>
        {e.targetId ? (
          <Field name="Target">
            <span className="mono">{visible(e.targetId)}</span>
            {keyLike ? (
              <>
                {" "}
                <Pivot label={`Events with the same key ${keyLike}`} filters={{ text: keyLike }} />
              </>
            ) : null}
          </Field>
        ) : null}
        {e.changes.length > 0 ? (
          <Field name="Changes">
            <ul className="field-list" aria-label="Changes requested">
              {e.changes.map(([k, v]) => (
                <li key={k}>
                  <span className="mono">{visible(k)}</span> → {valueText(v)}
                </li>
              ))}
            </ul>
          </Field>
        ) : null}
        {e.details.map(([k, v], i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a payload's field and a `data` field may share a name
          <Field key={`${k}-${i}`} name={visible(k.replace(/_/g, " "))}>
            {valueText(v)}
          </Field>
        ))}
      </dl>
      <Disclosure label="Raw JSON">
        <JsonBlock value={raw ?? {}} label={rawLabel} />
      </Disclosure>
    </div>
  );
}

/** The heading line of an event: type, time, and a link to its page. */
export function EventHeading({ ev }: { ev: Rec }) {
  const e = readableEvent(ev.raw);
  const type = str(ev.type) || e.type;
  const time = typeof ev.effectiveAtSecs === "number" ? ev.effectiveAtSecs : e.timeSecs;
  const id = text(ev.id);
  return (
    <h3 className="event-heading">
      <span className="mono">{visible(type) || "event"}</span> <span className="muted small">{fmtSecs(time)}</span>{" "}
      {id && ev.sourceId ? (
        <Link className="mono small" to={`/events/${encodeURIComponent(text(ev.sourceId))}/${encodeURIComponent(id)}`}>
          {visible(id)}
        </Link>
      ) : null}
    </h3>
  );
}
