/** Event time (agent/src/kpi/README.md "Event time"): boundaries of skew and correction horizon. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyEventTime, EVENT_TIME_MISSING, EVENT_TIME_OK, EVENT_TIME_SKEWED, EVENT_TIME_TOO_LATE, type EventTimeLimits } from './event-time.js';

const DEFAULTS: EventTimeLimits = { maxFutureSkewMs: 5 * 60_000, correctionHorizonMs: 24 * 3_600_000 };
const NOW = Date.UTC(2026, 0, 1, 12);

describe('classifyEventTime', () => {
  it('missing timestamp -> arrival time', () => {
    expect(classifyEventTime(undefined, NOW, DEFAULTS)).toBe(EVENT_TIME_MISSING);
  });

  it('exactly maxFutureSkew ahead is trusted; 1 ms more is skewed', () => {
    expect(classifyEventTime(NOW + 300_000, NOW, DEFAULTS)).toBe(EVENT_TIME_OK);
    expect(classifyEventTime(NOW + 300_001, NOW, DEFAULTS)).toBe(EVENT_TIME_SKEWED);
  });

  it('exactly correctionHorizon old is trusted; 1 ms older is too late', () => {
    expect(classifyEventTime(NOW - 86_400_000, NOW, DEFAULTS)).toBe(EVENT_TIME_OK);
    expect(classifyEventTime(NOW - 86_400_001, NOW, DEFAULTS)).toBe(EVENT_TIME_TOO_LATE);
  });

  it('the arrival time itself and anything between the limits is trusted', () => {
    expect(classifyEventTime(NOW, NOW, DEFAULTS)).toBe(EVENT_TIME_OK);
    expect(classifyEventTime(NOW - 1, NOW, DEFAULTS)).toBe(EVENT_TIME_OK);
    expect(classifyEventTime(NOW + 1, NOW, DEFAULTS)).toBe(EVENT_TIME_OK);
  });

  it('zero limits: only the exact arrival time is trusted', () => {
    const zero = { maxFutureSkewMs: 0, correctionHorizonMs: 0 };
    expect(classifyEventTime(NOW, NOW, zero)).toBe(EVENT_TIME_OK);
    expect(classifyEventTime(NOW + 1, NOW, zero)).toBe(EVENT_TIME_SKEWED);
    expect(classifyEventTime(NOW - 1, NOW, zero)).toBe(EVENT_TIME_TOO_LATE);
  });

  it('matches the rule for any offset and any limits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10 * 86_400_000, max: 10 * 86_400_000 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.integer({ min: 0, max: 7 * 86_400_000 }),
        fc.integer({ min: 0, max: 4e12 }),
        (offset, skew, horizon, arrival) => {
          const v = classifyEventTime(arrival + offset, arrival, { maxFutureSkewMs: skew, correctionHorizonMs: horizon });
          const expected = offset > skew ? EVENT_TIME_SKEWED : -offset > horizon ? EVENT_TIME_TOO_LATE : EVENT_TIME_OK;
          expect(v).toBe(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });

  // The KPI method: the payload's timestamp is used unless it is missing. NaN is no timestamp. A
  // source that hands one over (any but the MQTT mapper, which rejects non-finite ones) gets
  // event time NaN: the sample opens window NaN, which never becomes due (takeDue compares
  // NaN <= now), makes flushAll's commit fail (NOT NULL aggregates.window_start), and once
  // checkpointed (start: null in JSON) fails every commit after a restart.
  it('a non-finite timestamp (NaN) is not trusted as event time', () => {
    expect(classifyEventTime(Number.NaN, NOW, DEFAULTS)).not.toBe(EVENT_TIME_OK);
  });

  it('infinite timestamps are not trusted', () => {
    expect(classifyEventTime(Number.POSITIVE_INFINITY, NOW, DEFAULTS)).toBe(EVENT_TIME_SKEWED);
    expect(classifyEventTime(Number.NEGATIVE_INFINITY, NOW, DEFAULTS)).toBe(EVENT_TIME_TOO_LATE);
  });
});
