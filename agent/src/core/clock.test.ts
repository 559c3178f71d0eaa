import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock.js';

describe('VirtualClock timers', () => {
  it('fires timers in due order as time moves, each seeing its own due time', () => {
    const clock = new VirtualClock(1000);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 200);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 100);
    const cancelled = clock.setTimeout(() => seen.push('never'), 150);
    clock.clearTimer(cancelled);
    clock.set(1150);
    expect(seen).toEqual(['a@1100']);
    clock.advance(1000);
    expect(seen).toEqual(['a@1100', 'b@1200']);
    expect(clock.now()).toBe(2150);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('repeats interval timers until cleared, and a timer set by a timer fires in the same move', () => {
    const clock = new VirtualClock(0);
    const ticks: number[] = [];
    const every = clock.setInterval(() => ticks.push(clock.now()), 250);
    clock.setTimeout(() => clock.setTimeout(() => ticks.push(-clock.now()), 100), 300);
    clock.set(1000);
    expect(ticks).toEqual([250, -400, 500, 750, 1000]);
    clock.clearTimer(every);
    clock.advance(1000);
    expect(ticks).toHaveLength(5);
  });

  it('never moves back', () => {
    const clock = new VirtualClock(500);
    clock.set(100);
    expect(clock.now()).toBe(500);
  });
});
