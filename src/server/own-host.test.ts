import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isOwnHost, loginHost } from "./own-host.ts";

describe("isOwnHost", () => {
  const publicUrl = "https://vigil.example.com/";

  it("takes the public URL's host, with any port and case, and a trailing dot", () => {
    for (const host of ["vigil.example.com", "vigil.example.com:443", "VIGIL.Example.com:8080", "vigil.example.com."])
      assert.equal(isOwnHost(host, publicUrl), true, host);
  });

  it("takes addresses written out and localhost: there is no name to rebind", () => {
    for (const host of ["127.0.0.1:8080", "10.1.2.3", "[::1]:8080", "[fd00::5]", "localhost:8080"])
      assert.equal(isOwnHost(host, publicUrl), true, host);
  });

  it("refuses any other name, its subdomains and look-alikes, and a host that is not one", () => {
    for (const host of [
      "attacker.example",
      "vigil.example.com.attacker.example",
      "sub.vigil.example.com",
      "x.localhost",
      "vigil.example.co",
      "a b",
    ])
      assert.equal(isOwnHost(host, publicUrl), false, host);
  });

  it("takes a request without a Host header (no browser sends one)", () => {
    assert.equal(isOwnHost(undefined, publicUrl), true);
    assert.equal(isOwnHost("", publicUrl), true);
  });
});

describe("loginHost", () => {
  it("reads the last X-Forwarded-Host from a trusted proxy, else Host", () => {
    assert.equal(loginHost("127.0.0.1:8081", "forged.example, vigil.example.com", true), "vigil.example.com");
    assert.equal(loginHost("127.0.0.1:8081", undefined, true), "127.0.0.1:8081");
    assert.equal(loginHost("127.0.0.1:8081", " ", true), "127.0.0.1:8081");
    assert.equal(loginHost("localhost", "attacker.example", false), "localhost");
  });
});
