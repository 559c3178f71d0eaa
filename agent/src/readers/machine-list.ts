import type { MachineInfo } from '../api/contract.js';
import type { Config } from '../config/schema.js';
import { parseMachinePath } from '../core/sample.js';

/** The configured machines as the API lists them: ISA-95 levels, product, material and each signal's kind. */
export function machineList(cfg: Config): MachineInfo[] {
  return cfg.machines.map((m) => {
    const ref = parseMachinePath(m.path)!;
    const product = m.product === undefined ? undefined : cfg.products[m.product];
    const signals = { ...cfg.machineDefaults.signals, ...m.signals };
    const t = { ...cfg.machineDefaults.targets, ...m.targets };
    const targets = t.yield === undefined && t.scrapRate === undefined ? undefined : { ...(t.yield !== undefined ? { yield: t.yield } : {}), ...(t.scrapRate !== undefined ? { scrap_rate: t.scrapRate } : {}), band: t.band ?? 0.02 };
    return {
      machine: m.path,
      site: ref.site,
      area: ref.area,
      line: ref.line,
      name: m.name ?? ref.machine,
      product: m.product,
      material: product?.material ?? m.material,
      signals: Object.fromEntries(Object.entries(signals).map(([k, v]) => [k, v!.kind])),
      ...(targets !== undefined ? { targets } : {}),
    };
  });
}
