// `vigil destinations add|list|remove|retry|dead|test`: where alerts are sent.
//
// Non-secret settings come as flags; the secret part of each type (Slack webhook URL, webhook HMAC secret,
// PagerDuty routing key, SMTP password) comes from an environment variable or stdin, never argv, where
// `ps` and shell history would show it. The whole type-specific config is stored encrypted, and nothing
// here prints it back.

import type { Command } from "commander";
import type { DeadLetter, DestinationRecord } from "../../core/destination.ts";
import { SEVERITIES } from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import { DEFAULT_MIN_SEVERITY, DESTINATION_TYPES } from "../../destinations/index.ts";
import type { Runtime } from "../../pipeline/runtime.ts";
import {
  addDestination,
  checkTypeAndSeverity,
  DEAD_LETTER_LIMIT,
  listDeadLetters,
  removeDestination,
  retryDeadLetters,
  testDestination,
} from "../../usecases/destinations.ts";
import { printJsonLine, withRuntime } from "../context.ts";
import { readSecret } from "../read-secret.ts";
import { isoTime, parsePositiveInt } from "../time-arg.ts";

export const DEFAULT_SECRET_ENV = "VIGIL_DESTINATION_SECRET";

interface AddOptions {
  name: string;
  minSeverity?: string;
  logType: string[];
  secretEnv: string;
  timeoutSecs?: string;
  url?: string;
  header: string[];
  headerEnv: string[];
  baseUrl?: string;
  host?: string;
  port?: string;
  secure?: boolean;
  requireTls?: boolean;
  allowPlaintext?: boolean;
  insecureTls?: boolean;
  smtpUser?: string;
  from?: string;
  to: string[];
  path?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** What the secret of each type is (null: the type has none). */
function secretLabel(type: string, options: AddOptions): string | null {
  switch (type) {
    case "slack":
      return "Slack webhook URL";
    case "webhook":
      return "webhook signing secret";
    case "pagerduty":
      return "PagerDuty routing key";
    case "email":
      return options.smtpUser ? "SMTP password" : null;
    default:
      return null;
  }
}

function require(value: string | undefined, flag: string, type: string): string {
  if (value === undefined || value === "") throw new UsageError(`A ${type} destination needs ${flag}.`);
  return value;
}

/**
 * Header names whose values are credentials: never taken from the command line (`ps` and the shell show it).
 * Broad on purpose (X-Functions-Key, Ocp-Apim-Subscription-Key, X-Auth, X-Signature…): a plain header wrongly
 * taken for one only has to come from the environment.
 */
const CREDENTIAL_HEADER = /auth|cookie|key|token|secret|passw|signature|session|credential/i;

/**
 * A webhook's extra headers: `--header "Name: value"` for plain ones, `--header-env Name=VAR` for credentials,
 * read from the environment. Checked before the secret is asked for.
 */
function webhookHeaders(options: AddOptions, lookup: (name: string) => string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of options.header) {
    const at = h.indexOf(":");
    if (at <= 0) throw new UsageError(`--header takes "Name: value" (got a value without a colon).`);
    const name = h.slice(0, at).trim();
    if (CREDENTIAL_HEADER.test(name)) {
      throw new UsageError(
        `--header ${name}: a credential is never taken from the command line, which every local user can read; ` +
          `put it in an environment variable and give --header-env ${name}=VAR.`,
      );
    }
    headers[name] = h.slice(at + 1).trim();
  }
  for (const h of options.headerEnv) {
    const at = h.indexOf("=");
    if (at <= 0) throw new UsageError(`--header-env takes "Name=ENV_VAR" (got a value without an =).`);
    const name = h.slice(0, at).trim();
    const variable = h.slice(at + 1).trim();
    const value = lookup(variable);
    if (!value) throw new UsageError(`--header-env ${name}: ${variable} is not set.`);
    headers[name] = value.trim();
  }
  return headers;
}

/** The type-specific config (what gets encrypted), from the flags, the secret and the webhook's headers. */
function typeConfig(
  type: string,
  options: AddOptions,
  secret: string | null,
  headers: Record<string, string>,
): Record<string, unknown> {
  const timeout = options.timeoutSecs === undefined ? {} : { timeout_secs: Number(options.timeoutSecs) };
  switch (type) {
    case "slack":
      return { webhook_url: secret, ...timeout };
    case "webhook":
      return {
        url: require(options.url, "--url", type),
        secret,
        ...(Object.keys(headers).length > 0 ? { headers } : {}),
        ...timeout,
      };
    case "pagerduty":
      return { routing_key: secret, ...(options.baseUrl ? { base_url: options.baseUrl } : {}), ...timeout };
    case "email":
      return {
        host: require(options.host, "--host", type),
        ...(options.port ? { port: Number(options.port) } : {}),
        secure: options.secure === true,
        require_tls: options.requireTls === true,
        allow_plaintext: options.allowPlaintext === true,
        tls_reject_unauthorized: options.insecureTls !== true,
        ...(options.smtpUser ? { auth: { user: options.smtpUser, pass: secret } } : {}),
        from: require(options.from, "--from", type),
        to: options.to,
        ...timeout,
      };
    case "file":
      return { path: require(options.path, "--path", type), ...timeout };
    default:
      throw new UsageError(
        `Unknown destination type ${JSON.stringify(type)}; use one of ${DESTINATION_TYPES.join(", ")}.`,
      );
  }
}

function optionalSeverity(options: AddOptions): { minSeverity?: string } {
  return options.minSeverity === undefined ? {} : { minSeverity: options.minSeverity };
}

function describe(d: DestinationRecord): string {
  const logTypes = d.logTypes.length > 0 ? d.logTypes.join(",") : "all log types";
  const health =
    d.failing === null || d.failing.recovered
      ? "delivering"
      : `failing since ${isoTime(d.failing.sinceMs)}${d.failing.dead ? " (deliveries given up)" : ""}: ${d.failing.error ?? "no error recorded"}`;
  return `${d.name}\t${d.type}\t${d.minSeverity}+\t${logTypes}\t${d.id}\t${health}`;
}

/**
 * One tab-separated line per dead letter: given up (its last attempt), kind, alert, attempts, whether retry sends
 * it, last error.
 */
function deadLetterLine(letter: DeadLetter): string {
  return [
    isoTime(letter.gaveUpAtMs),
    letter.kind,
    letter.alertId,
    `${letter.attempts} ${letter.attempts === 1 ? "attempt" : "attempts"}`,
    // Why one stays dead: ports.ts retryDeadDeliveries.
    letter.sendAgain
      ? "retry sends it again"
      : `stays dead (a later notification of its alert was sent or is on its way${letter.kind === "created" ? ", or the alert has ended" : ""})`,
    letter.lastError ?? "no error recorded",
  ].join("\t");
}

async function requireDestination(runtime: Runtime, name: string): Promise<DestinationRecord> {
  const found = await runtime.store.getDestination(name);
  if (!found) {
    throw new NotFoundError(`There is no destination named ${JSON.stringify(name)}; see \`vigil destinations list\`.`);
  }
  return found;
}

export function register(program: Command): void {
  const destinations = program.command("destinations").description("Manage where alerts are sent.");

  destinations
    .command("add")
    .argument("<type>", `one of ${DESTINATION_TYPES.join(", ")}`)
    .description(
      "Add a destination. Its secret (Slack webhook URL, webhook signing secret, PagerDuty routing key, SMTP password) " +
        "is read from an environment variable or stdin, never from the command line.",
    )
    .requiredOption("--name <name>", "a unique name")
    .option(
      "--min-severity <severity>",
      `send alerts of this severity and above (${SEVERITIES.join(", ")}); default by type: ${DESTINATION_TYPES.map(
        (t) => `${t} ${DEFAULT_MIN_SEVERITY[t]}`,
      ).join(", ")}`,
    )
    .option("--log-type <type>", "send only alerts of this log type (repeatable; default all)", collect, [])
    .option("--secret-env <var>", "environment variable holding the secret", DEFAULT_SECRET_ENV)
    .option("--timeout-secs <secs>", "per-request timeout (default 10)")
    .option("--url <url>", "webhook: the receiver's URL")
    .option("--header <header>", "webhook: an extra 'Name: value' header, not a credential (repeatable)", collect, [])
    .option(
      "--header-env <Name=VAR>",
      "webhook: an extra header whose value (a credential) is read from the environment variable VAR (repeatable)",
      collect,
      [],
    )
    .option("--base-url <url>", "pagerduty: Events API base URL")
    .option("--host <host>", "email: SMTP host")
    .option("--port <port>", "email: SMTP port (default 587)")
    .option("--secure", "email: TLS from the start (port 465)")
    .option("--require-tls", "email: require STARTTLS (the default for hosts that are not loopback)")
    .option("--allow-plaintext", "email: send without TLS to a server that offers no STARTTLS (clear text)")
    .option("--insecure-tls", "email: accept an invalid server certificate")
    .option("--smtp-user <user>", "email: SMTP user (the password is the secret)")
    .option("--from <address>", "email: sender")
    .option("--to <address>", "email: recipient (repeatable)", collect, [])
    .option("--path <path>", "file: append JSON lines to this file (or stdout)")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  VIGIL_DESTINATION_SECRET=https://hooks.slack.com/services/... vigil destinations add slack --name sec --min-severity HIGH\n" +
        '  printf %s "$SIGNING_SECRET" | vigil destinations add webhook --name siem --url https://siem.example.com/vigil\n',
    )
    .action(async (type: string, options: AddOptions) => {
      // Before the secret is asked for; the whole config is checked once it is complete.
      checkTypeAndSeverity({ name: options.name, type, ...optionalSeverity(options) });
      await withRuntime(async (runtime) => {
        const headers = type === "webhook" ? webhookHeaders(options, (name) => runtime.env.lookup(name)) : {};
        const label = secretLabel(type, options);
        const secret =
          label === null ? null : await readSecret(runtime.env.lookup(options.secretEnv), options.secretEnv, label);
        const created = await addDestination(runtime, {
          name: options.name,
          type,
          ...optionalSeverity(options),
          logTypes: options.logType,
          config: typeConfig(type, options, secret, headers),
        });
        process.stdout.write(`Added destination ${created.name} (${created.type}, ${created.id}).\n`);
      });
    });

  destinations
    .command("list")
    .description("List destinations (never their secrets).")
    .option("--json", "one JSON object per line")
    .action(async (options: { json?: boolean }) => {
      await withRuntime(async (runtime) => {
        const all = await runtime.store.listDestinations();
        if (all.length === 0 && !options.json) {
          process.stderr.write("No destinations; add one with `vigil destinations add TYPE --name NAME`.\n");
        }
        for (const d of all) {
          if (options.json) printJsonLine(d);
          else process.stdout.write(`${describe(d)}\n`);
        }
      });
    });

  destinations
    .command("remove")
    .argument("<name>", "destination name or id")
    .description("Remove a destination; past deliveries keep their log.")
    .action(async (name: string) => {
      await withRuntime(async (runtime) => {
        const d = await requireDestination(runtime, name);
        await removeDestination(runtime, d);
        process.stdout.write(`Removed destination ${d.name}.\n`);
      });
    });

  destinations
    .command("retry")
    .argument("<name>", "destination name or id")
    .description("Send the destination's dead letters (deliveries given up) again, each retried for another day.")
    .action(async (name: string) => {
      await withRuntime(async (runtime) => {
        const d = await requireDestination(runtime, name);
        const n = await retryDeadLetters(runtime, d);
        process.stdout.write(
          n === 0
            ? `${d.name} has no dead letters to send again.\n`
            : `Queued ${n} dead ${n === 1 ? "letter" : "letters"} of ${d.name}: \`vigil start\` (or \`vigil poll --once\`) sends them.\n`,
        );
      });
    });

  destinations
    .command("dead")
    .argument("<name>", "destination name or id")
    .description(
      "List the destination's dead letters (deliveries given up), newest first, and whether `retry` sends each again.",
    )
    .option("--limit <n>", "at most this many", String(DEAD_LETTER_LIMIT.default))
    .option("--json", "one JSON object per line")
    .action(async (name: string, options: { limit: string; json?: boolean }) => {
      await withRuntime(async (runtime) => {
        const d = await requireDestination(runtime, name);
        const letters = await listDeadLetters(
          runtime,
          d,
          parsePositiveInt(options.limit, "--limit", 1, DEAD_LETTER_LIMIT.max),
        );
        if (letters.length === 0 && !options.json) process.stderr.write(`${d.name} has no dead letters.\n`);
        for (const letter of letters) {
          if (options.json) printJsonLine(letter);
          else process.stdout.write(`${deadLetterLine(letter)}\n`);
        }
      });
    });

  destinations
    .command("test")
    .argument("<name>", "destination name or id")
    .description("Send a sample alert to the destination; exit non-zero when it fails.")
    .action(async (name: string) => {
      await withRuntime(async (runtime) => {
        const record = await requireDestination(runtime, name);
        const { durationMs: _durationMs, ...result } = await testDestination(runtime, record, {
          deliveryId: `test-${record.id}-${runtime.clock.nowMs()}`,
          signal: AbortSignal.timeout(120_000),
        });
        printJsonLine({ destination: record.name, ...result });
        if (!result.ok) process.exitCode = 1;
      });
    });
}
