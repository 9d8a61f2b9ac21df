// Admin keys must never reach a log line, an error message or an API response.
// OpenAI keys start with `sk-` (`sk-admin-…`, `sk-proj-…`, `sk-svcacct-…`, legacy `sk-…`).
// A known prefix needs four key characters after it: a bare `sk-admin-` (as in "sk-admin-…" in our own
// sentences, or a key already redacted) is not a key, so redacting twice changes nothing.
const SECRET_PATTERN =
  /\bsk-(?:(?:admin|proj|svcacct)-[A-Za-z0-9_-]{4,}|(?!(?:admin|proj|svcacct)-)[A-Za-z0-9_-]{4,})/g;

/** Replaces anything that looks like an OpenAI key with its prefix and `…[redacted]`. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_PATTERN, (key) => {
    const prefix = key.startsWith("sk-admin-") ? "sk-admin-" : "sk-";
    return `${prefix}…[redacted]`;
  });
}

/** Deep copy of a JSON-like value with every string redacted; for log payloads. */
export function redactDeep<T>(value: T): T {
  if (typeof value === "string") return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}
