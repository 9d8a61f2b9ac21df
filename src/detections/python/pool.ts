// A pool of persistent python3 worker processes that evaluate Panther-style Python rules.
// One request at a time per worker, so a crash or a timeout only ever fails the request that caused it.
// Crashed or timed-out workers are killed and replaced, and every registered rule is re-loaded into the replacement
// (one whose re-import kills replacement after replacement is dropped: see MAX_REPLAY_FAILURES).

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { VigilError } from "../../core/errors.ts";
import type {
  PoolResponse,
  PyBatchState,
  PyDataModel,
  PyError,
  PyMock,
  PyRepositoryConfig,
  PyUdmValues,
  RuleRunResults,
} from "./types.ts";

export interface PythonWorkerPoolOptions {
  /** Number of worker processes (default 2). */
  size?: number;
  /** Time limit per request in ms (default 15000, Panther's per-rule runtime limit). */
  timeoutMs?: number;
  /** Time limit for a worker to start, in ms (default 60000). */
  startTimeoutMs?: number;
  /** Interpreter to run (default "python3"). */
  python?: string;
  /** How long a worker slot given up (its workers kept dying as they started) waits to be tried again, in ms
   * (default 60000, doubling each time it is given up again, up to 30 minutes). */
  slotRetryMs?: number;
  /** How long a worker must have lived after taking the configuration for an idle death not to count as a failed
   * start, in ms (default 30000). */
  settledMs?: number;
}

type Reply = { ok: true; [k: string]: unknown } | { ok: false; error: PyError };

interface Job {
  payload: Record<string, unknown>;
  resolve: (reply: Reply) => void;
  /** A registered rule re-loaded into a replacement worker: the rule's id. */
  replayOf?: string;
}

/** What a slot's next worker inherits: its failed starts in a row, and its last wait after being given up. */
interface SlotHistory {
  failedStarts: number;
  slotRetryMs: number;
}

/** A registered rule: its module, and how many replacement workers in a row died or hung re-loading it. */
interface RegisteredRule {
  path: string;
  optionalRule: boolean;
  replayFailures: number;
}

const WORKER_SCRIPT = fileURLToPath(new URL("./worker.py", import.meta.url));
const STDERR_TAIL = 2000;
/** How long a worker may take to start (python3 and the worker's imports), however short the request limit. */
const START_LIMIT_MS = 60_000;
const CLOSE_GRACE_MS = 500;
/** Workers of a slot that may die in a row before they have started, and then the slot is given up for a while. */
const MAX_FAILED_STARTS = 3;
/** The longest a given-up slot waits before it is tried again. */
const SLOT_RETRY_MAX_MS = 30 * 60_000;
/**
 * Replacement workers that may die or hang in a row re-loading one registered rule. Past it the rule is no longer
 * re-loaded (it would kill every replacement for ever): its runs then answer RuleNotLoaded, which the engine takes
 * as a rule to import again after its back-off.
 */
const MAX_REPLAY_FAILURES = 3;

class Worker {
  readonly proc: ChildProcessWithoutNullStreams;
  /** Loads for this worker only; they go before shared work so a rule is loaded before it runs. */
  readonly privateQueue: Job[] = [];
  current: { job: Job; id: number; timer: NodeJS.Timeout } | undefined;
  alive = true;
  everReady = false;
  /** Whether it holds the pool's configuration (or there was none when it was spawned); see setConfigured. */
  configured = false;
  /** Since when it has been both ready and configured (null: it is not yet). */
  settledSinceMs: number | null = null;
  /** Workers of this slot that died before they had started (see Worker.started), in a row. */
  failedStarts = 0;
  /** How long this slot waited the last time it was given up (0: it has not been since it last started). */
  slotRetryMs = 0;
  ready: Promise<void>;
  /** Fails `ready` (the first reason given wins). */
  readonly notReady: (e: unknown) => void;
  stderrTail = "";
  private buffer = "";

  constructor(
    python: string,
    private readonly onLine: (w: Worker, line: string) => void,
    private readonly onDeath: (w: Worker, reason: string) => void,
  ) {
    // -I: ignore PYTHON* env vars and user site; -B: never write __pycache__ into the source tree
    this.proc = spawn(python, ["-I", "-B", WORKER_SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
    let readyResolve!: () => void;
    let readyReject!: (e: unknown) => void;
    this.notReady = (e) => readyReject(e);
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.ready.catch(() => {}); // observed by start(); replacements need not be awaited
    let isReady = false;
    this.proc.stdout.setEncoding("utf8");
    this.proc.stdout.on("data", (chunk: string) => {
      this.buffer += chunk;
      let nl = this.buffer.indexOf("\n");
      while (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (!isReady) {
          isReady = true;
          this.everReady = true;
          this.setConfigured(this.configured);
          readyResolve();
        } else if (line.trim() !== "") this.onLine(this, line);
        nl = this.buffer.indexOf("\n");
      }
    });
    this.proc.stderr.setEncoding("utf8");
    this.proc.stderr.on("data", (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL);
    });
    this.proc.stdin.on("error", () => {}); // EPIPE after a crash is reported through "exit"
    this.proc.on("error", (err: NodeJS.ErrnoException) => {
      readyReject(err);
      this.onDeath(this, `could not run the worker: ${err.message}`);
    });
    this.proc.on("exit", (code, signal) => {
      const tail = this.stderrTail.trim();
      const reason = `python worker exited (${signal ?? `code ${code}`})${tail ? `: ${tail.slice(-500)}` : ""}`;
      readyReject(new Error(reason));
      this.onDeath(this, reason);
    });
  }

  setConfigured(configured: boolean): void {
    this.configured = configured;
    this.settledSinceMs = configured && this.everReady ? (this.settledSinceMs ?? Date.now()) : null;
  }

  /**
   * Whether it had started, as it dies: ready, configured, and then either settled for `settledMs` or ended by the
   * request it was serving (a rule that crashes it: that request is the cause, and its caller is told). One that
   * dies idle sooner was ended by something its imports left running (a thread, a C extension), and a
   * replacement would import it again; dying as it starts or takes the configuration is the same.
   */
  started(serving: boolean, settledMs: number): boolean {
    if (this.settledSinceMs === null) return false;
    return serving || Date.now() - this.settledSinceMs >= settledMs;
  }

  kill(): void {
    this.alive = false;
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
  }
}

export class PythonWorkerPool {
  readonly size: number;
  readonly timeoutMs: number;
  readonly startTimeoutMs: number;
  private readonly python: string;
  private workers: Worker[] = [];
  private readonly shared: Job[] = [];
  /** Rules loaded successfully into every worker; replayed into replacements (until MAX_REPLAY_FAILURES). */
  private readonly registry = new Map<string, RegisteredRule>();
  /** Slots whose workers kept dying as they started: when each is tried again (see reviveSlots). */
  private givenUp: Array<{ atMs: number; waitMs: number }> = [];
  /** Workers of given-up slots being tried again: they take requests only once they are ready. */
  private probes: Worker[] = [];
  private readonly slotRetryMs: number;
  private readonly settledMs: number;
  /** The repository configuration (globals, data models); replayed into replacements before their rules. */
  private config: PyRepositoryConfig | null = null;
  private nextId = 1;
  /** Why the last worker given up died. */
  private lastStartFailure = "";
  private started = false;
  private closed = false;
  /** close() was called: the pool stays closed. */
  private closeRequested = false;

  constructor(options: PythonWorkerPoolOptions = {}) {
    this.size = options.size ?? 2;
    this.timeoutMs = options.timeoutMs ?? 15000;
    this.startTimeoutMs = options.startTimeoutMs ?? START_LIMIT_MS;
    this.python = options.python ?? "python3";
    this.slotRetryMs = options.slotRetryMs ?? 60_000;
    this.settledMs = options.settledMs ?? 30_000;
    if (!Number.isInteger(this.size) || this.size < 1) throw new VigilError("python_pool_size", "size must be ≥ 1");
  }

  /** Spawns the workers and waits until each one is ready. Rejects with a clear error if python3 is missing. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.size; i++) this.workers.push(this.spawnWorker());
    try {
      await Promise.all(this.workers.map((w) => w.ready));
    } catch (err) {
      // A start that failed (python3 missing, a worker that died or hung as it started) is not the pool's end: a
      // later start() tries again, as the engine does after a back-off. Unless close() was asked for meanwhile.
      this.closed = true;
      await this.stopWorkers();
      if (!this.closeRequested) {
        this.closed = false;
        this.started = false;
      }
      const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
      throw new VigilError(
        missing ? "python_missing" : "python_start_failed",
        missing
          ? `Python rules need python3, but '${this.python}' was not found. Install it (e.g. \`apt-get install -y python3\`) or configure the interpreter path.`
          : `Python rules need python3, but the worker failed to start: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Registers a Panther repository's global helpers and data models in every worker (and in any replacement,
   * before its rules are re-loaded). Call it before loading the rules that import the helpers. Returns the data
   * models whose Python module failed to import, by id.
   */
  async configure(config: PyRepositoryConfig): Promise<PoolResponse<{ errors: Record<string, string> }>> {
    this.config = config;
    const unusable = this.unusable();
    if (unusable !== null) return { ok: false, error: unusable };
    const replies = await Promise.all(
      this.workers.map((w) => {
        // Not configured until it replies: dying on it is a failed start (see fail).
        w.setConfigured(false);
        return this.enqueue({ op: "configure", ...config }, w.privateQueue, w);
      }),
    );
    const failed = replies.find((r) => !r.ok);
    if (failed && !failed.ok) return { ok: false, error: failed.error };
    const first = replies[0] as { errors?: Record<string, string> } | undefined;
    return { ok: true, value: { errors: first?.errors ?? {} } };
  }

  /**
   * Loads (or re-loads) a rule module into every worker. An import error is returned, not thrown.
   * `optionalRule`: a module without rule() matches everything (Panther's scheduled rules).
   */
  async loadRule(
    ruleId: string,
    path: string,
    options: { optionalRule?: boolean } = {},
  ): Promise<PoolResponse<{ functions: string[] }>> {
    const unusable = this.unusable();
    if (unusable !== null) return { ok: false, error: unusable };
    const entry: RegisteredRule = { path, optionalRule: options.optionalRule === true, replayFailures: 0 };
    const targets = [...this.workers];
    const replies = await Promise.all(targets.map((w) => this.enqueue(loadPayload(ruleId, entry), w.privateQueue, w)));
    const failed = replies.find((r) => !r.ok);
    if (failed && !failed.ok) return { ok: false, error: failed.error };
    this.registry.set(ruleId, entry);
    // Replacements spawned during the load missed it (registry did not have it yet)
    for (const w of this.workers) if (!targets.includes(w)) this.replay(w, ruleId, entry);
    const first = replies[0] as { functions?: string[] } | undefined;
    return { ok: true, value: { functions: first?.functions ?? [] } };
  }

  /**
   * Runs one rule on one event (Panther test semantics for mocks: module-level names patched for the call).
   * Rule state starts from `state` (default: empty) at the event time `timeSecs` (default 0).
   */
  async run(
    ruleId: string,
    event: unknown,
    options: {
      /** Overrides the registered data model of the event's log type; null: none. */
      dataModel?: PyDataModel | null;
      udmValues?: PyUdmValues | null;
      mocks?: PyMock[];
      timeSecs?: number;
      state?: PyBatchState;
    } = {},
  ): Promise<PoolResponse<RuleRunResults>> {
    const reply = await this.enqueue({
      op: "run",
      ruleId,
      event,
      ...("dataModel" in options ? { dataModel: options.dataModel ?? null } : {}),
      udmValues: options.udmValues ?? undefined,
      mocks: options.mocks,
      timeSecs: options.timeSecs,
      state: options.state,
    });
    return reply.ok ? { ok: true, value: reply.results as RuleRunResults } : reply;
  }

  /**
   * Evaluates every rule on every event in one round trip: value[eventIndex][ruleIndex]. Rule state starts
   * from `state` (one source's, per rule id); `timesSecs[i]` is event i's time, "now" for its state reads and
   * expiries. Writes are seen by later events of the batch and come back as each result's `ops`.
   */
  async runBatch(
    ruleIds: readonly string[],
    events: readonly unknown[],
    options: {
      /** Overrides the registered data models (by each event's log type); null: none. */
      dataModel?: PyDataModel | null;
      /** Per event: values of a data model computed in TypeScript (null: none). */
      udmValues?: ReadonlyArray<PyUdmValues | null>;
      /** Per event: ids of the rules whose InlineFilters rejected it; they return False without running. */
      filtered?: ReadonlyArray<readonly string[] | null>;
      timesSecs?: readonly number[];
      state?: PyBatchState;
    } = {},
  ): Promise<PoolResponse<RuleRunResults[][]>> {
    const reply = await this.enqueue({
      op: "run_batch",
      ruleIds,
      events,
      ...("dataModel" in options ? { dataModel: options.dataModel ?? null } : {}),
      udmValues: options.udmValues,
      filtered: options.filtered,
      timesSecs: options.timesSecs,
      state: options.state,
    });
    return reply.ok ? { ok: true, value: reply.results as RuleRunResults[][] } : reply;
  }

  /**
   * Every mapping of the registered data model of each event's log type, computed in Python (for TypeScript rules
   * whose data model has Python methods): value[i] is null when event i's log type has no data model.
   */
  async udm(events: readonly unknown[]): Promise<PoolResponse<Array<PyUdmValues | null>>> {
    const reply = await this.enqueue({ op: "udm", events });
    return reply.ok ? { ok: true, value: reply.results as Array<PyUdmValues | null> } : reply;
  }

  /** Ends every worker (killing any that hang) and fails queued requests with PoolClosed. */
  async close(): Promise<void> {
    this.closeRequested = true;
    if (this.closed) return;
    this.closed = true;
    await this.stopWorkers();
  }

  /** Ends every worker (killing any that hang) and answers queued requests with PoolClosed. */
  private async stopWorkers(): Promise<void> {
    const closedError: Reply = {
      ok: false,
      error: { type: "PoolClosed", message: "the Python worker pool was closed" },
    };
    for (const job of this.shared.splice(0)) job.resolve(closedError);
    const exits = [...this.workers, ...this.probes].map((w) => {
      for (const job of w.privateQueue.splice(0)) job.resolve(closedError);
      if (w.current) {
        clearTimeout(w.current.timer);
        w.current.job.resolve(closedError);
        w.current = undefined;
      }
      w.alive = false;
      if (w.proc.exitCode !== null || w.proc.signalCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => w.proc.kill("SIGKILL"), CLOSE_GRACE_MS);
        timer.unref();
        w.proc.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        w.proc.once("error", () => resolve());
        w.proc.stdin.end(); // EOF: the worker's read loop ends and it exits
      });
    });
    this.workers = [];
    this.probes = [];
    this.givenUp = [];
    await Promise.all(exits);
  }

  private enqueue(payload: Record<string, unknown>, queue: Job[] = this.shared, worker?: Worker): Promise<Reply> {
    const unusable = this.unusable();
    if (unusable !== null) return Promise.resolve({ ok: false, error: unusable });
    return new Promise((resolve) => {
      queue.push({ payload, resolve });
      if (worker) this.pump(worker);
      else for (const w of this.workers) this.pump(w);
    });
  }

  private pump(w: Worker): void {
    // Not before it is ready: its requests' time limits would count python3's own start-up.
    if (!w.alive || w.current || this.closed || !w.everReady) return;
    const job = w.privateQueue.shift() ?? this.shared.shift();
    if (!job) return;
    const id = this.nextId++;
    const timer = setTimeout(
      () => this.fail(w, "RuleTimeout", `rule evaluation exceeded ${this.timeoutMs} ms`),
      this.timeoutMs,
    );
    w.current = { job, id, timer };
    w.proc.stdin.write(`${JSON.stringify({ ...job.payload, id })}\n`);
  }

  /** A worker for a slot, carrying the slot's history (a fresh slot's by default). */
  private spawnWorker(slot: SlotHistory = { failedStarts: 0, slotRetryMs: 0 }): Worker {
    const w = new Worker(
      this.python,
      (w, line) => this.onLine(w, line),
      (w, reason) => {
        if (w.alive && !this.closed) this.fail(w, "WorkerCrashed", reason);
      },
    );
    w.failedStarts = slot.failedStarts;
    w.slotRetryMs = slot.slotRetryMs;
    w.setConfigured(this.config === null);
    // Requests wait for it to be ready (pump), so its start-up has a time limit of its own: one that hangs as it
    // starts is replaced, as one that hangs on a request is.
    const startLimit = setTimeout(() => {
      if (w.everReady) return;
      const reason = `the python worker did not start within ${this.startTimeoutMs} ms`;
      w.notReady(new Error(reason));
      this.fail(w, "WorkerCrashed", reason);
    }, this.startTimeoutMs);
    startLimit.unref();
    void w.ready.then(
      () => {
        clearTimeout(startLimit);
        // A revived slot's worker joins the pool once it is ready (see reviveSlots), with the configuration and
        // rules the pool has by then.
        const probe = this.probes.indexOf(w);
        if (probe >= 0 && w.alive && !this.closed) {
          this.probes.splice(probe, 1);
          this.workers.push(w);
          this.prepare(w, []);
        }
        this.pump(w);
      },
      () => clearTimeout(startLimit),
    );
    return w;
  }

  private onLine(w: Worker, line: string): void {
    const cur = w.current;
    if (!cur) return;
    let reply: Reply & { id?: unknown };
    try {
      reply = JSON.parse(line) as Reply & { id?: unknown };
    } catch {
      this.fail(w, "WorkerCrashed", `python worker wrote a malformed response: ${line.slice(0, 200)}`);
      return;
    }
    if (reply.id !== cur.id) return; // a stale line cannot answer a newer request
    clearTimeout(cur.timer);
    w.current = undefined;
    if (cur.job.payload.op === "configure" && reply.ok) w.setConfigured(true);
    const replayed = cur.job.replayOf === undefined ? undefined : this.registry.get(cur.job.replayOf);
    if (replayed !== undefined) replayed.replayFailures = 0;
    cur.job.resolve(reply);
    this.pump(w);
  }

  /** Fails the worker's current request, kills the worker and replaces it; other workers are untouched. */
  private fail(w: Worker, type: "WorkerCrashed" | "RuleTimeout", message: string): void {
    if (!w.alive) return;
    w.kill();
    const cur = w.current;
    w.current = undefined;
    if (cur) {
      clearTimeout(cur.timer);
      cur.job.resolve({ ok: false, error: { type, message } });
    }
    if (this.closed) return;
    const probe = this.probes.indexOf(w);
    if (probe >= 0) {
      // A revived slot's worker that did not start: the slot waits again, twice as long.
      this.probes.splice(probe, 1);
      this.giveUp(w, message);
      return;
    }
    const index = this.workers.indexOf(w);
    if (index < 0) return;
    const replayOf = cur?.job.replayOf;
    const replayed = replayOf === undefined ? undefined : this.registry.get(replayOf);
    if (replayOf !== undefined && replayed !== undefined && ++replayed.replayFailures >= MAX_REPLAY_FAILURES)
      this.registry.delete(replayOf);
    // Per slot: a worker that dies before it had started (Worker.started: a data model that exits or hangs at import,
    // a thread a module left that ends it) is counted; replaced each time, it would be respawned and killed for
    // ever. One that started resets its slot's count, so a busy host's occasional timeout never adds up to giving up.
    const started = w.started(cur !== undefined, this.settledMs);
    const failedStarts = started ? 0 : w.failedStarts + 1;
    const slotRetryMs = started ? 0 : w.slotRetryMs;
    if (failedStarts > MAX_FAILED_STARTS) {
      this.workers.splice(index, 1);
      this.giveUp(w, message);
      return;
    }
    this.workers[index] = this.respawn(w.privateQueue.splice(0), { failedStarts, slotRetryMs });
  }

  /**
   * Gives up the slot of `w`, a worker that did not start, until its wait is over: a minute, then twice the last
   * wait, up to SLOT_RETRY_MAX_MS. Then it is tried again (a python3 being upgraded, a full disk): a pool that
   * gave up for good would leave every Python rule without a worker until Vigil restarts.
   */
  private giveUp(w: Worker, message: string): void {
    this.lastStartFailure = message;
    const waitMs = w.slotRetryMs === 0 ? this.slotRetryMs : Math.min(2 * w.slotRetryMs, SLOT_RETRY_MAX_MS);
    this.givenUp.push({ atMs: Date.now() + waitMs, waitMs });
    const error = this.noWorkers();
    if (this.workers.length === 0) for (const job of this.shared.splice(0)) job.resolve({ ok: false, error });
    for (const job of w.privateQueue.splice(0)) job.resolve({ ok: false, error });
  }

  /**
   * A worker for a slot, given the configuration and the registered rules before `pending` (what its predecessor
   * had queued). The configuration first (a caller's still queued, else the pool's again): the rules import its
   * helpers.
   */
  private respawn(pending: Job[], slot: SlotHistory): Worker {
    const w = this.spawnWorker(slot);
    this.prepare(w, pending);
    return w;
  }

  /** Queues, for a new worker, the configuration and the registered rules, then `pending`. */
  private prepare(w: Worker, pending: Job[]): void {
    w.setConfigured(this.config === null);
    const pendingLoads = new Set(pending.map((j) => j.payload.ruleId));
    const configure = pending.findIndex((j) => j.payload.op === "configure");
    if (configure >= 0) w.privateQueue.push(...pending.splice(configure, 1));
    else if (this.config) w.privateQueue.push({ payload: { op: "configure", ...this.config }, resolve: () => {} });
    for (const [ruleId, entry] of this.registry) if (!pendingLoads.has(ruleId)) this.replay(w, ruleId, entry);
    w.privateQueue.push(...pending);
    this.pump(w);
  }

  /**
   * The given-up slots whose wait is over get a worker again, one try each: it joins the pool once ready (until
   * then requests are answered, not held for the start-up limit), and one that dies before it has started and
   * taken the configuration gives the slot up again.
   */
  private reviveSlots(): void {
    const now = Date.now();
    if (!this.givenUp.some((s) => s.atMs <= now)) return;
    const due = this.givenUp.filter((s) => s.atMs <= now);
    this.givenUp = this.givenUp.filter((s) => s.atMs > now);
    for (const slot of due)
      this.probes.push(this.spawnWorker({ failedStarts: MAX_FAILED_STARTS, slotRetryMs: slot.waitMs }));
  }

  /** Why no request can be taken now, or null. */
  private unusable(): PyError | null {
    if (this.closed) return { type: "PoolClosed", message: "the Python worker pool was closed" };
    if (!this.started) return { type: "PoolClosed", message: "call start() before using the pool" };
    this.reviveSlots();
    // Every worker was given up (they kept dying as they started): nothing takes the request until one is revived.
    return this.workers.length === 0 ? this.noWorkers() : null;
  }

  private noWorkers(): PyError {
    const next = Math.min(...this.givenUp.map((s) => s.atMs));
    const retry =
      this.probes.length > 0
        ? "; being tried again"
        : Number.isFinite(next)
          ? `; tried again in ${Math.max(1, Math.ceil((next - Date.now()) / 1000))} s`
          : "";
    return {
      type: "WorkerCrashed",
      message: `python workers keep failing to start: ${this.lastStartFailure}${retry}`,
    };
  }

  private replay(w: Worker, ruleId: string, entry: RegisteredRule): void {
    w.privateQueue.push({ payload: loadPayload(ruleId, entry), resolve: () => {}, replayOf: ruleId });
    this.pump(w);
  }
}

function loadPayload(ruleId: string, entry: RegisteredRule): Record<string, unknown> {
  return { op: "load", ruleId, path: entry.path, ...(entry.optionalRule ? { optionalRule: true } : {}) };
}
