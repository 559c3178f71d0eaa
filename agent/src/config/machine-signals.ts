import { SUMMED_SIGNALS, type SummedSignal } from '../core/signals.js';
import type { Config, SignalConfig } from './schema.js';
import { sourceMappings } from './source-mappings.js';

/** A declared signal of a machine that no source maps. */
export interface NotMeasured {
  signal: SummedSignal;
  /** Where it is declared: `machineDefaults.signals`, or the machine's own `machines[<i>].signals`. */
  declaredIn: string;
}

/** What one machine measures of what it declares. */
export interface MachineSignals {
  /** Declared signals (its own over `machineDefaults`) that a source maps for it: these are measured, a window with no increment holds 0. */
  measured: Partial<Record<SummedSignal, SignalConfig>>;
  /** Declared signals no source maps for it, in canonical order: absent from its windows, never 0 (agent/src/kpi/README.md, "Measured signals"). */
  notMeasured: NotMeasured[];
}

/**
 * Each configured machine's signals: its own `signals` over `machineDefaults.signals`, split into
 * those some source maps for it and those none does. A declared signal that nothing reads would
 * otherwise be summed as a measured 0 and turn into a yield of 0 or a loss of 0 kg.
 *
 * A config without any source measures every declared signal: its samples come from a program
 * that embeds the pipeline (tests, a history import), which this file cannot see.
 */
export function machineSignals(cfg: Pick<Config, 'machines' | 'machineDefaults' | 'sources'>): Map<string, MachineSignals> {
  const mappings = sourceMappings(cfg.sources);
  const out = new Map<string, MachineSignals>();
  cfg.machines.forEach((m, i) => {
    const reading = mappings.filter((x) => x.reads(m.path));
    const mapped = new Set(reading.flatMap((x) => x.signals));
    const measured: MachineSignals['measured'] = {};
    const notMeasured: NotMeasured[] = [];
    for (const name of SUMMED_SIGNALS) {
      const own = m.signals?.[name];
      const s = own ?? cfg.machineDefaults.signals[name];
      if (s === undefined) continue;
      if (cfg.sources.length === 0 || mapped.has(name)) measured[name] = s;
      else notMeasured.push({ signal: name, declaredIn: own !== undefined ? `machines[${i}].signals` : 'machineDefaults.signals' });
    }
    out.set(m.path, { measured, notMeasured });
  });
  return out;
}
