import type { Config } from './schema.js';

/**
 * Settings that are valid but risky, as sentences naming the keys: the agent logs them at start
 * and `check-config` prints them.
 */
export function configWarnings(cfg: Config): string[] {
  const out: string[] = [];
  const unguarded = cfg.machines.flatMap((m) =>
    Object.entries({ ...cfg.machineDefaults.signals, ...m.signals })
      .filter(([, s]) => s?.kind === 'counter' && s.maxRatePerSecond === undefined)
      .map(([name]) => `${m.path} ${name}`),
  );
  cfg.sources.forEach((s, i) => {
    if (s.type !== 'mqtt') return;
    s.topics.forEach((t, j) => {
      if (t.timestamp !== undefined || unguarded.length === 0) return;
      out.push(
        `sources[${i}].topics[${j}] (${t.topic}) has no timestamp, and counters without maxRatePerSecond (${unguarded.slice(0, 3).join(', ')}${unguarded.length > 3 ? ', ...' : ''}) ` +
          'cannot tell a redelivered old reading from a counter reset: map timestamp.field, or set maxRatePerSecond.',
      );
    });
  });
  return out;
}
