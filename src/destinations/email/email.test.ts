import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { test } from "node:test";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { createDestination } from "../factory.ts";
import { hostileNotification, refusedOrigin } from "../test-support.ts";
import { emailHtml, emailSubject, emailText, requiresStartTls } from "./email.ts";

interface Received {
  from: string | false;
  to: string[];
  raw: string;
  user: string | undefined;
}

async function startSmtp(
  options: Partial<SMTPServerOptions> = {},
  listenHost = "127.0.0.1",
): Promise<{ port: number; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : false,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
          user: typeof session.user === "string" ? session.user : undefined,
        });
        callback();
      });
    },
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, listenHost, () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function smtpError(message: string, code: number): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

function emailDest(port: number, extra: Record<string, unknown> = {}) {
  return createDestination({
    id: "mail",
    name: "Security mail",
    type: "email",
    host: "127.0.0.1",
    port,
    from: "Vigil <vigil@example.com>",
    to: ["secops@example.com", "oncall@example.com"],
    timeout_secs: 5,
    ...extra,
  });
}

/** Decodes RFC 2047 Q/B encoded words in a (possibly folded) header value. */
function decodeEncodedWords(value: string): string {
  return value
    .replace(/\r?\n[ \t]/g, " ")
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?UTF-8\?([QB])\?(.*?)\?=/gi, (_m, enc: string, text: string) =>
      enc.toUpperCase() === "B"
        ? Buffer.from(text, "base64").toString("utf8")
        : Buffer.from(
            text
              .replace(/_/g, " ")
              .replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
            "latin1",
          ).toString("utf8"),
    );
}

/** Decodes the quoted-printable / base64 parts of a raw message well enough to inspect them. */
function decodeParts(raw: string): { text: string; html: string } {
  const parts = raw.split(/\r?\n--[^\r\n]+\r?\n/);
  const decode = (part: string): string => {
    const [head = "", ...rest] = part.split(/\r?\n\r?\n/);
    const body = rest.join("\n\n").replace(/\r?\n--[^\r\n]*--\s*$/, "");
    if (/content-transfer-encoding:\s*base64/i.test(head))
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
      const bytes = body
        .replace(/=\r?\n/g, "")
        .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
      return Buffer.from(bytes, "latin1").toString("utf8");
    }
    return body;
  };
  const text = parts.find((p) => /content-type:\s*text\/plain/i.test(p)) ?? "";
  const html = parts.find((p) => /content-type:\s*text\/html/i.test(p)) ?? "";
  return { text: decode(text), html: decode(html) };
}

test("sends a message with subject, recipients, plain text and escaped HTML to a real SMTP server", async () => {
  const smtp = await startSmtp();
  try {
    const n = hostileNotification();
    const result = await emailDest(smtp.port).send(n, "delivery-7");
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(smtp.received.length, 1);
    const msg = smtp.received[0]!;
    assert.equal(msg.from, "vigil@example.com");
    assert.deepEqual(msg.to, ["secops@example.com", "oncall@example.com"]);
    assert.match(msg.raw, /^Message-ID: <delivery-7@vigil\.invalid>/im);
    assert.match(msg.raw, /^X-Vigil-Delivery-Id: delivery-7/im);
    const subjectLine = /^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(msg.raw)?.[1] ?? "";
    assert.equal(decodeEncodedWords(subjectLine), `[Vigil][HIGH] ${n.title}`);
    assert.equal(emailSubject(n), `[Vigil][HIGH] ${n.title}`);
    const { text, html } = decodeParts(msg.raw);
    assert.ok(text.includes(n.title), "plain text carries the raw title");
    assert.ok(text.includes("Actor: mallory@example.com (user user-abc) from 203.0.113.9"));
    assert.ok(text.includes("Open in Vigil: https://vigil.example.com/alerts/a1"));
    assert.ok(!html.includes("<script>"), "no live script tag in the HTML part");
    assert.ok(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"), html);
    assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;"));
    assert.ok(html.includes("&lt;b&gt;bold&lt;/b&gt; &amp;amp;") || html.includes("&lt;b&gt;bold&lt;/b&gt; &amp;"));
    assert.ok(!html.includes("<img"));
    assert.ok(html.includes('<a href="https://vigil.example.com/alerts/a1">Open in Vigil</a>'));
  } finally {
    await smtp.close();
  }
});

test("authenticates with user and password", async () => {
  const smtp = await startSmtp({
    authOptional: false,
    onAuth(auth, _session, callback) {
      if (auth.username === "vigil" && auth.password === "P4ssw0rd-secret") callback(null, { user: "vigil" });
      else callback(smtpError("Invalid username or password", 535));
    },
  });
  try {
    const ok = await emailDest(smtp.port, { auth: { user: "vigil", pass: "P4ssw0rd-secret" } }).send(
      hostileNotification(),
      "d1",
    );
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(smtp.received[0]?.user, "vigil");
    const bad = await emailDest(smtp.port, { auth: { user: "vigil", pass: "wrong-password-xyz" } }).send(
      hostileNotification(),
      "d2",
    );
    assert.ok(!bad.ok);
    assert.equal(bad.retryable, false, "535 is permanent");
    assert.equal(bad.status, 535);
    assert.ok(!JSON.stringify(bad).includes("wrong-password-xyz"));
  } finally {
    await smtp.close();
  }
});

test("a 550 rejection is not retryable; a 451 rejection is", async () => {
  let code = 550;
  const smtp = await startSmtp({
    onRcptTo(_address, _session, callback) {
      callback(smtpError(code === 550 ? "Mailbox unavailable" : "Try again later", code));
    },
  });
  try {
    const permanent = await emailDest(smtp.port).send(hostileNotification(), "d1");
    assert.ok(!permanent.ok);
    assert.equal(permanent.retryable, false);
    assert.equal(permanent.status, 550);
    assert.match(permanent.error, /SMTP 550 \(permanent\)/);

    code = 451;
    const temporary = await emailDest(smtp.port).send(hostileNotification(), "d2");
    assert.ok(!temporary.ok);
    assert.equal(temporary.retryable, true);
    assert.equal(temporary.status, 451);
    assert.match(temporary.error, /SMTP 451 \(temporary\)/);
    assert.equal(smtp.received.length, 0);
  } finally {
    await smtp.close();
  }
});

test("a 5xx reply to the message data is not retryable", async () => {
  const smtp = await startSmtp({
    onData(stream, _session, callback) {
      stream.resume();
      stream.on("end", () => callback(smtpError("Message rejected as spam", 554)));
    },
  });
  try {
    const result = await emailDest(smtp.port).send(hostileNotification(), "d1");
    assert.ok(!result.ok);
    assert.equal(result.retryable, false);
    assert.equal(result.status, 554);
  } finally {
    await smtp.close();
  }
});

test("connection refused is retryable", async () => {
  const port = Number(new URL(await refusedOrigin()).port);
  const result = await emailDest(port, { auth: { user: "u", pass: "secret-pass-123" } }).send(
    hostileNotification(),
    "d1",
  );
  assert.ok(!result.ok);
  assert.equal(result.retryable, true);
  assert.match(result.error, /ECONNECTION|ECONNREFUSED/);
  assert.ok(!JSON.stringify(result).includes("secret-pass-123"));
});

test("an aborted delivery returns a retryable cancellation", async () => {
  const result = await emailDest(1).send(hostileNotification(), "d1", AbortSignal.abort());
  assert.ok(!result.ok);
  assert.equal(result.retryable, true);
  assert.match(result.error, /cancelled/);
});

test("the subject is one line and resolved/test alerts are labelled", () => {
  assert.equal(
    emailSubject(hostileNotification({ title: "a\r\nBcc: evil@example.com", severity: "CRITICAL" })),
    "[Vigil][CRITICAL] a Bcc: evil@example.com",
  );
  assert.equal(emailSubject(hostileNotification({ kind: "resolved", title: "x" })), "[Vigil][HIGH] Resolved: x");
  assert.equal(emailSubject(hostileNotification({ kind: "test", title: "x" })), "[Vigil][HIGH] [TEST] x");
  assert.match(emailText(hostileNotification({ kind: "test" })), /^This is a test notification/);
  assert.ok(!emailHtml(hostileNotification({ consoleUrl: "javascript:alert(1)" })).includes("href"));
});

// Security (issue 16, finding 6d): SMTP AUTH never crosses the network in clear text by default.
test("STARTTLS is required except for loopback hosts, implicit TLS, or an explicit opt-out", () => {
  const base = { secure: false, require_tls: false, allow_plaintext: false };
  assert.equal(requiresStartTls({ ...base, host: "smtp.example.com" }), true);
  assert.equal(requiresStartTls({ ...base, host: "192.0.2.10" }), true);
  for (const host of ["localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]"]) {
    assert.equal(requiresStartTls({ ...base, host }), false, host);
  }
  assert.equal(requiresStartTls({ ...base, host: "smtp.example.com", secure: true }), false);
  assert.equal(requiresStartTls({ ...base, host: "smtp.example.com", allow_plaintext: true }), false);
  assert.equal(requiresStartTls({ ...base, host: "localhost", require_tls: true }), true);
});

/** An address of this machine that is not loopback, so that the real connection counts as remote. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address;
}

const external = externalAddress();
test("refuses to send AUTH in plaintext to a non-loopback server without STARTTLS, unless allow_plaintext", {
  skip: external === undefined ? "this machine has no non-loopback IPv4 address" : false,
}, async () => {
  const host = external ?? "";
  let authAttempts = 0;
  const smtp = await startSmtp(
    {
      authOptional: false,
      onAuth(_auth, _session, callback) {
        authAttempts += 1;
        callback(null, { user: "vigil" });
      },
    },
    host,
  );
  try {
    const auth = { user: "vigil", pass: "P4ssw0rd-secret" };
    const refused = await emailDest(smtp.port, { host, auth }).send(hostileNotification(), "d1");
    assert.ok(!refused.ok);
    assert.equal(refused.retryable, false);
    assert.match(refused.error, /allow_plaintext/);
    assert.equal(authAttempts, 0, "the password was never sent");
    assert.equal(smtp.received.length, 0);

    const optedOut = await emailDest(smtp.port, { host, auth, allow_plaintext: true }).send(
      hostileNotification(),
      "d2",
    );
    assert.equal(optedOut.ok, true, JSON.stringify(optedOut));
    assert.equal(authAttempts, 1);
  } finally {
    await smtp.close();
  }
});
