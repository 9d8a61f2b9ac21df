// Keeps destination secrets (webhook URLs with tokens, HMAC secrets, SMTP passwords, routing keys) out of
// error messages and logs.

import { redactSecrets } from "../core/redact.ts";
import { escapeRegExp } from "../core/regexp.ts";

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

/** A token echoed on its own: a part of a secret this long is hidden wherever it appears. */
const TOKEN_MIN = 8;

/**
 * Returns a function that removes the given secrets (and anything that looks like an OpenAI key) from a
 * text, in any case (a receiver may echo a header lower-cased). URLs among the secrets are also removed by their
 * path and query, and by each of their tokens as sent (percent-encoded) and decoded, so a server that echoes a
 * request line, or one value of it, does not leak them either; a `Basic` credential also by its decoded
 * `user:password` and password.
 */
export function secretRedactor(secrets: Array<string | null | undefined>): (text: string) => string {
  const needles = new Set<string>();
  const addToken = (token: string) => {
    if (token.length < TOKEN_MIN) return;
    needles.add(token);
    try {
      needles.add(decodeURIComponent(token));
    } catch {
      // Not percent-encoded text: kept as sent.
    }
  };
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    needles.add(secret);
    needles.add(encodeURIComponent(secret));
    try {
      const u = new URL(secret);
      if (u.pathname.length > 1) needles.add(u.pathname);
      if (u.search.length > 1) needles.add(u.search);
      if (u.password) needles.add(u.password);
      // Tokens echoed on their own: the query's values and the path's segments.
      for (const pair of u.search.slice(1).split("&")) addToken(pair.slice(pair.indexOf("=") + 1));
      for (const value of u.searchParams.values()) addToken(value);
      for (const segment of u.pathname.split("/")) addToken(segment);
    } catch {
      // Not a URL: also hide the parts of values like `Bearer <token>` or `Basic <base64 of user:password>`.
      for (const part of secret.split(/\s+/)) {
        addToken(part);
        const decoded = basicCredential(part);
        if (decoded !== null) {
          needles.add(decoded);
          addToken(decoded.slice(decoded.indexOf(":") + 1));
        }
      }
    }
  }
  // Longest first, so a URL is replaced whole before its path is.
  const ordered = [...needles].filter((n) => n.length >= 4).sort((a, b) => b.length - a.length);
  const pattern = ordered.length === 0 ? null : new RegExp(ordered.map(escapeRegExp).join("|"), "giu");
  return (text: string) => redactSecrets(pattern === null ? text : text.replace(pattern, "[redacted]"));
}

/** `user:password` when `part` is the base64 of such text (a Basic credential), else null. */
function basicCredential(part: string): string | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(part) || part.length % 4 !== 0) return null;
  const decoded = Buffer.from(part, "base64").toString("utf8");
  return /^[^:\p{Cc}]*:[^\p{Cc}]{4,}$/u.test(decoded) ? decoded : null;
}
