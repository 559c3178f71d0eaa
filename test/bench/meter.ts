/**
 * The consumers' stopwatch: CPU, wall time and memory from the first to the last expected
 * message, measured inside the consumer process. Identical in both consumers; the per-message
 * cost is one call and an increment.
 *
 * When messages are lost the last expected one never comes: after the runner's `drain` the meter
 * waits until nothing arrived for `IDLE_MS` and ends the span at the last sample (taken every
 * `SAMPLE_MS` while messages keep coming), so the idle wait is not counted.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import type { ConsumerResult, ReadyMessage } from './common.js';

const SAMPLE_MS = 100;
const IDLE_MS = 1500;
/** Without a single message this long after `drain`, the run is reported as empty. */
const NOTHING_MS = 10_000;

interface Snapshot {
  t: number;
  cpu: NodeJS.CpuUsage;
  n: number;
  mem: NodeJS.MemoryUsage;
}

export type Measured = Omit<ConsumerResult, 'type' | 'consumer' | 'rejected' | 'totals' | 'notes'>;

export class Meter {
  received = 0;
  private t0 = 0;
  private cpu0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private last: Snapshot | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private done = false;
  private readonly finished: Promise<Measured>;
  private finish!: (m: Measured) => void;
  private rssAtReady = 0;
  private session: Session | undefined;
  private profileFile: string | undefined;
  private gcMs = 0;
  private gcCount = 0;
  private gcObserver: PerformanceObserver | undefined;

  /**
   * @param expected messages the load generator sends
   * @param profileFile when set, a V8 CPU profile of exactly the measured span is written there
   *   (the profiler costs CPU: such runs are for finding hot spots, not for the numbers)
   */
  /**
   * @param span called at the first and at the last message of the span (outside the hot path;
   *   the yieldwatch consumer counts its commits and disk writes there)
   */
  constructor(
    private readonly expected: number,
    profileFile?: string,
    private readonly span?: { begin(): void; end(): void },
  ) {
    this.finished = new Promise((res) => (this.finish = res));
    this.profileFile = profileFile;
    if (profileFile !== undefined) {
      this.session = new Session();
      this.session.connect();
      this.session.post('Profiler.enable');
      this.session.post('Profiler.setSamplingInterval', { interval: 200 });
    }
  }

  /** Tells the runner the consumer is subscribed; call once. */
  ready(): void {
    this.rssAtReady = process.memoryUsage.rss();
    const msg: ReadyMessage = { type: 'ready', rssAtReady: this.rssAtReady };
    process.send?.(msg);
  }

  /** Hot path: one message arrived (accepted or rejected). */
  hit(): void {
    const n = ++this.received;
    if (n === 1) this.begin();
    if (n === this.expected) this.end(undefined);
  }

  /** The load generator is done: end the span at the last message if it does not end by itself. */
  drain(): void {
    const started = performance.now();
    const check = (): void => {
      if (this.done) return;
      const last = this.last;
      const quietFor = last === undefined ? performance.now() - started : performance.now() - last.t;
      if (this.received > 0 && last !== undefined && quietFor >= IDLE_MS && last.n === this.received) this.end(last);
      else if (this.received === 0 && quietFor >= NOTHING_MS) this.end(undefined);
      else setTimeout(check, SAMPLE_MS).unref();
    };
    setTimeout(check, SAMPLE_MS).unref();
  }

  result(): Promise<Measured> {
    return this.finished;
  }

  private begin(): void {
    if (this.session !== undefined) this.session.post('Profiler.start');
    this.span?.begin();
    this.t0 = performance.now();
    this.cpu0 = process.cpuUsage();
    // Pauses of the main thread for garbage collection during the span (all kinds).
    this.gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.gcMs += e.duration;
        this.gcCount++;
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
    this.sampler = setInterval(() => {
      if (this.last === undefined || this.last.n !== this.received) {
        this.last = { t: performance.now(), cpu: process.cpuUsage(), n: this.received, mem: process.memoryUsage() };
      }
    }, SAMPLE_MS);
  }

  /** Ends the span now (`at` undefined) or at an earlier snapshot. */
  private end(at: Snapshot | undefined): void {
    if (this.done) return;
    this.done = true;
    const now: Snapshot = at ?? { t: performance.now(), cpu: process.cpuUsage(), n: this.received, mem: process.memoryUsage() };
    const maxRss = process.resourceUsage().maxRSS * 1024;
    this.span?.end();
    if (this.sampler !== undefined) clearInterval(this.sampler);
    this.gcObserver?.disconnect();
    const measured: Measured = {
      received: now.n,
      wallMs: this.received === 0 ? 0 : now.t - this.t0,
      cpuUserUs: now.cpu.user - this.cpu0.user,
      cpuSystemUs: now.cpu.system - this.cpu0.system,
      maxRss,
      rssAtReady: this.rssAtReady,
      heapUsed: now.mem.heapUsed,
      heapTotal: now.mem.heapTotal,
      external: now.mem.external,
      arrayBuffers: now.mem.arrayBuffers,
      complete: now.n === this.expected,
      gcMs: this.gcMs,
      gcCount: this.gcCount,
    };
    const session = this.session;
    if (session === undefined || this.received === 0) {
      this.finish(measured);
      return;
    }
    session.post('Profiler.stop', (err, res) => {
      if (!err && this.profileFile !== undefined) {
        writeFileSync(this.profileFile, JSON.stringify(res.profile));
        measured.profile = this.profileFile;
      }
      session.disconnect();
      this.finish(measured);
    });
  }
}
