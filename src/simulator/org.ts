// The simulated organization: its directory, its event store, and the generators that fill it (history, live
// activity, bursts, scenarios). Every generator draws from its own named stream of the seed, so each piece is
// reproducible on its own: the same history whatever the live rate, the same live minute whenever it is asked for.

import type { RawAuditLog } from "../core/audit-log.ts";
import { type Clock, systemClock, unixSeconds } from "../core/clock.ts";
import { ActivityGenerator } from "./activity.ts";
import { malformed, withUnknownType } from "./anomalies.ts";
import { buildDirectory, type OrgDirectory } from "./directory.ts";
import { EventStore, fileRecord, type PageResult, type StoredEvent } from "./event-store.ts";
import { type FaultConfig, resolveFaults } from "./faults.ts";
import { applyEvent, baselineState, type InventoryState, type SilentChange, withUsage } from "./inventory.ts";
import { isPostureScenarioName, POSTURE_SCENARIOS, type PostureScenarioName } from "./posture-scenarios.ts";
import { Rng } from "./prng.ts";
import type { ParsedQuery } from "./query.ts";
import { buildScenario, isScenarioName, type ScenarioName } from "./scenarios.ts";
import type { SimulatedOrg, SimulatorOptions, VisibleScope } from "./types.ts";

export const DEFAULT_SEED = 1;
export const DEFAULT_TENANT_SHARE = 0.05;
/** A clock that jumps further than this generates only the last stretch of live activity. */
export const MAX_LIVE_CATCH_UP_MINUTES = 31 * 24 * 60;

type DataFault = "unknownType" | "malformedRecord" | "lateEvent";

export class SimOrg implements SimulatedOrg {
  readonly directory: OrgDirectory;
  readonly dataFaultCounts: Record<DataFault, number> = { unknownType: 0, malformedRecord: 0, lateEvent: 0 };
  private readonly seed: number;
  private readonly clock: Clock;
  private readonly store = new EventStore();
  private readonly activity: ActivityGenerator;
  private faults: FaultConfig;
  private readonly liveRate: number;
  private readonly liveFrom: number;
  /** The last minute (Unix seconds / 60) whose live activity exists. */
  private liveMinute: number;
  private readonly scenarioRuns = new Map<string, number>();
  private addedWithoutId = 0;
  private readonly silent: SilentChange[] = [];
  private readonly staleKeys = new Set<string>();
  private readonly inventoryScale: SimulatorOptions["inventory"];
  private inventoryCache: { key: string; state: InventoryState } | undefined;

  constructor(options: SimulatorOptions = {}) {
    this.seed = options.seed ?? DEFAULT_SEED;
    this.clock = options.clock ?? systemClock;
    this.faults = resolveFaults(options.faults);
    const tenantShare = options.tenantShare ?? DEFAULT_TENANT_SHARE;
    if (!(tenantShare >= 0 && tenantShare <= 1)) throw new RangeError("tenantShare must be between 0 and 1");
    this.directory = buildDirectory(this.seed);
    this.activity = new ActivityGenerator(this.directory, tenantShare, options.profile ?? "benign");

    const startSecs = unixSeconds(this.clock);
    const historyEnd = options.history?.endSecs ?? startSecs;
    if (options.history) this.generateHistory(options.history.days, options.history.eventsPerDay, historyEnd);

    this.liveRate = options.live?.eventsPerMinute ?? 0;
    if (!(this.liveRate >= 0)) throw new RangeError("live.eventsPerMinute must not be negative");
    this.liveFrom = options.history ? historyEnd : startSecs;
    this.liveMinute = Math.floor(this.liveFrom / 60) - 1;

    for (const [i, burst] of (options.bursts ?? []).entries()) this.generateBurst(i, burst.atSecs, burst.count);

    const scenarioBase = (options.history ? historyEnd : startSecs) - 3600;
    for (const [i, scenario] of (options.scenarios ?? []).entries()) {
      this.runScenario(scenario.name, scenario.atSecs ?? scenarioBase + i * 90);
    }
    this.inventoryScale = options.inventory;
    for (const [i, scenario] of (options.postureScenarios ?? []).entries()) {
      this.runPostureScenario(scenario.name, scenario.atSecs ?? scenarioBase + i * 90);
    }
  }

  /** Sets up a posture scenario (src/simulator/posture-scenarios.ts) acting at atSecs. */
  runPostureScenario(name: PostureScenarioName, atSecs: number): RawAuditLog[] {
    if (!isPostureScenarioName(name)) throw new RangeError(`Unknown posture scenario "${String(name)}"`);
    const key = `posture:${name}:${atSecs}`;
    const run = this.scenarioRuns.get(key) ?? 0;
    this.scenarioRuns.set(key, run + 1);
    const result = POSTURE_SCENARIOS[name].build({
      rng: new Rng(this.seed, `scenario:${key}:${run}`),
      dir: this.directory,
      at: atSecs,
    });
    this.store.insert(result.events.map((r) => fileRecord(r, r, r.effective_at)));
    this.silent.push(...result.silent);
    for (const id of result.staleKeyIds) this.staleKeys.add(id);
    this.inventoryCache = undefined;
    return result.events;
  }

  /** A change of state that leaves no audit event (drift), from atSecs on. */
  addSilentChange(change: SilentChange): void {
    this.silent.push(change);
    this.inventoryCache = undefined;
  }

  /**
   * The organization as the Admin API list endpoints show it at nowSecs: the directory, then every audit event
   * visible by then and every silent change, in time order (see inventory.ts).
   */
  inventory(nowSecs: number): InventoryState {
    this.advanceTo(nowSecs);
    const cacheKey = `${nowSecs}:${this.store.size}:${this.silent.length}`;
    if (this.inventoryCache?.key === cacheKey) return this.inventoryCache.state;
    const state = baselineState(this.directory, this.seed, this.inventoryScale);
    const events = this.store
      .newestFirst((e) => e.at <= nowSecs && e.visibleAt <= nowSecs)
      .map((e) => e.record)
      .filter((r) => typeof r.effective_at === "number" && typeof r.type === "string")
      .reverse();
    const silent = this.silent.filter((c) => c.atSecs <= nowSecs).sort((a, b) => a.atSecs - b.atSecs);
    let next = 0;
    for (const event of events) {
      while (next < silent.length && (silent[next] as SilentChange).atSecs < event.effective_at) {
        (silent[next++] as SilentChange).apply(state, nowSecs);
      }
      applyEvent(state, event, this.directory);
    }
    while (next < silent.length) (silent[next++] as SilentChange).apply(state, nowSecs);
    withUsage(state, nowSecs, this.staleKeys);
    this.inventoryCache = { key: cacheKey, state };
    return state;
  }

  allEvents(): RawAuditLog[] {
    this.advanceTo(unixSeconds(this.clock));
    return this.store.newestFirst().map((e) => e.record);
  }

  visibleEvents(nowSecs: number, options: { scope?: VisibleScope } = {}): RawAuditLog[] {
    this.advanceTo(nowSecs);
    const scope = options.scope ?? "all";
    return this.store
      .newestFirst(
        (e) => e.at <= nowSecs && e.visibleAt <= nowSecs && (scope === "all" || (scope === "tenant") === e.tenant),
      )
      .map((e) => e.record);
  }

  addEvents(events: RawAuditLog[], options: { visibleAtSecs?: number } = {}): void {
    const filed = events.map((given) => {
      // Hand-made malformed records are welcome: they are filed under a stand-in id / type / time and served as given.
      const source: RawAuditLog = {
        ...given,
        id:
          typeof given.id === "string" ? given.id : `audit_log-added${String(++this.addedWithoutId).padStart(14, "0")}`,
        type: typeof given.type === "string" ? given.type : "unknown",
        effective_at: Number.isFinite(Number(given.effective_at))
          ? Math.floor(Number(given.effective_at))
          : (options.visibleAtSecs ?? unixSeconds(this.clock)),
      };
      return fileRecord(source, given, options.visibleAtSecs ?? source.effective_at);
    });
    this.store.insert(filed);
  }

  runScenario(name: ScenarioName, atSecs: number): RawAuditLog[] {
    if (!isScenarioName(name)) throw new RangeError(`Unknown scenario "${String(name)}"`);
    const key = `${name}:${atSecs}`;
    const run = this.scenarioRuns.get(key) ?? 0;
    this.scenarioRuns.set(key, run + 1);
    const rng = new Rng(this.seed, `scenario:${key}:${run}`);
    const records = buildScenario(name, { rng, dir: this.directory, at: atSecs });
    this.store.insert(records.map((r) => fileRecord(r, r, r.effective_at)));
    return [...records].sort((a, b) => b.effective_at - a.effective_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  /** One page as the API shows it at nowSecs. */
  list(query: ParsedQuery, nowSecs: number): PageResult {
    this.advanceTo(nowSecs);
    return this.store.page(query, nowSecs);
  }

  get size(): number {
    return this.store.size;
  }

  /** Data faults (unknown types, malformed records, late events) for activity generated from now on. */
  setDataFaults(faults: FaultConfig): void {
    this.faults = faults;
  }

  /** Generates live activity for every minute up to the one holding nowSecs (seconds past now stay invisible). */
  advanceTo(nowSecs: number): void {
    if (this.liveRate <= 0) return;
    const target = Math.floor(nowSecs / 60);
    if (target <= this.liveMinute) return;
    const from = Math.max(this.liveMinute + 1, target - MAX_LIVE_CATCH_UP_MINUTES + 1);
    const filed: StoredEvent[] = [];
    for (let minute = from; minute <= target; minute++) {
      const rng = new Rng(this.seed, `live:${minute}`);
      const first = Math.max(minute * 60, this.liveFrom);
      const last = minute * 60 + 59;
      if (first > last) continue;
      const records = this.activity.fill(rng, rng.poisson(this.liveRate), (r) => r.int(first, last), last);
      filed.push(...this.applyDataFaults(records, new Rng(this.seed, `live-faults:${minute}`)));
    }
    this.liveMinute = target;
    this.store.insert(filed);
  }

  private generateHistory(days: number, eventsPerDay: number, endSecs: number): void {
    if (!(days >= 0) || !(eventsPerDay >= 0))
      throw new RangeError("history days and eventsPerDay must not be negative");
    const count = Math.round(days * eventsPerDay);
    if (count === 0) return;
    const startSecs = endSecs - Math.round(days * 86400);
    const firstDay = Math.floor(startSecs / 86400) * 86400;
    const dayCount = Math.ceil((endSecs - firstDay) / 86400);
    // A UTC day, then a busy-hours-weighted second of it; draws outside the window are drawn again.
    const startAt = (rng: Rng): number => {
      for (;;) {
        const t = firstDay + rng.int(0, dayCount - 1) * 86400 + this.activity.secondOfDay(rng);
        if (t >= startSecs && t < endSecs) return t;
      }
    };
    const records = this.activity.fill(new Rng(this.seed, "history"), count, startAt, endSecs - 1);
    this.store.insert(this.applyDataFaults(records, new Rng(this.seed, "history-faults")));
  }

  private generateBurst(index: number, atSecs: number, count: number): void {
    if (!(Number.isInteger(count) && count >= 0)) throw new RangeError("burst count must be a whole number");
    const records = this.activity.fill(new Rng(this.seed, `burst:${index}:${atSecs}`), count, () => atSecs, atSecs);
    this.store.insert(this.applyDataFaults(records, new Rng(this.seed, `burst-faults:${index}:${atSecs}`)));
  }

  /** Three draws per record whatever the probabilities, so turning a fault on changes only the faulted records. */
  private applyDataFaults(records: RawAuditLog[], rng: Rng): StoredEvent[] {
    const f = this.faults;
    return records.map((original) => {
      const unknown = rng.next() < f.unknownTypeProbability;
      const broken = rng.next() < f.malformedRecordProbability;
      const late = rng.next() < f.lateEventProbability;
      let source = original;
      let served = original;
      if (unknown) {
        source = withUnknownType(rng, original);
        served = source;
        this.dataFaultCounts.unknownType++;
      }
      if (broken) {
        served = malformed(rng, source).record;
        this.dataFaultCounts.malformedRecord++;
      }
      if (late) this.dataFaultCounts.lateEvent++;
      return fileRecord(source, served, late ? source.effective_at + f.lateDelaySecs : source.effective_at);
    });
  }
}

export function createSimulatedOrg(options: SimulatorOptions = {}): SimOrg {
  return new SimOrg(options);
}
