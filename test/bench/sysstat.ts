/**
 * Who else used the CPU during a run (Linux /proc only; elsewhere everything is undefined).
 * The bench shares two cores between broker, publisher and consumer; anything else busy at the
 * same time (a test run, a build) skews the numbers, so every run reports how many cores other
 * processes used while the load ran.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;
function clkTck(): number {
  if (ticksPerSecond === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(out.stdout?.trim());
    ticksPerSecond = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

interface ProcStat {
  ppid: number;
  cpuUs: number;
}

/** pid → parent and user + system CPU (µs) of every process; empty when /proc is not there. */
function allProcesses(): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  const k = 1e6 / clkTck();
  for (const d of pids) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // Field 2 (comm) may hold spaces and parentheses: count fields after its closing parenthesis.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), { ppid: Number(f[1]), cpuUs: (Number(f[11]) + Number(f[12])) * k });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** CPU of the whole machine in µs: time in user and system mode, and time in interrupts (loopback networking). */
export function machineCpuUs(): { process: number; irq: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).map(Number);
    const k = 1e6 / clkTck();
    return { process: (user! + nice! + system!) * k, irq: (irq! + softirq!) * k };
  } catch {
    return undefined;
  }
}

/** A snapshot of the machine and of our own processes (`root` and its descendants), to diff at the end of a run. */
export interface CpuSnapshot {
  at: number;
  machine: { process: number; irq: number } | undefined;
  /** CPU (µs) of `root` and every process descending from it. */
  ours: Map<number, number>;
}

export function snapshot(root: number): CpuSnapshot {
  const all = allProcesses();
  const ours = new Map<number, number>();
  const isOurs = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === root) return true;
      const s = all.get(p);
      if (s === undefined) return false;
      p = s.ppid;
    }
    return false;
  };
  for (const [pid, s] of all) if (isOurs(pid)) ours.set(pid, s.cpuUs);
  return { at: performance.now(), machine: machineCpuUs(), ours };
}

export interface CpuAccount {
  /** Cores used by processes other than ours (the runner and its children: consumer, load generator, broker). */
  otherCores: number | undefined;
  /** Cores spent in interrupts and softirqs (mostly loopback TCP). */
  irqCores: number | undefined;
  /** CPU of each of our processes over the window, µs (a process that started meanwhile counts from 0). */
  ours: Map<number, number>;
}

/** CPU used between two snapshots; processes of ours that exited in between are not counted (take `end` before they exit). */
export function account(start: CpuSnapshot, end: CpuSnapshot): CpuAccount {
  const ours = new Map<number, number>();
  let oursUs = 0;
  for (const [pid, us1] of end.ours) {
    const d = us1 - (start.ours.get(pid) ?? 0);
    ours.set(pid, d);
    oursUs += d;
  }
  const seconds = (end.at - start.at) / 1000;
  if (start.machine === undefined || end.machine === undefined || seconds <= 0) return { otherCores: undefined, irqCores: undefined, ours };
  const busy = end.machine.process - start.machine.process;
  return {
    otherCores: Math.max(0, (busy - oursUs) / 1e6 / seconds),
    irqCores: (end.machine.irq - start.machine.irq) / 1e6 / seconds,
    ours,
  };
}
