import { pino, type Logger } from 'pino';
import type { SampleSink } from '../../agent/src/core/plugin.js';
import type { Sample } from '../../agent/src/core/sample.js';

/** A logger whose JSON lines are kept, to assert what an operator would read. */
export function captureLogs(level = 'debug'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

/** A sink that keeps copies of every sample and rejection (sources reuse their arrays), optionally passing them on. */
export class CollectingSink implements SampleSink {
  readonly got: Sample[] = [];
  readonly rejects: [string, string | undefined][] = [];
  constructor(private readonly next?: SampleSink) {}
  samples(batch: readonly Sample[]): void {
    for (const s of batch) this.got.push({ ...s });
    this.next?.samples(batch);
  }
  reject(reason: string, machine?: string): void {
    this.rejects.push([reason, machine]);
    this.next?.reject(reason, machine);
  }
  /** The latest sample of one machine's signal. */
  last(machine: string, signal: string): Sample | undefined {
    for (let i = this.got.length - 1; i >= 0; i--) if (this.got[i]!.machine === machine && this.got[i]!.signal === signal) return this.got[i];
    return undefined;
  }
}
