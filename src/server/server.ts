// Listens with @hono/node-server: the API and console of `vigil start`.

import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { ConfigurationError } from "../core/errors.ts";
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
    s.once("error", (err) => reject(listenError(err, host, port)));
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

/** A failure to listen, saying what to change: the address is taken, or not this machine's. */
function listenError(err: Error & { code?: string }, host: string, port: number): Error {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (err.code === "EADDRINUSE") {
    return new ConfigurationError(
      "port_in_use",
      `Another program already listens on ${where}; stop it, or choose another port with VIGIL_PORT (e.g. VIGIL_PORT=8081).`,
      { cause: err },
    );
  }
  if (err.code === "EADDRNOTAVAIL" || err.code === "EACCES") {
    return new ConfigurationError(
      "cannot_listen",
      `Vigil cannot listen on ${where} (${err.code}): set VIGIL_HOST to an address of this machine (127.0.0.1, or 0.0.0.0 for all) and VIGIL_PORT to a port above 1023.`,
      { cause: err },
    );
  }
  return err;
}
