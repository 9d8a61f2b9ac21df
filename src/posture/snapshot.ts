// Takes one inventory snapshot: reads every list endpoint fully (and every settings object) and returns the objects plus, per endpoint, whether
// it was read completely. A failing endpoint (a missing scope, retries used up) is recorded and skipped; the others
// still snapshot. An endpoint that was not read completely must not be diffed (its absent objects are unknown, not
// removed): `complete` says which kinds the diff may trust.

import { errorMessage, VigilError } from "../core/errors.ts";
import { type AdminListClient, ScopeMissingError } from "./admin-client.ts";
import { canonicalJson, objectHash } from "./canonical.ts";
import { objectIdOf, POSTURE_ENDPOINTS, type PostureEndpoint, type PostureKind } from "./endpoints.ts";

export interface PostureObject {
  kind: PostureKind;
  id: string;
  projectId: string | null;
  hash: string;
  /** Canonical JSON of the object as the API returned it. */
  json: string;
}

export interface EndpointStatus {
  kind: PostureKind;
  path: string;
  ok: boolean;
  objects: number;
  /** Why the endpoint was not read completely (names the scope when it is a 403). */
  error: string | null;
  errorCode: string | null;
  /** The scope that was missing, when that is the reason. */
  missingScope: string | null;
}

export interface TakenSnapshot {
  /** When the reading began. */
  takenAtMs: number;
  /** When it ended: a large organization takes minutes, and a change made meanwhile may or may not be in it. */
  finishedAtMs: number;
  objects: PostureObject[];
  endpoints: EndpointStatus[];
  requests: number;
}

export interface SnapshotOptions {
  client: AdminListClient;
  nowMs: () => number;
  /** Per-project endpoints run this many projects at a time. Default 4. */
  concurrency?: number;
  signal?: AbortSignal;
  endpoints?: readonly PostureEndpoint[];
}

export async function takeSnapshot(options: SnapshotOptions): Promise<TakenSnapshot> {
  const { client, signal } = options;
  const endpoints = options.endpoints ?? POSTURE_ENDPOINTS;
  const requestsBefore = client.requests;
  const takenAtMs = options.nowMs();
  const objects: PostureObject[] = [];
  const statuses: EndpointStatus[] = [];

  const add = (kind: PostureKind, list: Record<string, unknown>[], projectId: string | null) => {
    for (const object of list) {
      const json = canonicalJson(storedForm(object));
      objects.push({ kind, id: objectIdOf(kind, object, projectId), projectId, hash: objectHash(json), json });
    }
  };

  // A list endpoint's every object, or a settings endpoint's one object (none when it is not configured).
  const read = async (endpoint: PostureEndpoint, path: string): Promise<Record<string, unknown>[]> => {
    if (endpoint.shape !== "object") return client.listAll(path, endpoint.scope, endpoint.params, signal);
    const one = await client.getOne(path, endpoint.scope, signal);
    return one === null ? [] : [one];
  };

  let projects: Record<string, unknown>[] | null = null;
  let projectsError = "the project endpoint is not configured";
  for (const endpoint of endpoints.filter((e) => !e.perProject)) {
    try {
      const list = await read(endpoint, endpoint.path);
      add(endpoint.kind, list, null);
      if (endpoint.kind === "project") projects = list;
      statuses.push(okStatus(endpoint, list.length));
    } catch (err) {
      if (signal?.aborted) throw err;
      statuses.push(failedStatus(endpoint, err));
      if (endpoint.kind === "project") projectsError = errorMessage(err);
    }
  }

  // Archived projects keep no keys or members worth reading, and reading them would cost requests for nothing.
  const active = (projects ?? []).filter((p) => p.status !== "archived" && typeof p.id === "string");
  for (const endpoint of endpoints.filter((e) => e.perProject)) {
    if (projects === null) {
      const reason = `skipped: the project list could not be read (${projectsError})`;
      statuses.push(failedStatus(endpoint, new VigilError("posture_needs_projects", reason)));
      continue;
    }
    let count = 0;
    let failure: unknown = null;
    await forEachLimited(active, options.concurrency ?? 4, async (project) => {
      if (failure !== null) return;
      const projectId = project.id as string;
      const path = endpoint.path.replace("{project_id}", encodeURIComponent(projectId));
      try {
        const list = await read(endpoint, path);
        add(endpoint.kind, list, projectId);
        count += list.length;
      } catch (err) {
        if (signal?.aborted) throw err;
        failure ??= err;
      }
    });
    statuses.push(failure === null ? okStatus(endpoint, count) : failedStatus(endpoint, failure));
  }
  return {
    takenAtMs,
    finishedAtMs: options.nowMs(),
    objects,
    endpoints: statuses,
    requests: client.requests - requestsBefore,
  };
}

/**
 * What is stored of an object: as the API returned it, except `last_used_at` cut to the start of its UTC day.
 * Posture judges use in days, and the exact second would make every active key a new object on every snapshot
 * (2,000 keys hourly: 2,000 rows an hour); cut to the day, an active key is stored again at most once a day.
 */
export function storedForm(object: Record<string, unknown>): Record<string, unknown> {
  const used = object.last_used_at;
  if (typeof used !== "number" || !Number.isFinite(used)) return object;
  return { ...object, last_used_at: Math.floor(used / 86_400) * 86_400 };
}

function okStatus(endpoint: PostureEndpoint, objects: number): EndpointStatus {
  return {
    kind: endpoint.kind,
    path: endpoint.path,
    ok: true,
    objects,
    error: null,
    errorCode: null,
    missingScope: null,
  };
}

function failedStatus(endpoint: PostureEndpoint, err: unknown): EndpointStatus {
  return {
    kind: endpoint.kind,
    path: endpoint.path,
    ok: false,
    objects: 0,
    error: errorMessage(err),
    errorCode: err instanceof VigilError ? err.code : null,
    missingScope: err instanceof ScopeMissingError ? err.scope : null,
  };
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}
