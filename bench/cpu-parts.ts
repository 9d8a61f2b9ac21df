// Where a run's CPU went, by part of the machine: this process's event loop and its other threads (the writer
// thread, the garbage collector's helpers, libuv's pool), the database server, the kernel's workers (they write
// the page cache back to disk), the child processes (the simulator, Python rule workers) and the rest. Read from
// Linux's /proc, which counts every thread's time in clock ticks (100 a second); null elsewhere.

import { existsSync, readdirSync, readFileSync } from "node:fs";

const PARTS = ["event loop", "other threads", "database server", "kernel workers", "children", "other"] as const;

export type CpuPart = (typeof PARTS)[number];

/** A thread's name, parent process and CPU ticks from its stat line (the name may hold spaces and parentheses). */
function readStat(path: string): { name: string; ppid: number; ticks: number } | null {
  try {
    const line = readFileSync(path, "utf8");
    const close = line.lastIndexOf(")");
    const name = line.slice(line.indexOf("(") + 1, close);
    // After the name: state, ppid, … utime is the 12th field and stime the 13th.
    const fields = line.slice(close + 2).split(" ");
    return { name, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null; // the thread ended meanwhile
  }
}

function partOf(pid: number, tid: number, name: string, ppid: number): CpuPart {
  if (pid === process.pid) return tid === pid ? "event loop" : "other threads";
  if (name === "postgres") return "database server";
  if (name.startsWith("kworker")) return "kernel workers";
  if (ppid === process.pid) return "children";
  return "other";
}

/** CPU seconds of every thread so far, summed by part; null where /proc is not there. */
export function cpuByPart(): Map<CpuPart, number> | null {
  if (!existsSync("/proc/self/task")) return null;
  const secs = new Map<CpuPart, number>(PARTS.map((p) => [p, 0]));
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const owner = readStat(`/proc/${pid}/stat`);
    if (owner === null) continue;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const thread = readStat(`/proc/${pid}/task/${tid}/stat`);
      if (thread === null) continue;
      const part = partOf(pid, Number(tid), thread.name, owner.ppid);
      secs.set(part, (secs.get(part) ?? 0) + thread.ticks / 100);
    }
  }
  return secs;
}

/** Each part's cores over `wallSecs` between two readings (1 = one core all the time), largest first. */
export function coresByPart(
  before: Map<CpuPart, number>,
  after: Map<CpuPart, number>,
  wallSecs: number,
): Array<[CpuPart, number]> {
  return PARTS.map((p): [CpuPart, number] => [p, ((after.get(p) ?? 0) - (before.get(p) ?? 0)) / wallSecs]).sort(
    (a, b) => b[1] - a[1],
  );
}
