import { machineSignals } from '../config/machine-signals.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { OutboxWriter } from '../core/sink.js';
import type { EngineMachine, EngineOptions } from '../kpi/engine.js';
import type { MaterialFactors } from '../kpi/materials.js';
import { periodOf } from '../kpi/periods.js';
import { shiftFinder } from '../kpi/shifts.js';
import { siteCalendars } from '../config/site-calendars.js';
import type { ScrapDestinationOf } from '../pipeline/emit.js';
import { Pipeline, type PipelineEvents, type PipelineOptions } from '../pipeline/pipeline.js';
import type { Store } from '../store/store.js';

/** The pipeline's options from a validated config. */
export function pipelineOptions(cfg: Config): PipelineOptions {
  return {
    engine: engineOptions(cfg),
    materials: materialFactors(cfg),
    scrapDestination: scrapDestinations(cfg),
    dayOf: siteDays(cfg),
    shifts: siteShifts(cfg),
    checkpointEveryMs: cfg.kpi.checkpointInterval,
    alertRules: new Map(Object.entries(cfg.alertRules)),
  };
}

/** A pipeline for a validated config: what the agent, replay and the tests run. */
export function createPipeline(cfg: Config, store: Store, clock: Clock, events: PipelineEvents = {}, writers: readonly OutboxWriter[] = []): Pipeline {
  return new Pipeline(pipelineOptions(cfg), store, clock, events, writers);
}

/**
 * Engine options from a validated config: each machine's signals merged over `machineDefaults`,
 * those that no source maps left out, so that they are absent from its windows instead of 0.
 */
export function engineOptions(cfg: Config): EngineOptions {
  const reasonsBySite = siteReasonCodes(cfg);
  const signals = machineSignals(cfg);
  const machines: EngineMachine[] = cfg.machines.map((m) => ({
    path: m.path,
    signals: signals.get(m.path)!.measured,
    product: m.product,
    material: m.material,
    partMassKg: m.partMassKg,
    scrapReasons: reasonsBySite.get(m.path.split('/')[0]!),
  }));
  return {
    windowMs: cfg.kpi.windowSize,
    latenessMs: cfg.kpi.allowedLateness,
    maxFutureSkewMs: cfg.kpi.maxFutureSkew,
    correctionHorizonMs: cfg.kpi.correctionHorizon,
    machines,
    product: (name) => {
      const p = cfg.products[name];
      return p === undefined ? undefined : { partMassKg: p.partMassKg, material: p.material, cycleTimeMs: p.cycleTime, partsPerCycle: p.partsPerCycle };
    },
    counterRateCeiling: cfg.kpi.counterRateCeiling,
    learnCounterRates: true,
  };
}

/** The scrap reason codes of each site that defines any (a site without codes takes any code). */
export function siteReasonCodes(cfg: Config): Map<string, ReadonlySet<string>> {
  return new Map(Object.entries(cfg.sites).flatMap(([site, s]) => (Object.keys(s.scrapReasons).length > 0 ? [[site, new Set(Object.keys(s.scrapReasons))] as const] : [])));
}

/** The day of a machine's site an instant falls in, from the site's time zone. */
export function siteDays(cfg: Config): (machine: string, t: number) => { start: number; end: number } {
  const zones = new Map(Object.entries(cfg.sites).map(([site, s]) => [site, s.timeZone]));
  return (machine, t) => periodOf('day', zones.get(machine.slice(0, machine.indexOf('/'))) ?? 'UTC', t)!;
}

/**
 * The shift of a machine's site an instant falls in (windows come in time order, so each site's
 * finder mostly answers from its last shift), and a fingerprint of the calendars, so that the
 * store knows when its shift sums were summed under another calendar.
 */
export function siteShifts(cfg: Config): NonNullable<PipelineOptions['shifts']> {
  const calendars = siteCalendars(cfg);
  const finders = new Map([...calendars].flatMap(([site, cal]) => (cal.versions.length > 0 ? [[site, shiftFinder(cal)] as const] : [])));
  return {
    of: (machine, t) => finders.get(machine.slice(0, machine.indexOf('/')))?.(t),
    fingerprint: fingerprint(JSON.stringify([...calendars].sort(([a], [b]) => (a < b ? -1 : 1)))),
  };
}

/** FNV-1a, 32 bits: enough to notice that a calendar changed. */
function fingerprint(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Where scrap goes: the reason's destination, else the machine's, else its material's (agent/src/kpi/README.md). */
export function scrapDestinations(cfg: Config): ScrapDestinationOf {
  const machines = new Map(cfg.machines.map((m) => [m.path, m]));
  return (machine, material, reason) => {
    const site = machine.split('/')[0]!;
    const byReason = reason === undefined ? undefined : cfg.sites[site]?.scrapReasons[reason]?.destination;
    return byReason ?? machines.get(machine)?.scrapDestination ?? (material === undefined ? undefined : cfg.materials[material]?.scrapDestination);
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
