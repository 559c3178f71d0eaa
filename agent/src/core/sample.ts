import type { SignalName } from './signals.js';

/**
 * One value of one signal of one machine, as a source read it (agent/ARCHITECTURE.md, "Contracts").
 * `ts` is the machine's own timestamp in epoch ms, or undefined when the message had none;
 * the KPI core turns it into event time against the agent's clock.
 */
export interface Sample {
  machine: string;
  signal: SignalName;
  value: number | string;
  ts: number | undefined;
  /** Sequence number or message id of the message, for de-duplicating `delta` signals. */
  seq?: number | undefined;
  /**
   * The scrap reason a `parts_scrap` value belongs to, when the machine counts scrap per reason
   * (one counter, or one event, per reason code); each reason is then its own counter.
   */
  reason?: string | undefined;
  source: string;
}

/** ISA-95 machine path: `site/area/line/machine` or `site/line/machine`. */
export interface MachineRef {
  site: string;
  area?: string | undefined;
  line: string;
  machine: string;
}

export function parseMachinePath(path: string): MachineRef | undefined {
  const parts = path.split('/');
  if (parts.some((p) => p.length === 0)) return undefined;
  if (parts.length === 3) return { site: parts[0]!, line: parts[1]!, machine: parts[2]! };
  if (parts.length === 4) return { site: parts[0]!, area: parts[1]!, line: parts[2]!, machine: parts[3]! };
  return undefined;
}
