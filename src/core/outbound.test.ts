import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  endpointOf,
  hostAllowed,
  hostProblem,
  isHostName,
  isLoopbackHost,
  OPEN_POLICY,
  outboundUrlProblem,
} from "./outbound.ts";

describe("outbound policy", () => {
  it("names an endpoint by scheme, host, port and path, without query, fragment or credentials", () => {
    assert.equal(endpointOf("https://api.openai.com/v1/"), "https://api.openai.com/v1");
    assert.equal(endpointOf("https://API.openai.com:443/v1?x=1#f"), "https://api.openai.com/v1");
    assert.equal(endpointOf("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    assert.notEqual(endpointOf("https://api.openai.com/v1"), endpointOf("https://api.openai.com.evil.test/v1"));
  });

  it("allows https anywhere, http to loopback only, nothing else", () => {
    assert.equal(outboundUrlProblem("https://api.openai.com/v1", OPEN_POLICY), null);
    assert.equal(outboundUrlProblem("http://127.0.0.1:9/v1", OPEN_POLICY), null);
    assert.equal(outboundUrlProblem("http://[::1]:9/v1", OPEN_POLICY), null);
    assert.equal(outboundUrlProblem("http://localhost:9/v1", OPEN_POLICY), null);
    assert.match(outboundUrlProblem("http://10.0.0.5/v1", OPEN_POLICY) ?? "", /VIGIL_ALLOW_PLAIN_HTTP/);
    assert.equal(outboundUrlProblem("http://10.0.0.5/v1", { ...OPEN_POLICY, allowPlainHttp: true }), null);
    assert.match(outboundUrlProblem("file:///etc/passwd", OPEN_POLICY) ?? "", /file: URLs are not allowed/);
    assert.match(outboundUrlProblem("gopher://x", OPEN_POLICY) ?? "", /not allowed/);
    assert.match(outboundUrlProblem("not a url", OPEN_POLICY) ?? "", /not a URL/);
    assert.match(outboundUrlProblem("https://u:p@example.com", OPEN_POLICY) ?? "", /user name or password/);
    // Lookalikes of loopback are not loopback.
    assert.equal(isLoopbackHost("127.0.0.1.evil.test"), false);
    assert.equal(isLoopbackHost("localhost.evil.test"), false);
    // A resolver may send *.localhost anywhere: only the names that cannot leave the machine count.
    assert.equal(isLoopbackHost("x.localhost"), false);
  });

  it("with an allow-list, only listed hosts and subdomains of *.entries", () => {
    const policy = { allowedHosts: ["api.openai.com", "*.example.com"], allowPlainHttp: false };
    assert.equal(hostAllowed("api.openai.com", policy), true);
    assert.equal(hostAllowed("API.OpenAI.com", policy), true);
    assert.equal(hostAllowed("hooks.example.com", policy), true);
    assert.equal(hostAllowed("a.b.example.com", policy), true);
    assert.equal(hostAllowed("example.com", policy), false);
    assert.equal(hostAllowed("evilexample.com", policy), false);
    assert.equal(hostAllowed("api.openai.com.evil.test", policy), false);
    assert.match(outboundUrlProblem("https://evil.test/", policy) ?? "", /evil\.test is not in VIGIL_ALLOWED_HOSTS/);
  });

  it("takes a host only as a name or an address: a NUL or a space cannot smuggle another one past *.entries", () => {
    for (const host of ["smtp.example.com", "mail-1.internal", "relay_2.corp.", "10.0.0.1", "::1", "[2001:db8::1]"]) {
      assert.ok(isHostName(host), host);
    }
    for (const host of ["10.1.2.3\u0000.mail.example.com", "a b.example.com", "evil.com/x.example.com", "", "-a.com"]) {
      assert.equal(isHostName(host), false, JSON.stringify(host));
    }
    const policy = { allowedHosts: ["*.example.com"], allowPlainHttp: false };
    assert.match(hostProblem("10.1.2.3\u0000.mail.example.com", policy) ?? "", /is not a host name or IP address/);
    assert.match(hostProblem("10.1.2.3\u0000.mail.example.com", OPEN_POLICY) ?? "", /is not a host name/);
    assert.equal(hostProblem("smtp.mail.example.com", policy), null);
  });
});
