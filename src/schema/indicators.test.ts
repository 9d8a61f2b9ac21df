// Every indicator kind and the p_any_* field it fills (Panther OSS pantherlog scanners).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileScanner, INDICATOR_KINDS, IndicatorSink } from "./indicators.ts";

function scan(kind: string, ...values: string[]): Record<string, unknown> {
  const sink = new IndicatorSink();
  const scanner = compileScanner([kind]);
  for (const v of values) scanner(v, sink);
  const out: Record<string, unknown> = {};
  sink.writeTo(out);
  return out;
}

describe("indicators", () => {
  it("ip: IPv4 and IPv6 only, trimmed", () => {
    assert.deepStrictEqual(
      scan("ip", " 10.1.2.3 ", "2001:db8::1", "::ffff:1.2.3.4", "1.2.3", "01.2.3.4", "fe80::1%eth0", "[::1]", "x"),
      {
        p_any_ip_addresses: ["10.1.2.3", "2001:db8::1", "::ffff:1.2.3.4"],
      },
    );
  });

  it("domain: the trimmed value, punycode decoded", () => {
    assert.deepStrictEqual(scan("domain", "example.com", "xn--mnchen-3ya.de"), {
      p_any_domain_names: ["example.com", "münchen.de"],
    });
  });

  it("hostname: IPs to ips, the rest to domains", () => {
    assert.deepStrictEqual(scan("hostname", "10.0.0.1", "api.openai.com"), {
      p_any_ip_addresses: ["10.0.0.1"],
      p_any_domain_names: ["api.openai.com"],
    });
  });

  it("url: the host of the URL", () => {
    assert.deepStrictEqual(scan("url", "https://api.openai.com/v1/x?y=1", "http://[2001:db8::2]:8080/", "not a url"), {
      p_any_ip_addresses: ["2001:db8::2"],
      p_any_domain_names: ["api.openai.com"],
    });
  });

  it("net_addr: host:port split, then scanned as a hostname", () => {
    assert.deepStrictEqual(scan("net_addr", "10.0.0.5:443", "[::1]:22", "example.org:80", "example.net"), {
      p_any_ip_addresses: ["10.0.0.5", "::1"],
      p_any_domain_names: ["example.net", "example.org"],
    });
  });

  it("email: any value containing @", () => {
    assert.deepStrictEqual(scan("email", "a@b.c", "weird@", "no-at"), { p_any_emails: ["a@b.c", "weird@"] });
  });

  it("username, trace_id, aws_tag, actor_id: the trimmed value", () => {
    assert.deepStrictEqual(scan("username", " root "), { p_any_usernames: ["root"] });
    assert.deepStrictEqual(scan("trace_id", "abc-123"), { p_any_trace_ids: ["abc-123"] });
    assert.deepStrictEqual(scan("aws_tag", "env:prod"), { p_any_aws_tags: ["env:prod"] });
    assert.deepStrictEqual(scan("actor_id", "user-abc"), { p_any_actor_ids: ["user-abc"] });
  });

  it("md5 / sha1 / sha256: hex of the right length, lower-cased", () => {
    const md5 = "D41D8CD98F00B204E9800998ECF8427E";
    const sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    const sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert.deepStrictEqual(scan("md5", md5, sha1), { p_any_md5_hashes: [md5.toLowerCase()] });
    assert.deepStrictEqual(scan("sha1", sha1, md5), { p_any_sha1_hashes: [sha1] });
    assert.deepStrictEqual(scan("sha256", sha256, `${sha256.slice(0, 63)}g`), { p_any_sha256_hashes: [sha256] });
  });

  it("aws_arn: the ARN, its account, an instance id, and an assumed-role email", () => {
    assert.deepStrictEqual(
      scan(
        "aws_arn",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
        "arn:aws:sts::210987654321:assumed-role/Admin/jane@example.com",
        "not:an:arn",
      ),
      {
        p_any_emails: ["jane@example.com"],
        p_any_aws_arns: [
          "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
          "arn:aws:sts::210987654321:assumed-role/Admin/jane@example.com",
        ],
        p_any_aws_account_ids: ["123456789012", "210987654321"],
        p_any_aws_instance_ids: ["i-0123456789abcdef0"],
      },
    );
  });

  it("aws_arn_only, aws_account_id, aws_instance_id", () => {
    assert.deepStrictEqual(scan("aws_arn_only", "arn:aws:iam::123456789012:user/bob"), {
      p_any_aws_arns: ["arn:aws:iam::123456789012:user/bob"],
    });
    assert.deepStrictEqual(scan("aws_account_id", "123456789012", "12345"), {
      p_any_aws_account_ids: ["123456789012"],
    });
    assert.deepStrictEqual(scan("aws_instance_id", "i-0abc1234", "i-xyz"), { p_any_aws_instance_ids: ["i-0abc1234"] });
  });

  it("de-duplicates, sorts by code point, and skips empty values", () => {
    assert.deepStrictEqual(scan("username", "b", "a", "b", "", "  ", "B", "é", "z"), {
      p_any_usernames: ["B", "a", "b", "z", "é"],
    });
  });

  it("every kind has a test above", () => {
    assert.deepStrictEqual([...INDICATOR_KINDS].sort(), [
      "actor_id",
      "aws_account_id",
      "aws_arn",
      "aws_arn_only",
      "aws_instance_id",
      "aws_tag",
      "domain",
      "email",
      "hostname",
      "ip",
      "md5",
      "net_addr",
      "sha1",
      "sha256",
      "trace_id",
      "url",
      "username",
    ]);
  });
});
