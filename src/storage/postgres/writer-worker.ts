// PostgreSQL's writer thread (../store/writer-thread.ts says why): a pool of its own running the store's page
// transactions, several at once as the pages come (a backfill's slices, the pollers of several sources).

import { workerData } from "node:worker_threads";
import type { StoreContext } from "../store/dialect.ts";
import { RuleStateCache } from "../store/rule-state-cache.ts";
import { SourceNumbers } from "../store/source-numbers.ts";
import { serveWriter, threadClock } from "../store/writer-thread.ts";
import { PostgresStoreDialect } from "./dialect.ts";
import { describeTarget } from "./pg-errors.ts";
import { openPool } from "./pool.ts";
import type { PostgresWriterData } from "./postgres-store.ts";

const { connectionString, schema, maxConnections, alertLimitPerHour } = workerData as PostgresWriterData;
const ctx: StoreContext = {
  dialect: new PostgresStoreDialect(
    openPool({ connectionString, schema, max: maxConnections }),
    schema,
    describeTarget(connectionString),
  ),
  clock: threadClock,
  alertLimitPerHour,
  sourceNumbers: new SourceNumbers(),
  // Unused here: the store keeps the state between pages, from the writes this thread reports.
  ruleStateCache: new RuleStateCache(),
};
serveWriter(ctx, null);
