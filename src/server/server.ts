// Listens with @hono/node-server: the API and console of `vigil start`.

import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Runtime } from "../pipeline/runtime.ts";
import { createApp, type ServerOptions } from "./app.ts";

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(
  runtime: Runtime,
  options: ServerOptions & { host?: string; port?: number } = {},
): Promise<RunningServer> {
  const app = createApp(runtime, options);
  const host = options.host ?? runtime.env.httpHost;
  const port = options.port ?? runtime.env.httpPort;
  const server = await new Promise<ReturnType<typeof serve>>((resolvePromise, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolvePromise(s));
    s.once("error", reject);
  });
  const address = server.address() as AddressInfo;
  const shownHost = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${address.port}/`,
    close: () =>
      new Promise<void>((resolvePromise) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolvePromise());
      }),
  };
}
