import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { readEnv } from "../config/env.ts";
import { VigilError } from "../core/errors.ts";
import { createLogger } from "../logging/logger.ts";
import { openRuntime } from "../pipeline/runtime.ts";
import { startServer } from "./server.ts";

it("says which setting to change when its port is taken", async () => {
  const scratch = mkdtempSync(join(tmpdir(), "vigil-server-"));
  const runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: scratch }), createLogger({ level: "silent" }));
  const first = await startServer(runtime, { host: "127.0.0.1", port: 0, consoleDir: null });
  try {
    const port = Number(new URL(first.url).port);
    await assert.rejects(startServer(runtime, { host: "127.0.0.1", port, consoleDir: null }), (err: unknown) => {
      assert.ok(err instanceof VigilError);
      assert.equal(err.code, "port_in_use");
      assert.equal(
        err.message,
        `Another program already listens on 127.0.0.1:${port}; stop it, or choose another port with VIGIL_PORT (e.g. VIGIL_PORT=8081).`,
      );
      return true;
    });
  } finally {
    await first.close();
    await runtime.close();
    rmSync(scratch, { recursive: true, force: true });
  }
});
