// Takes one inventory snapshot: reads every list endpoint fully (and every settings object) and returns the objects plus, per endpoint, whether
// it was read completely. A failing endpoint (a missing scope, retries used up) is recorded and skipped; the others
// still snapshot. An endpoint that was not read completely must not be diffed (its absent objects are unknown, not
// removed): `complete` says which kinds the diff may trust.

import { errorMessage, VigilError } from "../core/errors.ts";
import { OpenAIRequestError } from "../sources/openai/errors.ts";
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

  const toObjects = (kind: PostureKind, list: Record<string, unknown>[], projectId: string | null) =>
    list.map((object): PostureObject => {
      const json = canonicalJson(storedForm(object));
      return { kind, id: objectIdOf(kind, object, projectId), projectId, hash: objectHash(json), json };
    });

  // A list endpoint's every object, or a settings endpoint's one object (none when it is not configured).
  const read = async (endpoint: PostureEndpoint, path: string): Promise<Record<string, unknown>[]> => {
    if (endpoint.shape !== "object") return client.listAll(path, endpoint.scope, endpoint.params, signal);
    const one = await client.getOne(path, endpoint.scope, signal);
    return one === null ? [] : [one];
  };

  let projects: Record<string, unknown>[] | null = null;
  let projectsError = "the project endpoint is not configured";
  const projectEndpoint = endpoints.find((e) => e.kind === "project");
  for (const endpoint of endpoints.filter((e) => !e.perProject)) {
    try {
      const list = await read(endpoint, endpoint.path);
      objects.push(...toObjects(endpoint.kind, list, null));
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
  /** Per project endpoint: what was read of each project, and the failures (project id, error) in order. */
  const perProject = new Map<
    PostureEndpoint,
    { read: Array<[string, PostureObject[]]>; failures: Array<[string, unknown]> }
  >();
  for (const endpoint of endpoints.filter((e) => e.perProject)) {
    if (projects === null) continue;
    const outcome = { read: [] as Array<[string, PostureObject[]]>, failures: [] as Array<[string, unknown]> };
    perProject.set(endpoint, outcome);
    await forEachLimited(active, options.concurrency ?? 4, async (project) => {
      // A failure fails the kind, and the other projects need not be read; but not a 404 or a few, which the
      // projects' archiving may explain (below): every other project must then still be read. Many 404s are an
      // endpoint this API does not have, not archiving: reading every project for them would cost a request each.
      const notFound = outcome.failures.filter(([, err]) => isNotFound(err)).length;
      if (notFound < outcome.failures.length || notFound > ARCHIVED_MIDWAY_MAX) return;
      const projectId = project.id as string;
      const path = endpoint.path.replace("{project_id}", encodeURIComponent(projectId));
      try {
        outcome.read.push([projectId, toObjects(endpoint.kind, await read(endpoint, path), projectId)]);
      } catch (err) {
        if (signal?.aborted) throw err;
        outcome.failures.push([projectId, err]);
      }
    });
  }
  // A project archived (or deleted) while it was read answers 404 from then on: its lists fail, and its settings
  // read as "not configured" (a retention or model policy that seems removed). The projects are listed once more;
  // one no longer active is left out whole, as if it had been archived before the snapshot began.
  const projectsGone = async (): Promise<Set<string>> => {
    if (perProject.size === 0 || active.length === 0 || projectEndpoint === undefined) return new Set();
    let again: Record<string, unknown>[];
    try {
      again = await read(projectEndpoint, projectEndpoint.path);
    } catch (err) {
      // The first reading stands.
      if (signal?.aborted) throw err;
      return new Set();
    }
    const stillActive = new Set(again.filter((p) => p.status !== "archived").map((p) => p.id));
    const gone = new Set(active.map((p) => p.id as string).filter((id) => !stillActive.has(id)));
    // The snapshot holds those projects as the second reading shows them (archived), or not at all (deleted).
    const now = toObjects(projectEndpoint.kind, again, null).filter((o) => gone.has(o.id));
    const kept = objects.filter((o) => !(o.kind === projectEndpoint.kind && gone.has(o.id)));
    objects.splice(0, objects.length, ...kept, ...now);
    return gone;
  };
  const gone = await projectsGone();
  for (const endpoint of endpoints.filter((e) => e.perProject)) {
    const outcome = perProject.get(endpoint);
    if (outcome === undefined) {
      const reason = `skipped: the project list could not be read (${projectsError})`;
      statuses.push(failedStatus(endpoint, new VigilError("posture_needs_projects", reason)));
      continue;
    }
    const kept = outcome.read.filter(([projectId]) => !gone.has(projectId)).flatMap(([, list]) => list);
    objects.push(...kept);
    // Stopped before every project was read: the kind failed, whichever project's failure stopped it.
    const stopped = outcome.read.length + outcome.failures.length < active.length;
    const failure = stopped ? outcome.failures[0] : outcome.failures.find(([projectId]) => !gone.has(projectId));
    statuses.push(failure === undefined ? okStatus(endpoint, kept.length) : failedStatus(endpoint, failure[1]));
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

/** Beyond this many projects answering 404, an endpoint is taken as missing, not its projects as archived. */
const ARCHIVED_MIDWAY_MAX = 3;

function isNotFound(err: unknown): boolean {
  return err instanceof OpenAIRequestError && err.status === 404;
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
