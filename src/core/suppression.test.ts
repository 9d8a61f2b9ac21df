import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalIp, type MatchFields, suppressionMatches } from "./suppression.ts";

const fields = (over: Partial<MatchFields>): MatchFields => ({
  actorEmail: null,
  actorId: null,
  ip: null,
  projectId: null,
  dedup: "d",
  ...over,
});

describe("suppressionMatches", () => {
  it("takes an IPv6 address in any spelling, and an email in any case", () => {
    assert.equal(suppressionMatches({ ip: "2001:DB8:0:0::1" }, fields({ ip: "2001:db8::1" })), true);
    assert.equal(suppressionMatches({ ip: "2001:db8::1" }, fields({ ip: "2001:0db8::0001" })), true);
    assert.equal(suppressionMatches({ ip: "2001:db8::1" }, fields({ ip: "2001:db8::2" })), false);
    assert.equal(suppressionMatches({ actorEmail: "Alice@Acme.com" }, fields({ actorEmail: "alice@acme.com" })), true);
  });

  it("never matches a field the event lacks, and needs every pinned field", () => {
    assert.equal(suppressionMatches({ ip: "10.0.0.1" }, fields({})), false);
    assert.equal(suppressionMatches({ ip: "10.0.0.1", projectId: "p" }, fields({ ip: "10.0.0.1" })), false);
    assert.equal(
      suppressionMatches({ ip: "10.0.0.1", projectId: "p" }, fields({ ip: "10.0.0.1", projectId: "p" })),
      true,
    );
  });
});

describe("canonicalIp", () => {
  it("writes IPv6 one way and leaves IPv4 and zoned addresses as they are", () => {
    assert.equal(canonicalIp("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
    assert.equal(canonicalIp("1.2.3.4"), "1.2.3.4");
    assert.equal(canonicalIp("fe80::1%eth0"), "fe80::1%eth0");
  });
});
