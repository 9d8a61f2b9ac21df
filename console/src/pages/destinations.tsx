// Destinations: list, create, send a test, change the minimum severity, remove. Secrets (webhook URLs with
// tokens, HMAC secrets, routing keys, SMTP passwords) are write-only: typed into password inputs, sent once,
// never shown again (the API does not return them).

import { type FormEvent, useState } from "react";
import { Link } from "react-router-dom";
import { api, errorMessage, listOf } from "../api.ts";
import {
  AdminOnly,
  AdminOnlyNote,
  ErrorBanner,
  Loading,
  SeverityBadge,
  useAction,
  useIsAdmin,
  useLoad,
  usePageTitle,
} from "../components.tsx";
import { fmtMs, type Rec, str, text } from "../format.ts";
import { Table } from "../table.tsx";

const TYPES = ["slack", "webhook", "pagerduty", "email", "file"] as const;
type DestinationType = (typeof TYPES)[number];
const SEVERITIES = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;

interface Field {
  key: string;
  label: string;
  secret?: boolean;
  optional?: boolean;
  placeholder?: string;
  kind?: "number" | "checkbox" | "list";
}

/** The type-specific config fields (snake_case as in src/destinations); `auth.user` nests. */
const FIELDS: Record<DestinationType, Field[]> = {
  slack: [{ key: "webhook_url", label: "Slack webhook URL", secret: true, placeholder: "https://hooks.slack.com/…" }],
  webhook: [
    { key: "url", label: "URL", placeholder: "https://example.com/vigil" },
    { key: "secret", label: "Signing secret", secret: true, placeholder: "at least 16 characters" },
  ],
  pagerduty: [
    { key: "routing_key", label: "Routing key", secret: true },
    { key: "base_url", label: "Events API URL", optional: true, placeholder: "https://events.pagerduty.com" },
  ],
  email: [
    { key: "host", label: "SMTP host", placeholder: "smtp.example.com" },
    { key: "port", label: "SMTP port", kind: "number", optional: true, placeholder: "587" },
    { key: "secure", label: "TLS from the start (port 465)", kind: "checkbox" },
    {
      key: "allow_plaintext",
      label: "Allow sending without TLS (password and alerts in clear text)",
      kind: "checkbox",
    },
    { key: "auth.user", label: "SMTP user", optional: true },
    { key: "auth.pass", label: "SMTP password", secret: true, optional: true },
    { key: "from", label: "From", placeholder: "vigil@example.com" },
    { key: "to", label: "To", kind: "list", placeholder: "secops@example.com, oncall@example.com" },
  ],
  // Relative to the export directory the operator chose (VIGIL_EXPORT_DIR); paths leaving it are refused.
  file: [{ key: "path", label: "Path", placeholder: "alerts.jsonl (inside the export directory)" }],
};

function buildConfig(type: DestinationType, values: Record<string, string>): Rec {
  const config: Rec = {};
  const auth: Rec = {};
  for (const f of FIELDS[type]) {
    const raw = values[f.key] ?? "";
    let value: unknown;
    if (f.kind === "checkbox") value = raw === "true";
    else if (raw.trim() === "") continue;
    else if (f.kind === "number") value = Number(raw);
    else if (f.kind === "list")
      value = raw
        .split(/[,\s]+/)
        .map((s) => s.trim())
        .filter((s) => s !== "");
    else value = f.secret ? raw : raw.trim();
    if (f.key.startsWith("auth.")) auth[f.key.slice(5)] = value;
    else config[f.key] = value;
  }
  if (Object.keys(auth).length > 0) config.auth = auth;
  return config;
}

interface TestResult {
  ok: boolean;
  status?: number | null;
  durationMs?: number;
  message?: string;
}

/** The API's default minimum severity per type (GET /api/destinations → defaultMinSeverity). */
type SeverityDefaults = Partial<Record<string, string>>;

function NewDestinationForm({ onCreated, defaults }: { onCreated: () => void; defaults: SeverityDefaults }) {
  const [type, setType] = useState<DestinationType>("slack");
  const [name, setName] = useState("");
  // null: the type's default, which follows the type until the user picks a severity.
  const [chosenSeverity, setChosenSeverity] = useState<string | null>(null);
  const typeDefault = defaults[type] ?? "INFO";
  const minSeverity = chosenSeverity ?? typeDefault;
  const [values, setValues] = useState<Record<string, string>>({});
  const action = useAction();

  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run(async () => {
      await api.post("/api/destinations", { name, type, minSeverity, config: buildConfig(type, values) });
      setName("");
      setValues({});
      onCreated();
    });
  }

  const set = (key: string, value: string) => setValues((v) => ({ ...v, [key]: value }));

  return (
    <form className="card form" onSubmit={submit} aria-label="New destination">
      <h2>New destination</h2>
      <ErrorBanner message={action.error} />
      <label>
        Type
        <select
          value={type}
          onChange={(e) => {
            setType(e.target.value as DestinationType);
            setValues({});
            setChosenSeverity(null);
          }}
        >
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        Name
        <input value={name} required maxLength={200} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Minimum severity
        <select value={minSeverity} onChange={(e) => setChosenSeverity(e.target.value)}>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {s}
              {s === typeDefault ? ` (default for ${type})` : ""}
            </option>
          ))}
        </select>
      </label>
      <p className="muted">
        Default minimum severity by type: PagerDuty pages someone, so HIGH; Slack and email are read by people, MEDIUM;
        a webhook or a file feeds machines that keep everything, INFO.
      </p>
      {FIELDS[type].map((f) =>
        f.kind === "checkbox" ? (
          <label key={`${type}-${f.key}`} className="check">
            <input
              type="checkbox"
              checked={values[f.key] === "true"}
              onChange={(e) => set(f.key, e.target.checked ? "true" : "false")}
            />{" "}
            {f.label}
          </label>
        ) : (
          <label key={`${type}-${f.key}`}>
            {f.label}
            {f.optional ? <span className="muted"> (optional)</span> : null}
            <input
              type={f.secret ? "password" : f.kind === "number" ? "number" : "text"}
              autoComplete={f.secret ? "new-password" : "off"}
              required={!f.optional}
              placeholder={f.placeholder}
              value={values[f.key] ?? ""}
              onChange={(e) => set(f.key, e.target.value)}
            />
          </label>
        ),
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={action.busy}>
          {action.busy ? "Creating…" : "Create destination"}
        </button>
      </div>
    </form>
  );
}

/** A destination's "Send test" button and what the last test answered. */
function TestCell({
  name,
  test,
  onSend,
}: {
  name: string;
  test: TestResult | "running" | undefined;
  onSend: () => void;
}) {
  return (
    <>
      <button type="button" aria-label={`Send test to ${name}`} disabled={test === "running"} onClick={onSend}>
        {test === "running" ? "Sending…" : "Send test"}
      </button>
      {test && test !== "running" ? (
        test.ok ? (
          <div className="ok-text" role="status">
            ok{test.status ? ` (${test.status})` : ""}
            {test.durationMs !== undefined ? `, ${test.durationMs} ms` : ""}
          </div>
        ) : (
          <div className="err-text" role="alert">
            failed{test.status ? ` (${test.status})` : ""}: {str(test.message) || "no reason given"}
          </div>
        )
      ) : null}
    </>
  );
}

/** Dead letters shown first; each "Show more" adds five times as many. The CLI (`vigil destinations dead NAME`) lists them too. */
const DEAD_LETTERS_PAGE = 20;
/** The API's largest list (DEAD_LETTER_LIMIT in src/usecases/destinations.ts). */
const DEAD_LETTERS_MAX = 10_000;

/**
 * A destination's dead letters (the API's list, newest first): each one's alert, notification, attempts, last
 * error; and, while the destination has more than are shown, a button that shows more.
 */
function DeadLetters({
  name,
  letters,
  total,
  onMore,
}: {
  name: string;
  letters: Rec[];
  total: number;
  onMore: () => void;
}) {
  if (letters.length === 0) return <div className="muted">no dead letters</div>;
  const more = letters.length < total && letters.length < DEAD_LETTERS_MAX;
  return (
    <>
      {more ? (
        <div className="muted">
          the newest {letters.length} of {total}{" "}
          <button type="button" aria-label={`Show more dead letters of ${name}`} onClick={onMore}>
            Show more
          </button>
        </div>
      ) : null}
      <DeadLetterList name={name} letters={letters} />
    </>
  );
}

function DeadLetterList({ name, letters }: { name: string; letters: Rec[] }) {
  return (
    <ul className="plain dead-letters" aria-label={`Dead letters of ${name}`}>
      {letters.map((l) => {
        const attempts = Number(l.attempts ?? 0);
        return (
          <li key={str(l.id)}>
            <span className="nowrap">given up {fmtMs(l.gaveUpAtMs)}</span> ·{" "}
            <Link to={`/alerts/${encodeURIComponent(text(l.alertId))}`}>{str(l.kind)} notification</Link> · {attempts}{" "}
            {attempts === 1 ? "attempt" : "attempts"} · {str(l.lastError) || "no error recorded"} ·{" "}
            <span className="muted">{l.sendAgain ? "Send again sends it" : "stays dead"}</span>
          </li>
        );
      })}
    </ul>
  );
}

export function DestinationsPage() {
  usePageTitle("Destinations");
  const admin = useIsAdmin();
  const loaded = useLoad(
    () =>
      api.get<unknown>("/api/destinations").then((d) => ({
        list: listOf<Rec>(d, "destinations"),
        defaults: ((d as Rec | null)?.defaultMinSeverity ?? {}) as SeverityDefaults,
      })),
    [],
  );
  const destinations = { ...loaded, data: loaded.data?.list ?? null };
  const action = useAction();
  const [tests, setTests] = useState<Record<string, TestResult | "running">>({});
  const [removing, setRemoving] = useState<string | null>(null);
  const [requeued, setRequeued] = useState<Record<string, string>>({});
  const [letters, setLetters] = useState<Record<string, Rec[]>>({});

  /** Shows the newest `limit` dead letters of a destination (the list is read again: it may have changed). */
  function showDeadLetters(id: string, limit = DEAD_LETTERS_PAGE) {
    void action.run(async () => {
      const result = await api.get<unknown>(
        `/api/destinations/${encodeURIComponent(id)}/dead-letters?limit=${Math.min(limit, DEAD_LETTERS_MAX)}`,
      );
      setLetters((l) => ({ ...l, [id]: listOf<Rec>(result, "deadLetters") }));
    });
  }

  async function sendTest(id: string) {
    action.setError(null);
    setTests((t) => ({ ...t, [id]: "running" }));
    try {
      const result = await api.post<TestResult>(`/api/destinations/${encodeURIComponent(id)}/test`, {});
      setTests((t) => ({ ...t, [id]: result }));
    } catch (e) {
      setTests((t) => ({ ...t, [id]: { ok: false, message: errorMessage(e) } }));
    }
  }

  function changeSeverity(id: string, minSeverity: string) {
    void action.run(async () => {
      await api.patch(`/api/destinations/${encodeURIComponent(id)}`, { minSeverity });
      destinations.reload();
    });
  }

  function resend(id: string, name: string) {
    void action.run(async () => {
      const result = await api.post<{ requeued?: number }>(`/api/destinations/${encodeURIComponent(id)}/retry`, {});
      setRequeued((r) => ({ ...r, [id]: `${result.requeued ?? 0} queued for ${name}` }));
      // The list shown is of letters no longer dead.
      setLetters(({ [id]: _sent, ...rest }) => rest);
      destinations.reload();
    });
  }

  function remove(id: string) {
    void action.run(async () => {
      await api.del(`/api/destinations/${encodeURIComponent(id)}`);
      setRemoving(null);
      destinations.reload();
    });
  }

  const list = destinations.data ?? [];
  return (
    <>
      <header className="page-head">
        <h1>Destinations</h1>
      </header>
      <ErrorBanner message={action.error ?? destinations.error} />
      <section className="card">
        <h2>Configured destinations</h2>
        <Loading when={destinations.loading && !destinations.data} />
        {destinations.data && list.length === 0 ? (
          <p className="muted">No destinations yet: alerts are stored but not sent anywhere.</p>
        ) : null}
        {list.length > 0 ? (
          <Table
            label="Destinations"
            rows={list.map((d) => ({
              d,
              id: str(d.id),
              name: str(d.name),
              // The config file owns it: the API refuses changes, so the console offers none.
              fromFile: d.managedBy === "config",
            }))}
            rowKey={(r) => r.id}
            columns={[
              {
                header: "Name",
                cell: ({ name, fromFile }) => (
                  <>
                    <strong>{name}</strong>
                    {fromFile ? <div className="muted">from the config file</div> : null}
                  </>
                ),
              },
              { header: "Type", className: "mono", cell: ({ d }) => str(d.type) },
              {
                header: "Minimum severity",
                className: "nowrap",
                cell: ({ d, id, name, fromFile }) => (
                  <>
                    <SeverityBadge severity={d.minSeverity} />{" "}
                    <select
                      aria-label={`Minimum severity for ${name}`}
                      value={str(d.minSeverity) || "INFO"}
                      disabled={fromFile || !admin}
                      onChange={(e) => changeSeverity(id, e.target.value)}
                    >
                      {SEVERITIES.map((s) => (
                        <option key={s} value={s}>
                          {s}
                        </option>
                      ))}
                    </select>
                  </>
                ),
              },
              {
                header: "Deliveries",
                className: "wrap",
                cell: ({ d, id, name }) => {
                  const failing = d.failing as Rec | null | undefined;
                  const dead = Number(d.deadLetters ?? 0);
                  return (
                    <>
                      {failing ? (
                        <div className="err-text">
                          failing since {fmtMs(failing.sinceMs)}
                          {failing.givenUp ? " (given up)" : ""}: {str(failing.error) || "no reason given"}
                        </div>
                      ) : d.lastDeliveredAtMs ? (
                        <div>delivering (last {fmtMs(d.lastDeliveredAtMs)})</div>
                      ) : (
                        <div className="muted">nothing delivered yet</div>
                      )}
                      {dead > 0 ? (
                        <div>
                          {dead} dead {dead === 1 ? "letter" : "letters"}{" "}
                          <button
                            type="button"
                            aria-label={`Show the dead letters of ${name}`}
                            onClick={() => showDeadLetters(id)}
                          >
                            Show
                          </button>{" "}
                          <AdminOnly>
                            <button
                              type="button"
                              aria-label={`Send the dead letters of ${name} again`}
                              onClick={() => resend(id, name)}
                            >
                              Send again
                            </button>
                          </AdminOnly>
                        </div>
                      ) : null}
                      {letters[id] ? (
                        <DeadLetters
                          name={name}
                          letters={letters[id]}
                          total={dead}
                          onMore={() => showDeadLetters(id, (letters[id]?.length ?? 0) + DEAD_LETTERS_PAGE * 5)}
                        />
                      ) : null}
                      {requeued[id] ? <div className="muted">{requeued[id]}</div> : null}
                    </>
                  );
                },
              },
              { header: "Updated", className: "nowrap", cell: ({ d }) => fmtMs(d.updatedAtMs ?? d.createdAtMs) },
              {
                header: "Test",
                className: "soft-wrap",
                cell: ({ id, name }) => (
                  <AdminOnly>
                    <TestCell name={name} test={tests[id]} onSend={() => void sendTest(id)} />
                  </AdminOnly>
                ),
              },
              {
                className: "nowrap",
                cell: ({ id, name, fromFile }) =>
                  !admin ? null : fromFile ? (
                    <span className="muted">change it in the config file</span>
                  ) : removing === id ? (
                    <>
                      <button type="button" aria-label={`Confirm removing ${name}`} onClick={() => remove(id)}>
                        Confirm remove
                      </button>{" "}
                      <button type="button" onClick={() => setRemoving(null)}>
                        Cancel
                      </button>
                    </>
                  ) : (
                    <button type="button" aria-label={`Remove ${name}`} onClick={() => setRemoving(id)}>
                      Remove
                    </button>
                  ),
              },
            ]}
          />
        ) : null}
      </section>
      <AdminOnly
        fallback={<AdminOnlyNote what="add, change, test or remove destinations, or send dead letters again" />}
      >
        <NewDestinationForm onCreated={destinations.reload} defaults={loaded.data?.defaults ?? {}} />
      </AdminOnly>
    </>
  );
}
