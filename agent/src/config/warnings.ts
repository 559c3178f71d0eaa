import { machineSignals } from './machine-signals.js';
import type { Config } from './schema.js';
import { LEARN_MIN_MS, LEARN_MIN_SPANS, LEARNED_FACTOR } from '../kpi/counter-delta.js';

/** The counters a product's cycle time gives a limit. */
const PART_COUNTERS: readonly string[] = ['parts_total', 'parts_good', 'parts_scrap', 'parts_rework'];

/**
 * Settings that are valid but risky, as sentences naming the keys: the agent logs them at start
 * and `check-config` prints them.
 */
export function configWarnings(cfg: Config): string[] {
  const out: string[] = [];
  const signals = machineSignals(cfg);
  const ceiling = cfg.kpi.counterRateCeiling;
  // Counters whose only limit is the one they learn (and the ceiling while they learn): no hand-set limit, no cycle time.
  const learnedOnly = new Map<string, string[]>();
  for (const m of cfg.machines) {
    const cycle = m.product === undefined ? undefined : cfg.products[m.product]?.cycleTime;
    for (const [name, s] of Object.entries(signals.get(m.path)!.measured)) {
      if (s.kind !== 'counter') continue;
      if (s.maxRatePerSecond !== undefined) {
        if (s.maxRatePerSecond > ceiling) {
          out.push(`${m.path} ${name}: maxRatePerSecond ${s.maxRatePerSecond} is above kpi.counterRateCeiling (${ceiling}/s), which holds every counter: raise the ceiling if the machine truly counts that fast.`);
        }
        continue;
      }
      if (cycle !== undefined && PART_COUNTERS.includes(name)) continue;
      const list = learnedOnly.get(m.path);
      if (list === undefined) learnedOnly.set(m.path, [name]);
      else list.push(name);
    }
  }
  const unguarded = [...learnedOnly].flatMap(([path, names]) => names.map((name) => `${path} ${name}`));
  for (const [path, names] of learnedOnly) {
    out.push(
      `${path} ${names.join(', ')} ${names.length > 1 ? 'run' : 'runs'} without a set rate limit: an implausible jump is caught only by the ceiling (kpi.counterRateCeiling, ${ceiling}/s) until the counter learned its rate ` +
        `(${LEARN_MIN_SPANS} spans with production over ${LEARN_MIN_MS / 60_000} min), then by ${LEARNED_FACTOR} x its peak rate. Set maxRatePerSecond on the signal, or a cycleTime on the machine's product (part counters).`,
    );
  }
  cfg.sources.forEach((s, i) => {
    if (s.type !== 'mqtt') return;
    s.topics.forEach((t, j) => {
      if (t.timestamp !== undefined || unguarded.length === 0) return;
      out.push(
        `sources[${i}].topics[${j}] (${t.topic}) has no timestamp, and counters without a set rate limit (${unguarded.slice(0, 3).join(', ')}${unguarded.length > 3 ? ', ...' : ''}) ` +
          'tell a redelivered old reading from a counter reset only by their learned limit (the ceiling while they learn): a reading that passes it counts its whole value as a reset. Map timestamp.field, or set maxRatePerSecond or the product\'s cycleTime.',
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
