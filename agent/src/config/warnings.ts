import { machineSignals } from './machine-signals.js';
import type { Config } from './schema.js';

/**
 * Settings that are valid but risky, as sentences naming the keys: the agent logs them at start
 * and `check-config` prints them.
 */
export function configWarnings(cfg: Config): string[] {
  const out: string[] = [];
  const signals = machineSignals(cfg);
  const unguarded = cfg.machines.flatMap((m) =>
    Object.entries(signals.get(m.path)!.measured)
      .filter(([, s]) => s.kind === 'counter' && s.maxRatePerSecond === undefined)
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
  // Valid, since machineDefaults may declare more than a machine has; but nothing will ever count it there.
  for (const [path, { notMeasured }] of signals) {
    for (const { signal, declaredIn } of notMeasured) {
      const inherited = declaredIn === 'machineDefaults.signals';
      out.push(
        `${path} declares ${signal} (${inherited ? 'inherited from' : 'in'} ${declaredIn}), but no source maps it for this machine: ` +
          'it is not measured, and the KPIs that need it are absent from its windows. ' +
          (inherited ? 'Map it in a source if the machine has it, or declare it only on the machines that have it.' : `Map it in a source, or remove it from ${declaredIn}.`),
      );
    }
  }
  return out;
}
