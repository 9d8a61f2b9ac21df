// A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start on a free loopback port with its
// socket in that dir, create one database, and throw it all away on stop(). Nothing outside the temp dir is
// touched, so tests never depend on (or disturb) a PostgreSQL the machine may already run.
//
// initdb and postgres refuse to run as root; as root the binaries run as the unprivileged `postgres` user
// (created by the PostgreSQL packages), which then owns the temp dir.

import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

export interface PgCluster {
  connectionString: string;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  "install them with `apt-get install -y postgresql` (Debian/Ubuntu), or put initdb, pg_ctl and postgres on PATH";
const DATABASE = "vigil_test";
const USER = "vigil";

/** The directory holding initdb, pg_ctl and postgres: PATH first, then the newest /usr/lib/postgresql/N/bin. */
export function findPgBinDir(): string {
  const hasAll = (dir: string) => ["initdb", "pg_ctl", "postgres"].every((b) => existsSync(join(dir, b)));
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && hasAll(dir)) return dir;
  }
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(root, version, "bin");
      if (hasAll(dir)) return dir;
    }
  }
  throw new Error(
    `The PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH or in /usr/lib/postgresql/*/bin; ${INSTALL_HINT}.`,
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** As root, the uid/gid of the `postgres` user to run the binaries as; otherwise null (run as ourselves). */
async function unprivilegedUser(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
    const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
    return { uid, gid };
  } catch {
    throw new Error(
      `Running as root, but there is no "postgres" user to run the PostgreSQL binaries as (initdb refuses root); ${INSTALL_HINT}, which creates that user.`,
    );
  }
}

/** The settings that keep a test cluster from flushing anything to disk. */
const NOT_DURABLE = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off";

/**
 * `durable`: PostgreSQL's own settings, every commit flushed to disk, as a deployment runs it (the ingest bench's
 * baseline, like SQLite's synchronous=FULL). Otherwise nothing is flushed: the tests' speed, and nothing to lose.
 */
export async function startPgCluster(options: { durable?: boolean } = {}): Promise<PgCluster> {
  const binDir = findPgBinDir();
  const user = await unprivilegedUser();
  // Short path: the Unix socket lives here too, and socket paths are limited to ~107 bytes.
  const dir = await mkdtemp(join(tmpdir(), "vigil-pg-"));
  const dataDir = join(dir, "data");
  const logFile = join(dir, "postgres.log");
  if (user !== null) await chown(dir, user.uid, user.gid);

  // execFile with the uid/gid options drops privileges without a shell, so paths need no quoting.
  const exec = (binary: string, args: string[]) =>
    run(join(binDir, binary), args, {
      ...(user === null ? {} : { uid: user.uid, gid: user.gid }),
      cwd: dir,
      env: { ...process.env, LC_ALL: "C", LANG: "C" },
      timeout: 120_000,
    });

  let started = false;
  const stop = async () => {
    if (started) {
      started = false;
      await exec("pg_ctl", ["stop", "-D", dataDir, "-m", "immediate", "-w"]).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await exec("initdb", ["-D", dataDir, "-A", "trust", "-U", USER, "-E", "UTF8", "--no-sync"]);
    let port = 0;
    // Another process may grab the port between freePort() and the server's bind: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await exec("pg_ctl", [
          "start",
          "-D",
          dataDir,
          "-l",
          logFile,
          "-w",
          "-t",
          "60",
          "-o",
          `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1${options.durable ? "" : ` ${NOT_DURABLE}`}`,
        ]);
        started = true;
        break;
      } catch (err) {
        if (attempt >= 3) {
          const log = await readFile(logFile, "utf8").catch(() => "");
          throw new Error(`pg_ctl could not start the test cluster: ${String(err)}\n${log}`);
        }
      }
    }

    const admin = new pg.Client({ host: "127.0.0.1", port, user: USER, database: "postgres" });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
    return { connectionString: `postgresql://${USER}@127.0.0.1:${port}/${DATABASE}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
