// Keeps destination secrets (webhook URLs with tokens, HMAC secrets, SMTP passwords, routing keys) out of
// error messages and logs.

import { redactSecrets } from "../core/redact.ts";

/**
 * A URL with its path, query and credentials hidden: `https://hooks.slack.com/…[redacted]`. Slack-style
 * webhook URLs carry their token in the path, so only the origin is ever shown.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const hidden = u.pathname !== "/" || u.search !== "" || u.hash !== "" || u.username !== "" || u.password !== "";
    return hidden ? `${u.protocol}//${u.host}/…[redacted]` : `${u.protocol}//${u.host}`;
  } catch {
    return "[redacted URL]";
  }
}

/**
 * Returns a function that removes the given secrets (and anything that looks like an OpenAI key) from a
 * text. URLs among the secrets are also removed by their path and query, and by their percent-encoded
 * forms, so a server that echoes a request line does not leak them either.
 */
export function secretRedactor(secrets: Array<string | null | undefined>): (text: string) => string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    needles.add(secret);
    needles.add(encodeURIComponent(secret));
    try {
      const u = new URL(secret);
      if (u.pathname.length > 1) needles.add(u.pathname);
      if (u.search.length > 1) needles.add(u.search);
      if (u.password) needles.add(u.password);
      // Tokens echoed on their own: query values and long path segments.
      for (const value of u.searchParams.values()) needles.add(value);
      for (const segment of u.pathname.split("/")) if (segment.length >= 12) needles.add(segment);
    } catch {
      // Not a URL: also hide the parts of values like `Bearer <token>`.
      for (const part of secret.split(/\s+/)) if (part.length >= 8) needles.add(part);
    }
  }
  // Longest first, so a URL is replaced whole before its path is.
  const ordered = [...needles].filter((n) => n.length >= 4).sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const needle of ordered) out = out.split(needle).join("[redacted]");
    return redactSecrets(out);
  };
}
