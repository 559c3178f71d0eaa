import type { Config } from '../config/schema.js';
import type { EngineMachine, EngineOptions } from '../kpi/engine.js';
import type { MaterialFactors } from '../kpi/materials.js';

/** Engine options from a validated config: machine signals merged over `machineDefaults`. */
export function engineOptions(cfg: Config): EngineOptions {
  const machines: EngineMachine[] = cfg.machines.map((m) => ({
    path: m.path,
    signals: { ...cfg.machineDefaults.signals, ...m.signals },
    product: m.product,
    material: m.material,
    partMassKg: m.partMassKg,
  }));
  return {
    windowMs: cfg.kpi.windowSize,
    latenessMs: cfg.kpi.allowedLateness,
    maxFutureSkewMs: cfg.kpi.maxFutureSkew,
    correctionHorizonMs: cfg.kpi.correctionHorizon,
    machines,
    product: (name) => cfg.products[name],
  };
}

/** The material library as the KPI derivation reads it. */
export function materialFactors(cfg: Config): Map<string, MaterialFactors> {
  const out = new Map<string, MaterialFactors>();
  for (const [name, m] of Object.entries(cfg.materials)) {
    out.set(name, {
      name,
      pricePerKg: m.pricePerKg,
      scrapValuePerKg: m.scrapValuePerKg,
      currency: m.currency,
      co2ePerKg: m.co2ePerKg?.value,
      crm: m.crm,
    });
  }
  return out;
}
