import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { VigilError } from "../core/errors.ts";
import { AdminListClient, missingScopeIn, ScopeMissingError } from "./admin-client.ts";

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

/** A fetch that answers from a script and records every URL asked for. */
function scripted(replies: Reply[]) {
  const urls: string[] = [];
  const fetch = (async (input: string | URL | Request) => {
    urls.push(String(input));
    const reply = replies.shift();
    if (!reply) throw new Error("no more scripted replies");
    return new Response(JSON.stringify(reply.body), { status: reply.status, headers: reply.headers ?? {} });
  }) as typeof globalThis.fetch;
  return { fetch, urls };
}

const page = (ids: string[], hasMore: boolean) => ({
  status: 200,
  body: { object: "list", data: ids.map((id) => ({ id })), first_id: ids[0], last_id: ids.at(-1), has_more: hasMore },
});

function client(fetch: typeof globalThis.fetch, retries: Array<{ reason: string }> = []) {
  return new AdminListClient({
    baseUrl: "https://api.example.test/v1/",
    apiKey: "sk-admin-test",
    pageLimit: 2,
    fetch,
    initialDelayMs: 1,
    maxDelayMs: 2,
    random: () => 0.5,
    onRetry: (info) => retries.push(info),
  });
}

describe("AdminListClient", () => {
  it("pages with limit and after=last_id until has_more is false", async () => {
    const { fetch, urls } = scripted([page(["a", "b"], true), page(["c", "d"], true), page(["e"], false)]);
    const c = client(fetch);
    const objects = await c.listAll("/organization/users", "api.management.read");
    assert.deepEqual(
      objects.map((o) => o.id),
      ["a", "b", "c", "d", "e"],
    );
    assert.deepEqual(urls, [
      "https://api.example.test/v1/organization/users?limit=2",
      "https://api.example.test/v1/organization/users?limit=2&after=b",
      "https://api.example.test/v1/organization/users?limit=2&after=d",
    ]);
    assert.equal(c.requests, 3);
  });

  it("retries a 429 and a 503 in the middle of paging, without losing or repeating a page", async () => {
    const retries: Array<{ reason: string }> = [];
    const { fetch, urls } = scripted([
      page(["a", "b"], true),
      { status: 429, body: { error: { message: "Rate limit reached" } }, headers: { "retry-after-ms": "1" } },
      { status: 503, body: { error: { message: "overloaded" } } },
      page(["c"], false),
    ]);
    const c = client(fetch, retries);
    const objects = await c.listAll("/organization/projects", "api.management.read", { include_archived: "true" });
    assert.deepEqual(
      objects.map((o) => o.id),
      ["a", "b", "c"],
    );
    assert.equal(retries.length, 2);
    assert.match(retries[0]?.reason ?? "", /429/);
    assert.match(retries[1]?.reason ?? "", /503/);
    // The retried request is the same second page.
    assert.equal(urls[1], urls[2]);
    assert.equal(urls[2], urls[3]);
    assert.match(urls[3] ?? "", /include_archived=true&limit=2&after=b$/);
  });

  it("a 403 names the missing scope, OpenAI's own word first", async () => {
    const { fetch } = scripted([
      {
        status: 403,
        body: { error: { message: "You have insufficient permissions. Missing scopes: api.management.read. Check…" } },
      },
      { status: 403, body: { error: { message: "Forbidden" } } },
    ]);
    const c = client(fetch);
    await assert.rejects(c.listAll("/organization/invites", "our.fallback.scope"), (err: unknown) => {
      assert.ok(err instanceof ScopeMissingError);
      assert.equal(err.scope, "api.management.read");
      assert.match(err.message, /\/organization\/invites/);
      assert.match(err.message, /lacks the api\.management\.read scope/);
      return true;
    });
    await assert.rejects(c.listAll("/organization/certificates", "our.fallback.scope"), (err: unknown) => {
      assert.ok(err instanceof ScopeMissingError);
      assert.equal(err.scope, "our.fallback.scope");
      return true;
    });
  });

  it("refuses a cursor that does not move instead of looping or stopping short", async () => {
    const { fetch } = scripted([page(["a", "b"], true), page(["b"], true)]);
    const stuck = scripted([
      page(["a", "b"], true),
      { status: 200, body: { object: "list", data: [], has_more: true } },
    ]);
    await assert.rejects(client(fetch).listAll("/organization/users", "s"), /did not advance/);
    await assert.rejects(client(stuck.fetch).listAll("/organization/users", "s"), /no last_id/);
    // A cursor that comes back (a, b, a, …) would page for ever.
    const cycle = scripted([
      page(["a", "b"], true),
      page(["c", "d"], true),
      page(["a", "b"], true),
      page(["e"], false),
    ]);
    await assert.rejects(client(cycle.fetch).listAll("/organization/users", "s"), /came back to b/);
  });

  it("keeps an object listed on two pages once, as last listed", async () => {
    const { fetch } = scripted([
      page(["a", "b"], true),
      {
        status: 200,
        body: { object: "list", data: [{ id: "b", name: "new" }, { id: "c" }], last_id: "c", has_more: false },
      },
    ]);
    const objects = await client(fetch).listAll("/organization/users", "s");
    assert.deepEqual(objects, [{ id: "a" }, { id: "b", name: "new" }, { id: "c" }]);
  });

  it("gives up after the attempts with the last failure, retryable for the next snapshot", async () => {
    const replies = Array.from({ length: 6 }, () => ({ status: 500, body: { error: { message: "boom" } } }));
    const { fetch } = scripted(replies);
    await assert.rejects(client(fetch).listAll("/organization/users", "s"), (err: unknown) => {
      assert.ok(err instanceof VigilError);
      assert.equal(err.code, "openai_unavailable");
      assert.match(err.message, /6 attempts/);
      return true;
    });
  });

  it("reads the scope out of OpenAI's message", () => {
    assert.equal(missingScopeIn("… Missing scopes: api.management.read. Check that …"), "api.management.read");
    assert.equal(missingScopeIn("Missing scopes: a.b, c.d"), "a.b, c.d");
    assert.equal(missingScopeIn("Forbidden"), null);
    assert.equal(missingScopeIn(null), null);
  });

  it("getOne reads a settings object, retrying a 503 and a malformed answer; 404 is not configured (null)", async () => {
    const retries: Array<{ reason: string }> = [];
    const { fetch, urls } = scripted([
      { status: 503, body: { error: { message: "overloaded" } } },
      { status: 200, body: ["not", "an", "object"] },
      { status: 200, body: { object: "project.data_retention", type: "zero_data_retention" } },
      { status: 404, body: { error: { message: "No model permissions configured", type: "invalid_request_error" } } },
    ]);
    const c = client(fetch, retries);
    assert.deepEqual(await c.getOne("/organization/projects/proj_1/data_retention", "api.management.read"), {
      object: "project.data_retention",
      type: "zero_data_retention",
    });
    assert.equal(retries.length, 2);
    assert.equal(await c.getOne("/organization/projects/proj_1/model_permissions", "api.management.read"), null);
    // No paging parameters on a settings endpoint.
    assert.equal(urls[3], "https://api.example.test/v1/organization/projects/proj_1/model_permissions");
    assert.equal(c.requests, 4);
  });

  it("getOne: a 403 names the scope like a list does, a 400 is an error, not 'not configured'", async () => {
    const { fetch } = scripted([
      { status: 403, body: { error: { message: "Missing scopes: api.management.read." } } },
      { status: 400, body: { error: { message: "bad project id" } } },
    ]);
    const c = client(fetch);
    await assert.rejects(c.getOne("/organization/data_retention", "api.management.read"), (err: unknown) => {
      assert.ok(err instanceof ScopeMissingError);
      assert.equal(err.scope, "api.management.read");
      return true;
    });
    await assert.rejects(c.getOne("/organization/projects/x/data_retention", "api.management.read"), /bad project id/);
  });
});
