// Calls to the HTTP API through app.request() as a signed-in console user: log in once, then send the session
// cookie and CSRF token with every request, as the console does.

import assert from "node:assert/strict";

/** What app.request() needs of the app. */
interface RequestTarget {
  request(url: string, init?: RequestInit): Response | Promise<Response>;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
export type Json = any;

export interface ApiSession {
  /** The raw response. */
  request(method: string, path: string, body?: unknown): Promise<Response>;
  /** The status and the parsed JSON body (undefined when empty). */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }>;
}

export async function loginAs(app: RequestTarget, username: string, password: string): Promise<ApiSession> {
  const res = await app.request("http://localhost/api/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  assert.equal(res.status, 200, `login as ${username}`);
  const { csrf } = (await res.json()) as { csrf: string };
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const request = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { cookie, "x-vigil-csrf": csrf };
    if (body !== undefined) headers["content-type"] = "application/json";
    return app.request(`http://localhost${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  };
  return {
    request,
    async call(method, path, body) {
      const res = await request(method, path, body);
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
  };
}
