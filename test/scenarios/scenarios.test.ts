import { describe, expect, it } from 'vitest';
import { aggregateToJson } from '../../agent/src/core/aggregate.js';
import { validateConfig } from '../../agent/src/config/load.js';
import { replay } from '../../agent/src/replay.js';
import { diffWindows, expectedWindows, loadScenario, scenarioConfig, scenarioMessages, scenarioNames } from '../helpers/scenario.js';

describe('reference scenarios replayed through the pipeline', () => {
  const names = scenarioNames();
  it('finds the reference scenarios', () => {
    expect(names).toEqual(expect.arrayContaining(['basic', 'glitches', 'late-dup-skew', 'resets-rollover']));
  });

  for (const name of names) {
    it(`${name}: every window and the data-quality totals match`, () => {
      const s = loadScenario(name);
      const cfg = validateConfig(scenarioConfig(s));
      const res = replay(cfg, scenarioMessages(s));
      const problems = diffWindows(res.aggregates.map(aggregateToJson), expectedWindows(s));
      expect(problems.slice(0, 20)).toEqual([]);
      const stats: Record<string, number> = {};
      for (const k of Object.keys(s.expected.stats)) stats[k] = (res.stats as unknown as Record<string, number>)[k]!;
      expect(stats).toEqual(s.expected.stats);
      expect(res.stats.rejected.size).toBe(0);
    });
  }
});
