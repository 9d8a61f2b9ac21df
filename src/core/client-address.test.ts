import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientAddress, parseTrustedProxies, throttleClientKey } from "./client-address.ts";

describe("client address behind trusted proxies", () => {
  const trusted = parseTrustedProxies(" 10.0.0.0/8, 192.0.2.1 ,fd00::/8");

  it("parses addresses and CIDR ranges of both families, and nothing as none", () => {
    assert.equal(parseTrustedProxies(""), null);
    assert.equal(parseTrustedProxies(" , "), null);
    assert.ok(trusted);
    assert.equal(trusted.check("10.200.0.1", "ipv4"), true);
    assert.equal(trusted.check("192.0.2.1", "ipv4"), true);
    assert.equal(trusted.check("192.0.2.2", "ipv4"), false);
    assert.equal(trusted.check("fd00::1", "ipv6"), true);
    // A socket of a dual-stack server names IPv4 peers as IPv6-mapped addresses.
    assert.equal(trusted.check("::ffff:10.1.2.3", "ipv6"), true);
  });

  it("names the entry it cannot read", () => {
    // An empty prefix is no prefix of 0 (which would trust every address).
    for (const bad of [
      "proxy.internal",
      "10.0.0.0/33",
      "10.0.0.0/8/1",
      "10.0.0/8",
      "fd00::/129",
      "10.0.0.1/x",
      "10.0.0.5/",
      "fd00::1/",
    ]) {
      assert.throws(
        () => parseTrustedProxies(`192.0.2.1, ${bad}`),
        new RegExp(`^Error: "${bad.replaceAll(".", "\\.")}" is not an IP address or a CIDR range`),
        bad,
      );
    }
  });

  it("believes X-Forwarded-For only from a trusted proxy, and only the entries its proxies wrote", () => {
    // No list, no header, or a socket that is no proxy: the socket's address.
    assert.equal(clientAddress("10.0.0.5", "203.0.113.9", null), "10.0.0.5");
    assert.equal(clientAddress("10.0.0.5", undefined, trusted), "10.0.0.5");
    assert.equal(clientAddress("198.51.100.5", "203.0.113.9", trusted), "198.51.100.5");
    // Through one proxy, and through two (the nearest appended the farther one's address).
    assert.equal(clientAddress("10.0.0.5", "203.0.113.9", trusted), "203.0.113.9");
    assert.equal(clientAddress("::ffff:10.0.0.5", "203.0.113.9", trusted), "203.0.113.9");
    assert.equal(clientAddress("10.0.0.5", "203.0.113.9, 10.9.9.9", trusted), "203.0.113.9");
    // What the client wrote itself, left of what the proxy appended, is never believed.
    assert.equal(clientAddress("10.0.0.5", "192.0.2.77, 203.0.113.9", trusted), "203.0.113.9");
    assert.equal(clientAddress("10.0.0.5", "not-an-address, 2001:db8::1", trusted), "2001:db8::1");
    // Every entry a trusted proxy: the farthest. An empty header: the socket's.
    assert.equal(clientAddress("10.0.0.5", "10.1.1.1, 10.2.2.2", trusted), "10.1.1.1");
    assert.equal(clientAddress("10.0.0.5", " , ", trusted), "10.0.0.5");
    // A proxy that passed on the client's own words: counted by them, not by the address everybody shares.
    assert.equal(clientAddress("10.0.0.5", "anything", trusted), "anything");
    // Entries with the client's port: the address alone.
    assert.equal(clientAddress("10.0.0.5", "203.0.113.9:51234", trusted), "203.0.113.9");
    assert.equal(clientAddress("10.0.0.5", "[2001:db8::1]:51234, 10.0.0.6:80", trusted), "2001:db8::1");
    assert.equal(clientAddress("10.0.0.5", "[2001:db8::2]", trusted), "2001:db8::2");
  });
});

describe("throttleClientKey", () => {
  it("counts an IPv6 client by its /64 and an IPv4-mapped one by its IPv4 address", () => {
    assert.equal(throttleClientKey("2001:db8:1:2::5"), throttleClientKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
    assert.notEqual(throttleClientKey("2001:db8:1:2::5"), throttleClientKey("2001:db8:1:3::5"));
    assert.equal(throttleClientKey("::ffff:203.0.113.9"), "203.0.113.9");
    assert.equal(throttleClientKey("203.0.113.9"), "203.0.113.9");
    assert.equal(throttleClientKey("unknown"), "unknown");
    // NAT64: each IPv4 client apart, not all of them in 64:ff9b::/64; Teredo: the whole address.
    assert.equal(throttleClientKey("64:ff9b::203.0.113.9"), "203.0.113.9");
    assert.notEqual(
      throttleClientKey("2001:0:4136:e378:8000:63bf:3fff:fdd2"),
      throttleClientKey("2001:0:4136:e378::1"),
    );
    assert.equal(throttleClientKey("fe80::1%eth0"), "fe80::/64");
  });
});
