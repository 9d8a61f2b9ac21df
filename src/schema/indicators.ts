// Indicators: string fields marked with `indicators: [email, ip, …]` feed the standard `p_any_*`
// fields (Panther OSS `pantherlog/scanners.go`). Values are trimmed, empty values skipped, and each
// field is de-duplicated and sorted on output and omitted when empty.

import { domainToUnicode } from "node:url";
import { ipVersionOf } from "./ip.ts";

/** The p_any_* fields in the order they are written. */
export const P_ANY_FIELDS = [
  "p_any_ip_addresses",
  "p_any_domain_names",
  "p_any_emails",
  "p_any_usernames",
  "p_any_actor_ids",
  "p_any_md5_hashes",
  "p_any_sha1_hashes",
  "p_any_sha256_hashes",
  "p_any_trace_ids",
  "p_any_aws_arns",
  "p_any_aws_account_ids",
  "p_any_aws_instance_ids",
  "p_any_aws_tags",
] as const;

export type PAnyField = (typeof P_ANY_FIELDS)[number];

/** Collects indicator values for one record. */
export class IndicatorSink {
  private readonly values = new Map<PAnyField, Set<string>>();

  add(field: PAnyField, value: string): void {
    if (value === "") return;
    let set = this.values.get(field);
    if (set === undefined) {
      set = new Set();
      this.values.set(field, set);
    }
    set.add(value);
  }

  /** Writes the non-empty p_any_* fields, each sorted, onto the record. */
  writeTo(record: Record<string, unknown>): void {
    if (this.values.size === 0) return;
    for (const field of P_ANY_FIELDS) {
      const set = this.values.get(field);
      if (set !== undefined && set.size > 0) record[field] = [...set].sort(compareStrings);
    }
  }
}

/** Byte-wise order like Go's sort.Strings (code-point order, not UTF-16 unit order). */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

export type Scanner = (value: string, sink: IndicatorSink) => void;

function scanDomain(value: string, sink: IndicatorSink): void {
  // Punycode labels are stored decoded, as Panther does.
  if (value.includes("xn--")) {
    const decoded = domainToUnicode(value);
    sink.add("p_any_domain_names", decoded === "" ? value : decoded);
    return;
  }
  sink.add("p_any_domain_names", value);
}

function scanHostname(value: string, sink: IndicatorSink): void {
  if (value === "") return;
  if (ipVersionOf(value) !== 0) sink.add("p_any_ip_addresses", value);
  else scanDomain(value, sink);
}

/** Go's net.SplitHostPort: "host:port" or "[v6]:port". */
function splitHostPort(value: string): string | undefined {
  if (value.startsWith("[")) {
    const end = value.indexOf("]");
    if (end < 0 || value[end + 1] !== ":") return undefined;
    return value.slice(1, end);
  }
  const colon = value.lastIndexOf(":");
  if (colon < 0 || value.indexOf(":") !== colon) return undefined;
  return value.slice(0, colon);
}

function scanNetAddr(value: string, sink: IndicatorSink): void {
  scanHostname(splitHostPort(value) ?? value, sink);
}

function scanUrl(value: string, sink: IndicatorSink): void {
  let host: string;
  try {
    host = new URL(value).hostname;
  } catch {
    return;
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  scanHostname(host, sink);
}

const HEX = /^[0-9a-fA-F]+$/;

function hashScanner(field: PAnyField, length: number): Scanner {
  return (value, sink) => {
    if (value.length === length && HEX.test(value)) sink.add(field, value.toLowerCase());
  };
}

const ACCOUNT_ID = /^\d{12}$/;
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const ARN = /^arn:[^:]+:[^:]*:[^:]*:[^:]*:.+$/;

/** An ARN fills the ARN list plus the account id, an EC2 instance id, and an assumed-role email. */
function scanArn(value: string, sink: IndicatorSink, arnOnly: boolean): void {
  if (!ARN.test(value)) return;
  sink.add("p_any_aws_arns", value);
  if (arnOnly) return;
  const parts = value.split(":");
  const account = parts[4] ?? "";
  if (ACCOUNT_ID.test(account)) sink.add("p_any_aws_account_ids", account);
  const resource = parts.slice(5).join(":");
  const instance = /(?:^|\/)(i-[0-9a-f]+)$/.exec(resource)?.[1];
  if (instance !== undefined && INSTANCE_ID.test(instance)) sink.add("p_any_aws_instance_ids", instance);
  if (parts[2] === "sts" && resource.startsWith("assumed-role/")) {
    const session = resource.split("/")[2] ?? "";
    if (session.includes("@")) sink.add("p_any_emails", session);
  }
}

const SCANNERS: Readonly<Record<string, Scanner>> = {
  ip: (v, s) => {
    if (ipVersionOf(v) !== 0) s.add("p_any_ip_addresses", v);
  },
  domain: scanDomain,
  hostname: scanHostname,
  url: scanUrl,
  net_addr: scanNetAddr,
  email: (v, s) => {
    if (v.includes("@")) s.add("p_any_emails", v);
  },
  username: (v, s) => s.add("p_any_usernames", v),
  // Panther's modern p_any_actor_ids; the indicator's name in Panther schemas is not published.
  actor_id: (v, s) => s.add("p_any_actor_ids", v),
  md5: hashScanner("p_any_md5_hashes", 32),
  sha1: hashScanner("p_any_sha1_hashes", 40),
  sha256: hashScanner("p_any_sha256_hashes", 64),
  trace_id: (v, s) => s.add("p_any_trace_ids", v),
  aws_arn: (v, s) => scanArn(v, s, false),
  aws_arn_only: (v, s) => scanArn(v, s, true),
  aws_account_id: (v, s) => {
    if (ACCOUNT_ID.test(v)) s.add("p_any_aws_account_ids", v);
  },
  aws_instance_id: (v, s) => {
    if (INSTANCE_ID.test(v)) s.add("p_any_aws_instance_ids", v);
  },
  aws_tag: (v, s) => s.add("p_any_aws_tags", v),
};

export const INDICATOR_KINDS = Object.keys(SCANNERS);

export function isIndicatorKind(kind: string): boolean {
  return Object.hasOwn(SCANNERS, kind);
}

/** One scanner for a field's indicator list; values are trimmed once before scanning. */
export function compileScanner(kinds: readonly string[]): Scanner {
  const scanners = kinds.map((k) => SCANNERS[k]).filter((s): s is Scanner => s !== undefined);
  if (scanners.length === 1) {
    const only = scanners[0]!;
    return (value, sink) => {
      const trimmed = value.trim();
      if (trimmed !== "") only(trimmed, sink);
    };
  }
  return (value, sink) => {
    const trimmed = value.trim();
    if (trimmed === "") return;
    for (const scan of scanners) scan(trimmed, sink);
  };
}
