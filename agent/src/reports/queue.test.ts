import { describe, expect, it } from 'vitest';
import { reportQueue, ReportBusyError } from './queue.js';

describe('the report queue', () => {
  it('makes one report at a time, in order, and a failure does not stop the next', async () => {
    const run = reportQueue(4);
    const log: string[] = [];
    let release!: () => void;
    const first = run(async () => {
      log.push('a start');
      await new Promise<void>((r) => (release = r));
      log.push('a end');
      return 'a';
    });
    const second = run(async () => {
      log.push('b start');
      throw new Error('b failed');
    });
    const third = run(async () => 'c');
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['a start']);
    release();
    expect(await first).toBe('a');
    await expect(second).rejects.toThrow('b failed');
    expect(await third).toBe('c');
    expect(log).toEqual(['a start', 'a end', 'b start']);
  });

  it('refuses a report beyond the ones that may wait, and takes one again once they are made', async () => {
    const run = reportQueue(2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const running = run(() => gate);
    const queued = [run(async () => 1), run(async () => 2)];
    await expect(run(async () => 3)).rejects.toBeInstanceOf(ReportBusyError);
    release();
    await running;
    expect(await Promise.all(queued)).toEqual([1, 2]);
    expect(await run(async () => 4)).toBe(4);
  });
});
