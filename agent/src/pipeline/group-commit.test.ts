import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.js';
import { validateConfig } from '../config/load.js';
import { KpiEngine } from '../kpi/engine.js';
import { decodeCheckpoint } from '../kpi/snapshot.js';
import { componentsOf } from '../kpi/windows.js';
import { Store } from '../store/store.js';
import { createPipeline, engineOptions } from '../wiring/pipeline-options.js';
import { GroupCommit } from './group-commit.js';
import { TICK_MS } from './ticker.js';

const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const M = 'p/l/m1';

class FlakyStore extends Store {
  failing = false;
  override transaction<T>(fn: () => T): T {
    if (this.failing) throw new Error('SQLITE_FULL: database or disk is full');
    return super.transaction(fn);
  }
}

function setup(opts: { intervalMs?: number; maxMessages?: number; store?: FlakyStore } = {}) {
  const cfg = validateConfig({ machines: [{ path: M, partMassKg: 1, signals: { parts_good: { kind: 'delta' } } }] });
  const store = opts.store ?? new FlakyStore({ path: ':memory:' });
  const clock = new VirtualClock(T0);
  // The pipeline calls the gate only from a commit, after both exist.
  const pipeline = createPipeline(cfg, store, clock, { onCommitting: (save) => gate.saveStates(save), onCommitted: () => gate.committed() });
  const gate = new GroupCommit({
    clock,
    intervalMs: opts.intervalMs ?? 100,
    maxMessages: opts.maxMessages ?? 5,
    commit: () => pipeline.commitNow(),
    restored: store.loadSourceStates(),
  });
  const released: number[] = [];
  gate.onCommitted(() => released.push(clock.now() - T0));
  let n = 0;
  /** One delta message of 1 part, held like an MQTT source holds a QoS 1 message. */
  const message = (): void => {
    pipeline.ingest([{ machine: M, signal: 'parts_good', value: 1, ts: T0 + n++, source: 't' }]);
    gate.hold();
  };
  /** Parts in the open windows of the saved checkpoint: what a restart would resume from. */
  const savedParts = (): number => {
    const cp = store.loadCheckpoint();
    if (cp === undefined) return 0;
    const engine = new KpiEngine(engineOptions(cfg));
    engine.restore(decodeCheckpoint(cp.state, cp.parts)!);
    return engine.takeAll().reduce((s, d) => s + (componentsOf(d.window, d.measured).parts_good ?? 0), 0);
  };
  return { store, clock, pipeline, gate, released, message, savedParts };
}

describe('group commit', () => {
  it('commits commitInterval after the first held message, and releases everything held before it', () => {
    const { clock, gate, released, message, savedParts } = setup();
    message(); // the new machine's first window is a baseline: it is saved at the next tick anyway
    clock.advance(60);
    message();
    message();
    expect(released).toEqual([]);
    expect(gate.waiting()).toBe(3);
    clock.advance(39);
    expect(released).toEqual([]);
    clock.advance(1);
    // 100 ms after the first held message, not after the last.
    expect(released).toEqual([100]);
    expect(savedParts()).toBe(3);
    expect(gate.waiting()).toBe(0);
    // Nothing held, nothing committed.
    clock.advance(1000);
    expect(released).toEqual([100]);
  });

  it('commits at once (on a timer, not inside hold) when commitMaxMessages are held', () => {
    const { clock, gate, released, message, savedParts } = setup({ maxMessages: 4 });
    for (let i = 0; i < 4; i++) message();
    // hold() does no I/O: the commit waits for the timer of 0 ms.
    expect(released).toEqual([]);
    expect(gate.waiting()).toBe(4);
    clock.advance(0);
    expect(released).toEqual([0]);
    expect(savedParts()).toBe(4);
  });

  it('a failed commit releases nothing; the held messages are committed and released once the store works again', () => {
    const { store, clock, pipeline, released, message, savedParts } = setup();
    store.failing = true;
    message();
    message();
    clock.advance(100);
    expect(released).toEqual([]);
    expect(pipeline.stats().failuresInRow).toBe(1);
    // The pipeline backs off (1 s after the first failure): the gate asks every interval, the store is not touched.
    message();
    clock.advance(500);
    expect(pipeline.stats().failuresInRow).toBe(1);
    store.failing = false;
    clock.advance(600);
    expect(released).toHaveLength(1);
    expect(released[0]).toBeGreaterThanOrEqual(1100);
    expect(released[0]).toBeLessThanOrEqual(1200);
    expect(savedParts()).toBe(3);
  });

  it('any successful commit releases what is held (the ticker\'s, an entry\'s), and commitNow commits at once', () => {
    const { clock, pipeline, gate, released, message, savedParts } = setup({ intervalMs: 10_000 });
    message();
    clock.advance(TICK_MS);
    // The first sample of a machine is a new baseline, which the next tick saves at once.
    pipeline.tick();
    expect(released).toEqual([TICK_MS]);
    message();
    expect(gate.commitNow()).toBe(true);
    expect(released).toEqual([TICK_MS, TICK_MS]);
    expect(savedParts()).toBe(2);
  });

  it('a source\'s state is saved with the commit that holds its messages, and the next run gets it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'yw-group-commit-'));
    try {
      const file = join(dir, 'yieldwatch.db');
      let store = new FlakyStore({ path: file });
      const first = setup({ store });
      let state = 'ids 1-2';
      expect(first.gate.persist('mqtt a', () => state)).toBeUndefined();
      first.message();
      first.message();
      first.clock.advance(100);
      expect(store.loadSourceStates()).toEqual(new Map([['mqtt a', 'ids 1-2']]));
      // A failed commit saves nothing; the state goes with the next commit that works.
      state = 'ids 1-3';
      store.failing = true;
      first.message();
      first.clock.advance(100);
      expect(store.loadSourceStates().get('mqtt a')).toBe('ids 1-2');
      store.failing = false;
      first.clock.advance(1100);
      expect(first.released).toHaveLength(2);
      expect(store.loadSourceStates().get('mqtt a')).toBe('ids 1-3');
      store.close();

      // The next run: the source is told what the last commit saved.
      store = new FlakyStore({ path: file });
      const second = setup({ store });
      expect(second.gate.persist('mqtt a', () => 'ids 9')).toBe('ids 1-3');
      expect(second.gate.persist('mqtt b', () => '')).toBeUndefined();
      second.message();
      second.clock.advance(100);
      expect(store.loadSourceStates()).toEqual(new Map([['mqtt a', 'ids 9'], ['mqtt b', '']]));
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('close() stops the timer', () => {
    const { clock, gate, released, message } = setup();
    message();
    gate.close();
    clock.advance(1000);
    expect(released).toEqual([]);
    message();
    clock.advance(1000);
    expect(released).toEqual([]);
  });
});
