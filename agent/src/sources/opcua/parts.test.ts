import { DataType, DataValue, StatusCodes, Variant } from 'node-opcua';
import { describe, expect, it } from 'vitest';
import { captureLogs } from '../../../../test/helpers/sources.js';
import { Backoff } from '../../core/backoff.js';
import { VirtualClock } from '../../core/clock.js';
import type { CommitGate } from '../../core/commit-gate.js';
import type { Sample } from '../../core/sample.js';
import { DataChanges } from './data-changes.js';
import type { Item } from './items.js';
import { RefusedItems } from './refusals.js';
import { nextState, type SessionEvent, type SessionState } from './session-state.js';
import { TrafficWatch } from './traffic-watch.js';

function item(machine: string, nodeId: string | undefined, browsePath?: string): Item {
  return { machine, signal: 'parts_good', reason: undefined, key: 'signals.parts_good', nodeId, browsePath, relativePath: undefined, samplingInterval: 100, queueSize: 10 };
}

/** Delays between the retries RefusedItems plans while an item stays refused. */
function retryDelays(refused: RefusedItems, clock: VirtualClock, n: number): number[] {
  const delays: number[] = [];
  for (let k = 0; k < n; k++) {
    const from = clock.now();
    refused.scheduleRetry();
    clock.set(refused.nextRetryAt - 1);
    expect(refused.takeDueRetry(), 'a retry before its time').toBe(false);
    clock.advance(1);
    expect(refused.takeDueRetry()).toBe(true);
    expect(refused.takeDueRetry(), 'a due retry is taken once').toBe(false);
    delays.push(clock.now() - from);
  }
  return delays;
}

describe('OPC UA session states', () => {
  const run = (events: SessionEvent[]): (SessionState | undefined)[] => {
    let state: SessionState = 'stopped';
    return events.map((e) => {
      const next = nextState(state, e);
      if (next !== undefined) state = next;
      return next;
    });
  };

  it('one build at a time: a second build, a late "built" or a stray "flowing" is ignored', () => {
    expect(run(['start', 'build', 'build', 'flowing', 'built', 'built'])).toEqual(['connecting', 'building', undefined, undefined, 'subscribed', undefined]);
  });

  it('a lost connection is restored by the first data or keep-alive; one lost during a build is left to the build', () => {
    expect(run(['start', 'build', 'built', 'connection_lost', 'flowing'])).toEqual(['connecting', 'building', 'subscribed', 'restoring', 'subscribed']);
    expect(run(['start', 'build', 'connection_lost', 'build_failed', 'flowing', 'build', 'built'])).toEqual(['connecting', 'building', 'building', 'backoff', undefined, 'building', 'subscribed']);
  });

  it('after stop nothing but start applies, whatever the state was', () => {
    for (const before of [['start'], ['start', 'build'], ['start', 'build', 'built'], ['start', 'build', 'built', 'connection_lost'], ['start', 'build', 'build_failed']] as SessionEvent[][]) {
      const states = run([...before, 'stop', 'build', 'built', 'connection_lost', 'flowing', 'build_failed']);
      expect(states.slice(before.length), before.join(',')).toEqual(['stopped', undefined, undefined, undefined, undefined, undefined]);
    }
  });
});

describe('OPC UA refused items', () => {
  it('are retried after 30 s, doubling up to 10 min, and the doubling starts over once every item is monitored', () => {
    const clock = new VirtualClock(1_000_000);
    const log = captureLogs();
    const refused = new RefusedItems([item('m1', 'ns=1;s=a'), item('m2', 'ns=1;s=missing')], clock, log.logger, 'opc.tcp://127.0.0.1:4840', 1000);
    refused.refuse(1, 'BadNodeIdUnknown');
    expect(retryDelays(refused, clock, 8)).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000, 600_000]);
    refused.clear();
    refused.scheduleRetry();
    expect(refused.nextRetryAt).toBe(Infinity);
    clock.advance(10_000_000);
    expect(refused.takeDueRetry()).toBe(false);
    refused.refuse(1, 'BadNodeIdUnknown');
    expect(retryDelays(refused, clock, 2)).toEqual([30_000, 60_000]);
  });

  it('never retry sooner than the longest reconnect delay', () => {
    const clock = new VirtualClock(0);
    const refused = new RefusedItems([item('m1', 'ns=1;s=missing')], clock, captureLogs().logger, 'opc.tcp://127.0.0.1:4840', 45_000);
    refused.refuse(0, 'BadNodeIdUnknown');
    expect(retryDelays(refused, clock, 3)).toEqual([45_000, 90_000, 180_000]);
  });

  it('a refusal is counted every time and logged once; health is degraded while some items work and down when none do', () => {
    const clock = new VirtualClock(0);
    const log = captureLogs();
    const items = [item('m1', 'ns=1;s=a'), item('m2', 'ns=1;s=missing')];
    const refused = new RefusedItems(items, clock, log.logger, 'opc.tcp://127.0.0.1:4840', 1000);
    expect(refused.health().status).toBe('ok');
    refused.refuse(1, 'BadNodeIdUnknown');
    refused.clear();
    refused.refuse(1, 'BadNodeIdUnknown');
    expect(refused.count).toBe(2);
    const errors = log.lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/refused NodeId ns=1;s=missing \(machine m2, signal parts_good\): BadNodeIdUnknown/);
    expect(refused.health()).toMatchObject({ status: 'degraded', reason: 'the server refused 1 of 2 monitored items: m2 parts_good NodeId ns=1;s=missing: BadNodeIdUnknown' });
    refused.refuse(0, 'BadUserAccessDenied');
    expect(refused.health().status).toBe('down');
  });

  it('re-reading after node-opcua re-created the items keeps unresolved browse paths, adds new refusals and drops the healed ones', () => {
    const clock = new VirtualClock(0);
    const log = captureLogs();
    const items = [item('m1', 'ns=1;s=a'), item('m2', undefined, '/Objects/1:Nowhere'), item('m3', 'ns=1;s=c')];
    const refused = new RefusedItems(items, clock, log.logger, 'opc.tcp://127.0.0.1:4840', 1000);
    refused.refuse(1, 'BadNoMatch');
    refused.refuse(0, 'BadNodeIdUnknown');
    refused.reread([[2, 'BadNodeIdUnknown']]);
    expect(refused.health().details?.refused).toEqual(['m2 parts_good browse path /Objects/1:Nowhere: BadNoMatch', 'm3 parts_good NodeId ns=1;s=c: BadNodeIdUnknown']);
    expect(refused.count).toBe(3);
  });
});

describe('OPC UA traffic watch', () => {
  it('a subscription is silent only after the limit has passed with neither a data change nor a keep-alive', () => {
    const clock = new VirtualClock(10_000);
    const watch = new TrafficWatch(clock, 5000);
    watch.active();
    clock.advance(4999);
    expect(watch.silentFor(0)).toBeUndefined();
    clock.advance(1);
    expect(watch.silentFor(0)).toBe(5000);
    clock.advance(1000);
    expect(watch.silentFor(1), 'a data change since the last look').toBeUndefined();
    clock.advance(4999);
    expect(watch.silentFor(1)).toBeUndefined();
    clock.advance(1);
    expect(watch.silentFor(1)).toBe(5000);
    watch.active();
    expect(watch.silentFor(1), 'a keep-alive').toBeUndefined();
    watch.forget();
    expect(watch.everActive).toBe(false);
    expect(watch.silentFor(1)).toBeGreaterThanOrEqual(5000);
  });
});

describe('Backoff', () => {
  it('doubles per failure in a row up to its cap, and starts over after a success', () => {
    const b = new Backoff(200, 1000);
    expect([b.fail(), b.fail(), b.fail(), b.fail(), b.fail()]).toEqual([200, 400, 800, 1000, 1000]);
    expect(b.failuresInRow).toBe(5);
    b.reset();
    expect(b.fail()).toBe(200);
  });
});

describe('OPC UA data changes', () => {
  it('every delivered value waits for a commit (a crash loses at most kpi.commitInterval); a rejected one does not', () => {
    const { logger } = captureLogs();
    const data = new DataChanges('ua', logger, new VirtualClock(0), 60_000);
    const got: Sample[] = [];
    let holds = 0;
    const commits: CommitGate = { hold: () => void holds++, commitNow: () => true, onCommitted: () => () => undefined, persist: () => undefined };
    data.sink = { samples: (b) => void got.push(...b), reject: () => undefined, commits };
    const good = item('p/l/m1', 'ns=1;s=Good');
    const at = new Date(1_767_225_600_000);
    data.accept(good, new DataValue({ value: new Variant({ dataType: DataType.UInt32, value: 7 }), sourceTimestamp: at, statusCode: StatusCodes.Good }));
    data.accept(good, new DataValue({ value: new Variant({ dataType: DataType.UInt32, value: 8 }), sourceTimestamp: at, statusCode: StatusCodes.BadSensorFailure }));
    expect(got.map((x) => x.value)).toEqual([7]);
    expect(holds).toBe(1);
    // Without a gate (tests, replay) nothing waits.
    data.sink = { samples: (b) => void got.push(...b), reject: () => undefined };
    data.accept(good, new DataValue({ value: new Variant({ dataType: DataType.UInt32, value: 9 }), sourceTimestamp: at, statusCode: StatusCodes.Good }));
    expect(got.map((x) => x.value)).toEqual([7, 9]);
  });
});
