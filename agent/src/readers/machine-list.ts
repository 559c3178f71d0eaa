import type { MachineInfo } from '../api/contract.js';
import { machineSignals } from '../config/machine-signals.js';
import type { Config } from '../config/schema.js';
import { parseMachinePath } from '../core/sample.js';

type Targets = Config['machineDefaults']['targets'];

function targetsJson(t: NonNullable<Targets> | Record<string, never>): MachineInfo['targets'] {
  const v = t as NonNullable<Targets>;
  if (v.yield === undefined && v.scrapRate === undefined) return undefined;
  return { ...(v.yield !== undefined ? { yield: v.yield } : {}), ...(v.scrapRate !== undefined ? { scrap_rate: v.scrapRate } : {}), band: v.band ?? 0.02 };
}

/**
 * The configured machines as the API lists them: ISA-95 levels, product, material, each measured
 * signal's kind, and the declared signals no source maps (why some KPIs of the machine are absent).
 */
export function machineList(cfg: Config): MachineInfo[] {
  const declared = machineSignals(cfg);
  return cfg.machines.map((m) => {
    const ref = parseMachinePath(m.path)!;
    const product = m.product === undefined ? undefined : cfg.products[m.product];
    const { measured, notMeasured } = declared.get(m.path)!;
    const targets = targetsJson({ ...cfg.machineDefaults.targets, ...m.targets });
    return {
      machine: m.path,
      site: ref.site,
      area: ref.area,
      line: ref.line,
      name: m.name ?? ref.machine,
      product: m.product,
      material: product?.material ?? m.material,
      signals: Object.fromEntries(Object.entries(measured).map(([k, v]) => [k, v.kind])),
      not_measured: notMeasured.map((x) => x.signal),
      ...(targets !== undefined ? { targets } : {}),
    };
  });
}

/**
 * A machine the central dashboard found in InfluxDB: the config's entry when it has one (its name
 * and targets), else its path's levels, the default targets, and the product and material its
 * newest window names. Undefined for a path that is no machine path.
 */
export function foundMachine(cfg: Config, configured: ReadonlyMap<string, MachineInfo>, path: string, product: string | undefined, material: string | undefined): MachineInfo | undefined {
  const known = configured.get(path);
  // The central file names the machine; what it makes and of what, its windows say when the file does not.
  if (known !== undefined) return { ...known, product: known.product ?? product, material: known.material ?? material };
  const ref = parseMachinePath(path);
  if (ref === undefined) return undefined;
  const targets = targetsJson({ ...cfg.machineDefaults.targets });
  return { machine: path, site: ref.site, area: ref.area, line: ref.line, name: ref.machine, product, material, signals: {}, not_measured: [], ...(targets !== undefined ? { targets } : {}) };
}
