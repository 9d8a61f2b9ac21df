import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OpenAIRequestError } from "../sources/openai/errors.ts";
import type { AdminListClient } from "./admin-client.ts";
import { POSTURE_ENDPOINTS } from "./endpoints.ts";
import { takeSnapshot } from "./snapshot.ts";

const ENDPOINTS = POSTURE_ENDPOINTS.filter((e) => e.kind === "project" || e.kind === "project_api_key");
const notFound = () => new OpenAIRequestError("http", "404 Not Found", { retryable: false, status: 404 });

/** A fake Admin API of `n` active projects (proj_0…), whose project keys answer as `keys` says. */
function fakeClient(n: number, keys: (projectId: string) => Record<string, unknown>[]) {
  const projects = Array.from({ length: n }, (_, i) => ({ id: `proj_${i}`, status: "active" }));
  const client = {
    requests: 0,
    async listAll(path: string) {
      client.requests++;
      if (path === "/organization/projects") return projects;
      return keys(/projects\/(proj_\d+)\//.exec(path)?.[1] ?? "");
    },
    async getOne() {
      client.requests++;
      return null;
    },
  };
  return { client, projects };
}

const snapshot = (client: unknown) =>
  takeSnapshot({ client: client as AdminListClient, nowMs: () => 0, endpoints: ENDPOINTS });

describe("takeSnapshot, per project", () => {
  it("reads every other project after one archived mid-way, and leaves the archived one out", async () => {
    const { client, projects } = fakeClient(10, (id) => {
      if (id !== "proj_0") return [{ id: `key_${id}` }];
      (projects[0] as { status: string }).status = "archived";
      throw notFound();
    });
    const taken = await snapshot(client);
    assert.deepEqual(
      taken.objects.filter((o) => o.kind === "project_api_key").map((o) => o.id),
      Array.from({ length: 9 }, (_, i) => `key_proj_${i + 1}`),
    );
    assert.ok(taken.endpoints.every((e) => e.ok));
  });

  it("takes 404s from most projects as an endpoint missing: the kind fails, without reading them all", async () => {
    const { client } = fakeClient(50, () => {
      throw notFound();
    });
    const taken = await snapshot(client);
    assert.equal(taken.endpoints.find((e) => e.kind === "project_api_key")?.ok, false);
    // The project list twice, and a few projects (4 at a time) past the 404s archiving could explain.
    assert.ok(client.requests < 12, String(client.requests));
  });
});
