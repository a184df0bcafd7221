import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of a process's threads, from Linux's per-thread scheduler statistics: nanoseconds on a CPU, split into
 * the process's main thread and all its other threads (worker threads such as the SQLite writer, V8's compiler and
 * garbage-collection helpers, libuv's pool). Null where /proc is not there (not Linux) or the process is gone.
 */
export interface ProcessCpu {
  mainNs: number;
  threadsNs: number;
}

function readNs(path: string): number | null {
  try {
    // schedstat: "<ns on a CPU> <ns waiting on a run queue> <timeslices>"
    const ns = Number(readFileSync(path, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns : null;
  } catch {
    return null;
  }
}

export function processCpu(pid: number | undefined): ProcessCpu | null {
  if (pid === undefined) return null;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let mainNs = 0;
  let threadsNs = 0;
  for (const tid of tids) {
    const ns = readNs(`/proc/${pid}/task/${tid}/schedstat`);
    if (ns === null) continue;
    if (Number(tid) === pid) mainNs = ns;
    else threadsNs += ns;
  }
  return { mainNs, threadsNs };
}

/** CPU used between two readings of the same processes, in microseconds per unit of work (e.g. per delivery). */
export function cpuPerUnit(
  before: Array<ProcessCpu | null>,
  after: Array<ProcessCpu | null>,
  units: number,
): { mainUs: number; threadsUs: number } | null {
  if (units <= 0 || before.length !== after.length) return null;
  let main = 0;
  let threads = 0;
  for (const [i, b] of before.entries()) {
    const a = after[i];
    if (b === null || a === null || a === undefined) return null;
    main += a.mainNs - b.mainNs;
    threads += a.threadsNs - b.threadsNs;
  }
  return { mainUs: Math.round(main / units / 100) / 10, threadsUs: Math.round(threads / units / 100) / 10 };
}

/**
 * CPU time, in ns, of every process whose command name starts with `prefix` (e.g. "postgres": the server and its
 * backends). Processes that come or go between two readings make the difference approximate; null off Linux.
 */
export function commandCpuNs(prefix: string): number | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  let total = 0;
  for (const pid of pids) {
    let comm: string;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8');
    } catch {
      continue;
    }
    if (!comm.startsWith(prefix)) continue;
    const cpu = processCpu(Number(pid));
    if (cpu !== null) total += cpu.mainNs + cpu.threadsNs;
  }
  return total;
}
