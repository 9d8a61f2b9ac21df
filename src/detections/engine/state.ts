// The rule-state API behind ctx.state. Reads see the state loaded before the batch plus the writes of
// earlier events of the same batch; each write also becomes a RuleStateOp tied to its event, which the
// store applies only for events the page inserted. Expiry is event time + ttl, so replays agree.

import type { RuleStateOp } from "../../core/detection.ts";
import type { RuleContext, RuleState, StateWriteOptions } from "../define-rule.ts";
import type { PyBatchState, PyStateEntry, PyStateOp } from "../python/types.ts";
import type { RuleStateEntry } from "./types.ts";

interface Entry {
  value: string | null;
  counter: number;
  members: string[];
  expiresAtSecs: number | null;
}

function isSorted(members: readonly string[]): boolean {
  for (let i = 1; i < members.length; i++) if (members[i - 1]! > members[i]!) return false;
  return true;
}

const keyOf = (sourceId: string, ruleId: string, key: string) => `${sourceId}\u0000${ruleId}\u0000${key}`;

/**
 * One batch's state. Loaded entries apply to every source of the batch (the store loads them for the
 * page's source); writes are kept per source. A write without ttlSecs carries `expiresAtSecs: null`:
 * the entry keeps its current expiry (none for a new entry).
 */
export class BatchState implements RuleState {
  private readonly loaded = new Map<string, Entry>();
  private readonly written = new Map<string, Entry | null>();
  readonly ops: Array<{ eventId: string; op: RuleStateOp }> = [];
  /** Undo log of the current invocation, so a rule that throws leaves no trace. */
  private undo: Map<string, Entry | null | undefined> | null = null;
  private undoOps = 0;
  ruleId = "";
  sourceId = "";
  eventId = "";
  eventTimeSecs = 0;
  /** The `ctx` handed to rule functions; one object per batch, repositioned by begin(). */
  readonly context: RuleContext;

  constructor(entries: readonly RuleStateEntry[]) {
    const self = this;
    this.context = {
      get ruleId() {
        return self.ruleId;
      },
      get sourceId() {
        return self.sourceId;
      },
      get eventId() {
        return self.eventId;
      },
      get eventTimeSecs() {
        return self.eventTimeSecs;
      },
      state: this,
    };
    // Held as given (never changed here: a write makes a new entry), unless its members are not sorted: a
    // source's state is a thousand entries and more, read before every page of a backfill.
    for (const e of entries)
      this.loaded.set(`${e.ruleId}\u0000${e.key}`, isSorted(e.members) ? e : { ...e, members: [...e.members].sort() });
  }

  /** Positions the API on one (rule, event) invocation. */
  begin(ruleId: string, sourceId: string, eventId: string, eventTimeSecs: number): void {
    this.ruleId = ruleId;
    this.sourceId = sourceId;
    this.eventId = eventId;
    this.eventTimeSecs = eventTimeSecs;
    this.undo = null;
    this.undoOps = this.ops.length;
  }

  /** Discards the writes of the current invocation (its rule() threw). */
  rollback(): void {
    if (this.undo === null) return;
    for (const [k, prev] of this.undo) {
      if (prev === undefined) this.written.delete(k);
      else this.written.set(k, prev);
    }
    this.ops.length = this.undoOps;
    this.undo = null;
  }

  private read(key: string): Entry | null {
    const k = keyOf(this.sourceId, this.ruleId, key);
    const w = this.written.get(k);
    const e = w !== undefined ? w : (this.loaded.get(`${this.ruleId}\u0000${key}`) ?? null);
    if (e === null) return null;
    return e.expiresAtSecs !== null && e.expiresAtSecs <= this.eventTimeSecs ? null : e;
  }

  private write(key: string, next: Entry | null): void {
    const k = keyOf(this.sourceId, this.ruleId, key);
    if (this.undo === null) this.undo = new Map();
    if (!this.undo.has(k)) this.undo.set(k, this.written.get(k));
    this.written.set(k, next);
  }

  /**
   * Before a write: an entry that is still stored (loaded or written) but expired at the event's time is
   * deleted first, so the store restarts it exactly as this view does, whatever its clock says.
   */
  private restartIfExpired(key: string): void {
    const w = this.written.get(keyOf(this.sourceId, this.ruleId, key));
    const e = w !== undefined ? w : (this.loaded.get(`${this.ruleId}\u0000${key}`) ?? null);
    if (e !== null && e.expiresAtSecs !== null && e.expiresAtSecs <= this.eventTimeSecs)
      this.ops.push({ eventId: this.eventId, op: { kind: "delete", ruleId: this.ruleId, key } });
  }

  private expiry(options: StateWriteOptions | undefined): number | null {
    const ttl = options?.ttlSecs;
    if (ttl === undefined) return null;
    if (!Number.isFinite(ttl) || ttl < 0) throw new RangeError(`ttlSecs must be a non-negative number, got ${ttl}`);
    return this.eventTimeSecs + Math.floor(ttl);
  }

  private base(key: string): Entry {
    const e = this.read(key);
    return e ? { ...e, members: e.members } : { value: null, counter: 0, members: [], expiresAtSecs: null };
  }

  get(key: string): string | null {
    return this.read(String(key))?.value ?? null;
  }

  counter(key: string): number {
    return this.read(String(key))?.counter ?? 0;
  }

  members(key: string): string[] {
    return [...(this.read(String(key))?.members ?? [])];
  }

  /**
   * One write of the current invocation, whoever made it (a TypeScript rule through the methods below, or a
   * Python rule's ops through replay): updates this batch's view and records the op for the store. Returns
   * the entry after it (null after a delete).
   */
  private apply(op: RuleStateOp): Entry | null {
    let next: Entry | null = null;
    if (op.kind !== "delete") {
      this.restartIfExpired(op.key);
      const e = this.base(op.key);
      const expiresAtSecs = op.expiresAtSecs ?? e.expiresAtSecs;
      if (op.kind === "put") next = { ...e, value: op.value, expiresAtSecs };
      else if (op.kind === "increment") next = { ...e, counter: e.counter + op.by, expiresAtSecs };
      else {
        const members = e.members.includes(op.member) ? e.members : [...e.members, op.member].sort();
        next = { ...e, members, expiresAtSecs };
      }
    }
    this.write(op.key, next);
    this.ops.push({ eventId: this.eventId, op });
    return next;
  }

  put(key: string, value: string, options?: StateWriteOptions): void {
    const expiresAtSecs = this.expiry(options);
    this.apply({ kind: "put", ruleId: this.ruleId, key, value: String(value), expiresAtSecs });
  }

  increment(key: string, by = 1, options?: StateWriteOptions): number {
    if (!Number.isFinite(by)) throw new RangeError(`increment must be a finite number, got ${by}`);
    const expiresAtSecs = this.expiry(options);
    return this.apply({ kind: "increment", ruleId: this.ruleId, key, by, expiresAtSecs })?.counter ?? 0;
  }

  addToSet(key: string, member: string, options?: StateWriteOptions): void {
    const expiresAtSecs = this.expiry(options);
    this.apply({ kind: "add_to_set", ruleId: this.ruleId, key, member: String(member), expiresAtSecs });
  }

  delete(key: string): void {
    this.apply({ kind: "delete", ruleId: this.ruleId, key });
  }

  /**
   * The state of `ruleIds` as seen by `sourceId` now (loaded entries plus this batch's writes), in the
   * worker's wire form; undefined when there is none. Expired entries are included: the worker judges expiry
   * per event time, as read() does.
   */
  snapshot(sourceId: string, ruleIds: readonly string[]): PyBatchState | undefined {
    const wanted = new Set(ruleIds);
    const view = new Map<string, Map<string, Entry | null>>();
    const at = (ruleId: string) => {
      let m = view.get(ruleId);
      if (!m) {
        m = new Map();
        view.set(ruleId, m);
      }
      return m;
    };
    for (const [k, e] of this.loaded) {
      const sep = k.indexOf("\u0000");
      const ruleId = k.slice(0, sep);
      if (wanted.has(ruleId)) at(ruleId).set(k.slice(sep + 1), e);
    }
    const prefix = `${sourceId}\u0000`;
    for (const [k, e] of this.written) {
      if (!k.startsWith(prefix)) continue;
      const rest = k.slice(prefix.length);
      const sep = rest.indexOf("\u0000");
      const ruleId = rest.slice(0, sep);
      if (wanted.has(ruleId)) at(ruleId).set(rest.slice(sep + 1), e);
    }
    let out: PyBatchState | undefined;
    for (const [ruleId, entries] of view) {
      const list: PyStateEntry[] = [];
      for (const [key, e] of entries) if (e !== null) list.push([key, e.value, e.counter, e.members, e.expiresAtSecs]);
      if (list.length === 0) continue;
      out ??= {};
      out[ruleId] = list;
    }
    return out;
  }

  /**
   * Applies the writes a Python rule made on one event (in order), exactly as the TypeScript methods would
   * have. A malformed op (a worker bug) undoes the invocation's writes and is returned as an error message.
   */
  replay(
    ruleId: string,
    sourceId: string,
    eventId: string,
    eventTimeSecs: number,
    ops: readonly PyStateOp[],
  ): string | null {
    this.begin(ruleId, sourceId, eventId, eventTimeSecs);
    for (const op of ops) {
      const problem = this.replayOne(op);
      if (problem !== null) {
        this.rollback();
        return `malformed rule-state op from the Python worker: ${problem}`;
      }
    }
    return null;
  }

  private replayOne(op: PyStateOp): string | null {
    const o = op as Partial<Record<string, unknown>>;
    const key = o.key;
    if (typeof key !== "string") return "key is not a string";
    const ruleId = this.ruleId;
    if (op.kind === "delete") {
      this.apply({ kind: "delete", ruleId, key });
      return null;
    }
    const exp = o.expiresAtSecs ?? null;
    if (exp !== null && !Number.isInteger(exp)) return `expiresAtSecs ${String(exp)} is not an integer`;
    const expiresAtSecs = exp as number | null;
    switch (op.kind) {
      case "put":
        if (typeof o.value !== "string") return "put without a string value";
        this.apply({ kind: "put", ruleId, key, value: o.value, expiresAtSecs });
        return null;
      case "increment":
        if (typeof o.by !== "number" || !Number.isFinite(o.by)) return "increment without a finite number";
        this.apply({ kind: "increment", ruleId, key, by: o.by, expiresAtSecs });
        return null;
      case "add_to_set":
        if (typeof o.member !== "string") return "add_to_set without a string member";
        this.apply({ kind: "add_to_set", ruleId, key, member: o.member, expiresAtSecs });
        return null;
      default:
        return `unknown op kind ${JSON.stringify(o.kind)}`;
    }
  }
}
