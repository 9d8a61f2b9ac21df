// A source's settings on its page: edit them (PATCH /api/sources/:id; a new key is verified by the server
// before anything is saved), choose the detection packs that run on it, and delete it. Every field is shown
// as text.

import { type FormEvent, useState } from "react";
import { useNavigate } from "react-router-dom";
import { api, listOf, objectOf } from "../api.ts";
import {
  AdminOnly,
  AdminOnlyNote,
  EnabledBadge,
  EnableToggle,
  ErrorBanner,
  Loading,
  useAction,
  useLoad,
} from "../components.tsx";
import { pick, type Rec, str, text, visible } from "../format.ts";
import { Table } from "../table.tsx";

export const HOUR = 3600;

/** A numeric setting's bounds and default, as GET /api/sources/settings-schema serves them (server: core/source.ts). */
export interface SettingBounds {
  min: number;
  max: number;
  default: number;
  unit: string;
  /** A value outside [min, max] that turns the feature off (e.g. 0). */
  off?: number;
}

export type SettingsSchema = Partial<Record<string, SettingBounds>>;

/** The server's bounds of the source settings: the forms never hold their own (null until loaded). */
export function useSettingsSchema(): SettingsSchema | null {
  return useLoad(
    () => api.get<unknown>("/api/sources/settings-schema").then((d) => objectOf<SettingsSchema>(d, "settings") ?? {}),
    [],
  ).data;
}

/** The min and max of a number input, in units of `perUnit` setting units (3600: hours); none until loaded. */
export function rangeOf(schema: SettingsSchema | null, field: string, perUnit = 1): { min?: number; max?: number } {
  const b = schema?.[field];
  return b ? { min: b.min / perUnit, max: b.max / perUnit } : {};
}

/** A setting's default in units of `perUnit`, as text for an input ("" until loaded). */
export function defaultOf(schema: SettingsSchema | null, field: string, perUnit = 1): string {
  const b = schema?.[field];
  return b ? String(Math.round((b.default / perUnit) * 100) / 100) : "";
}

function hoursOf(secs: unknown): string {
  return typeof secs === "number" && Number.isFinite(secs) ? String(Math.round((secs / HOUR) * 100) / 100) : "";
}

/** The settings of the form that differ from the source's, as the PATCH body (the key only when typed). */
function changesOf(source: Rec, form: FormState): Rec {
  const body: Rec = {};
  const name = form.name.trim();
  if (name !== text(source.name)) body.name = name;
  const baseUrl = form.baseUrl.trim() || null;
  if (baseUrl !== ((source.baseUrl as string | null | undefined) ?? null)) body.baseUrl = baseUrl;
  for (const setting of ["pollIntervalSecs", "overlapSecs"] as const) {
    const secs = form[setting].trim();
    if (secs !== "" && Number(secs) !== source[setting]) body[setting] = Number(secs);
  }
  if (form.includeTenantEvents !== (source.includeTenantEvents === true)) {
    body.includeTenantEvents = form.includeTenantEvents;
  }
  if (form.enabled !== (source.enabled !== false)) body.enabled = form.enabled;
  if (form.noDataAlertEnabled !== (source.noDataAlertEnabled !== false)) {
    body.noDataAlertEnabled = form.noDataAlertEnabled;
  }
  const hourFields = [
    ["noDataHours", "noDataAlertSecs"],
    ["pollFailureHours", "pollFailureAlertSecs"],
    ["sweepWindowHours", "sweepWindowSecs"],
    ["sweepIntervalHours", "sweepIntervalSecs"],
  ] as const;
  for (const [field, setting] of hourFields) {
    if (field === "noDataHours" && !form.noDataAlertEnabled) continue;
    const hours = form[field].trim();
    // Only a field the user edited: the form shows a stored value rounded to 0.01 h, and sending that back would
    // change a setting nobody touched (and could break the sweep rule, refusing an unrelated change).
    if (hours === "" || hours === hoursOf(source[setting])) continue;
    body[setting] = Math.round(Number(hours) * HOUR);
  }
  if (form.apiKey.trim()) body.apiKey = form.apiKey.trim();
  return body;
}

interface FormState {
  name: string;
  apiKey: string;
  baseUrl: string;
  pollIntervalSecs: string;
  overlapSecs: string;
  includeTenantEvents: boolean;
  enabled: boolean;
  noDataAlertEnabled: boolean;
  noDataHours: string;
  pollFailureHours: string;
  sweepWindowHours: string;
  sweepIntervalHours: string;
}

function formOf(source: Rec): FormState {
  return {
    name: text(source.name),
    apiKey: "",
    baseUrl: text(source.baseUrl),
    pollIntervalSecs: str(source.pollIntervalSecs),
    overlapSecs: str(source.overlapSecs),
    includeTenantEvents: source.includeTenantEvents === true,
    enabled: source.enabled !== false,
    noDataAlertEnabled: source.noDataAlertEnabled !== false,
    noDataHours: hoursOf(source.noDataAlertSecs),
    pollFailureHours: hoursOf(source.pollFailureAlertSecs),
    sweepWindowHours: hoursOf(source.sweepWindowSecs),
    sweepIntervalHours: hoursOf(source.sweepIntervalSecs),
  };
}

/**
 * The seed's "Trigger an alert when no events are processed": Yes/No and a timeframe in hours, within the
 * server's bounds (from the settings schema). Used by the setup flow and by a source's settings.
 */
export function NoDataAlertFields({
  name,
  enabled,
  hours,
  schema,
  onEnabled,
  onHours,
}: {
  name: string;
  enabled: boolean;
  hours: string;
  schema: SettingsSchema | null;
  onEnabled: (enabled: boolean) => void;
  onHours: (hours: string) => void;
}) {
  return (
    <fieldset>
      <legend>Trigger an alert when no events are processed</legend>
      <div className="radios">
        <label className="check">
          <input type="radio" name={name} checked={enabled} onChange={() => onEnabled(true)} />
          Yes
        </label>
        <label className="check">
          <input type="radio" name={name} checked={!enabled} onChange={() => onEnabled(false)} />
          No
        </label>
      </div>
      <label>
        Timeframe (hours)
        <input
          type="number"
          {...rangeOf(schema, "noDataAlertSecs", HOUR)}
          step="any"
          value={hours}
          disabled={!enabled}
          onChange={(e) => onHours(e.target.value)}
        />
      </label>
    </fieldset>
  );
}

/** "Edit settings": name, key (empty keeps the stored one), base URL, polling, no-data alert. */
export function SourceSettingsForm({ source, onSaved }: { source: Rec; onSaved: () => void }) {
  const schema = useSettingsSchema();
  const [form, setForm] = useState<FormState>(() => formOf(source));
  const action = useAction();
  const [saved, setSaved] = useState<string | null>(null);
  const id = encodeURIComponent(text(source.id));
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setSaved(null);
    setForm((f) => ({ ...f, [key]: value }));
  };

  function save(e: FormEvent) {
    e.preventDefault();
    action.setError(null);
    setSaved(null);
    const body = changesOf(source, form);
    if (Object.keys(body).length === 0) {
      setSaved("Nothing to save: the settings are unchanged.");
      return;
    }
    if ("baseUrl" in body && !body.apiKey) {
      action.setError(
        "Changing the base URL needs the API key again: a stored key is only sent to the address it was entered for.",
      );
      return;
    }
    void action.run(async () => {
      await api.patch<unknown>(`/api/sources/${id}`, body);
      setForm((f) => ({ ...f, apiKey: "" }));
      setSaved(body.apiKey ? "Settings saved. The new API key was verified and stored." : "Settings saved.");
      onSaved();
    });
  }

  return (
    <form className="card form" aria-label="Edit settings" onSubmit={save}>
      <h2>Edit settings</h2>
      <label>
        Name
        <input value={form.name} required maxLength={100} onChange={(e) => set("name", e.target.value)} />
      </label>
      <label>
        API Key
        <input
          type="password"
          autoComplete="off"
          value={form.apiKey}
          placeholder="Leave empty to keep the current key"
          onChange={(e) => set("apiKey", e.target.value)}
        />
      </label>
      <p className="muted small">
        A new key is verified against the OpenAI API before it replaces the stored one; it is stored encrypted and never
        shown again.
      </p>
      <label>
        Base URL
        <input
          type="url"
          value={form.baseUrl}
          placeholder="https://api.openai.com/v1 (default)"
          onChange={(e) => set("baseUrl", e.target.value)}
        />
      </label>
      <p className="muted small">
        Changing the base URL needs the API key again: a stored key is only sent to the address it was entered for.
      </p>
      <label>
        Poll interval (seconds)
        <input
          type="number"
          {...rangeOf(schema, "pollIntervalSecs")}
          value={form.pollIntervalSecs}
          onChange={(e) => set("pollIntervalSecs", e.target.value)}
        />
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={form.includeTenantEvents}
          onChange={(e) => set("includeTenantEvents", e.target.checked)}
        />
        Include tenant-scoped events
      </label>
      <label className="check">
        <input type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} />
        Poll this source (uncheck to pause polling)
      </label>
      <NoDataAlertFields
        name="edit-nodata"
        enabled={form.noDataAlertEnabled}
        hours={form.noDataHours}
        schema={schema}
        onEnabled={(on) => set("noDataAlertEnabled", on)}
        onHours={(hours) => set("noDataHours", hours)}
      />
      <label>
        Alert when polling has failed for (hours)
        <input
          type="number"
          {...rangeOf(schema, "pollFailureAlertSecs", HOUR)}
          step="any"
          value={form.pollFailureHours}
          onChange={(e) => set("pollFailureHours", e.target.value)}
        />
      </label>
      <fieldset>
        <legend>Late events</legend>
        <label>
          Each poll also re-reads (seconds before where the last one ended)
          <input
            type="number"
            {...rangeOf(schema, "overlapSecs")}
            value={form.overlapSecs}
            onChange={(e) => set("overlapSecs", e.target.value)}
          />
        </label>
        <label>
          Re-read the last (hours; 0 turns late-event re-reads off)
          <input
            type="number"
            {...rangeOf(schema, "sweepWindowSecs", HOUR)}
            step="any"
            value={form.sweepWindowHours}
            onChange={(e) => set("sweepWindowHours", e.target.value)}
          />
        </label>
        <label>
          Every (hours; less than the hours re-read)
          <input
            type="number"
            {...rangeOf(schema, "sweepIntervalSecs", HOUR)}
            step="any"
            value={form.sweepIntervalHours}
            onChange={(e) => set("sweepIntervalHours", e.target.value)}
          />
        </label>
        <p className="muted small">
          Every poll catches an event late by less than the seconds it re-reads. The sweeps catch one late by less than
          the hours re-read minus the hours between them. Re-reading costs a request per 100 events each time.
        </p>
      </fieldset>
      <ErrorBanner message={action.error} />
      {saved ? (
        <div className="banner banner-ok" role="status">
          {saved}
        </div>
      ) : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={action.busy}>
          {action.busy ? "Saving…" : "Save"}
        </button>
        <button type="button" disabled={action.busy} onClick={() => setForm(formOf(source))}>
          Reset
        </button>
      </div>
    </form>
  );
}

/** The packs with their state for this source: a source's own setting wins over the global one. */
export function SourcePacks({ sourceId }: { sourceId: string }) {
  const packs = useLoad(() => api.get<unknown>("/api/packs").then((d) => listOf<Rec>(d, "packs")), []);
  const action = useAction();

  function toggle(packId: string, enable: boolean) {
    return action.run(async () => {
      await api.post(`/api/packs/${encodeURIComponent(packId)}/${enable ? "enable" : "disable"}`, { sourceId });
      packs.reload();
    }, packId);
  }

  return (
    <section className="card" aria-label="Detection packs for this source">
      <h2>Detection packs</h2>
      <p className="muted small">
        Packs whose rules run on this source's events. A choice made here applies to this source only; otherwise the
        pack's global state (Detections page) applies.
      </p>
      <AdminOnly fallback={<AdminOnlyNote what="enable or disable packs for this source" />}>{null}</AdminOnly>
      <ErrorBanner message={packs.error ?? action.error} />
      <Loading when={packs.loading && !packs.data} />
      <Table
        label="Packs for this source"
        rows={packs.data?.map((p) => {
          const own = listOf<Rec>(p.sourceOverrides).find((o) => str(o.sourceId) === sourceId);
          return { p, id: text(p.id), own, enabled: own ? own.enabled !== false : p.enabled !== false };
        })}
        rowKey={(r) => r.id}
        empty="No packs installed."
        columns={[
          {
            header: "Pack",
            cell: ({ p, id }) => (
              <>
                <strong>{str(pick(p, "displayName", "name")) || visible(id)}</strong>{" "}
                <span className="muted mono">{visible(id)}</span>
              </>
            ),
          },
          { header: "Description", className: "wrap", cell: ({ p }) => str(p.description) },
          {
            header: "On this source",
            cell: ({ own, enabled }) => (
              <>
                <EnabledBadge enabled={enabled} />{" "}
                <span className="muted small">{own ? "set for this source" : "global setting"}</span>
              </>
            ),
          },
          {
            cell: ({ id, enabled }) => (
              <EnableToggle
                enabled={enabled}
                what={`pack ${id} for this source`}
                busy={action.busyTag === id}
                onToggle={(on) => void toggle(id, on)}
              />
            ),
          },
        ]}
      />
    </section>
  );
}

/** Danger zone: deleting asks for the source's name, typed, before DELETE /api/sources/:id. */
export function DeleteSource({ source }: { source: Rec }) {
  const navigate = useNavigate();
  const name = str(source.name);
  const [typed, setTyped] = useState("");
  const action = useAction();
  const confirmed = typed === name && name !== "";

  function remove(e: FormEvent) {
    e.preventDefault();
    if (!confirmed) return;
    void action.run(async () => {
      await api.del<unknown>(`/api/sources/${encodeURIComponent(text(source.id))}`);
      navigate("/sources");
    });
  }

  return (
    <form className="card form" aria-label="Danger zone" onSubmit={remove}>
      <h2 className="err-text">Danger zone</h2>
      <p>
        Deleting this source stops polling it and removes everything stored for it: its events, alerts, checkpoints,
        quarantine and per-source detection settings. This cannot be undone.
      </p>
      <label>
        Type the source's name ({name}) to confirm
        <input value={typed} autoComplete="off" spellCheck={false} onChange={(e) => setTyped(e.target.value)} />
      </label>
      <ErrorBanner message={action.error} />
      <div className="actions">
        <button type="submit" disabled={!confirmed || action.busy}>
          {action.busy ? "Deleting…" : "Delete source"}
        </button>
      </div>
    </form>
  );
}
