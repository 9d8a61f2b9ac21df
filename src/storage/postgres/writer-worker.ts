// PostgreSQL's writer thread (../store/writer-thread.ts says why): a pool of its own running the store's page
// transactions, several at once as the pages come (a backfill's slices, the pollers of several sources).

import { workerData } from "node:worker_threads";
import { serveWriter, threadContext } from "../store/writer-thread.ts";
import { PostgresStoreDialect } from "./dialect.ts";
import { describeTarget } from "./pg-errors.ts";
import { openPool } from "./pool.ts";
import type { PostgresWriterData } from "./postgres-store.ts";

const { connectionString, schema, maxConnections, alertLimitPerHour } = workerData as PostgresWriterData;
const ctx = threadContext(
  new PostgresStoreDialect(
    openPool({ connectionString, schema, max: maxConnections }),
    schema,
    describeTarget(connectionString),
  ),
  alertLimitPerHour,
);
serveWriter(ctx, null);
