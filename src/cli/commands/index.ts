// Every command of the CLI, in the order `vigil --help` lists them.
import type { Command } from "commander";
import { register as alerts } from "./alerts.ts";
import { register as backfill } from "./backfill.ts";
import { register as backup } from "./backup.ts";
import { register as coverage } from "./coverage.ts";
import { register as destinations } from "./destinations.ts";
import { register as detections } from "./detections.ts";
import { register as poll } from "./poll.ts";
import { register as posture } from "./posture.ts";
import { register as schemas } from "./schemas.ts";
import { register as search } from "./search.ts";
import { register as simulate } from "./simulate.ts";
import { register as sources } from "./sources.ts";
import { register as start } from "./start.ts";
import { register as suppressions } from "./suppressions.ts";
import { register as tokens } from "./tokens.ts";
import { register as users } from "./users.ts";
import { register as workers } from "./workers.ts";

export const COMMANDS: Array<(program: Command) => void> = [
  start,
  sources,
  poll,
  posture,
  backfill,
  search,
  alerts,
  destinations,
  detections,
  suppressions,
  coverage,
  schemas,
  simulate,
  users,
  tokens,
  workers,
  backup,
];
