// Helpers for the destinations' tests: local HTTP servers on 127.0.0.1 and a realistic notification.

import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { sampleNotification } from "./sample.ts";
import type { AlertNotification } from "./types.ts";

export interface CapturedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestServer {
  /** http://127.0.0.1:<port> */
  origin: string;
  requests: CapturedRequest[];
  close(): Promise<void>;
}

export async function startHttpServer(
  handler: (req: CapturedRequest, res: ServerResponse) => void,
): Promise<TestServer> {
  const requests: CapturedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const captured: CapturedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(captured);
      handler(captured, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * An origin on 127.0.0.1 where nothing listens (connection refused): port 4, below the range `listen(0)` draws
 * from, and not one of the ports fetch refuses outright. A port freed by closing a test server was not safe:
 * another test process could be given it the next moment, and then received this origin's requests.
 */
export async function refusedOrigin(): Promise<string> {
  return "http://127.0.0.1:4";
}

export function reply(res: ServerResponse, status: number, body = "", headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end(body);
}

/** A created alert whose attacker-controlled fields try HTML and mrkdwn injection. */
export function hostileNotification(overrides: Partial<AlertNotification> = {}): AlertNotification {
  return {
    ...sampleNotification({ nowMs: Date.UTC(2026, 0, 2, 3, 4, 5), consoleUrl: "https://vigil.example.com/alerts/a1" }),
    kind: "created",
    alertId: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    ruleId: "OpenAI.Admin.Key.Created",
    ruleName: "OpenAI admin key created",
    title: '<script>alert("x")</script> admin key created by <https://evil.example|click>',
    severity: "HIGH",
    sourceId: "src-openai",
    sourceName: "OpenAI production",
    matchCount: 3,
    alertContext: { ip: "203.0.113.9", note: "<b>bold</b> & ```break```" },
    description: "An admin key was created <img src=x onerror=alert(1)>",
    runbook: "Revoke the key & check the actor.",
    tags: ["OpenAI", "Persistence"],
    reports: { "MITRE ATT&CK": ["TA0003:T1098"] },
    actor: { type: "user", id: "user-abc", email: "mallory@example.com", ip: "203.0.113.9" },
    ...overrides,
  };
}
