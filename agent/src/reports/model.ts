import type {
  ReportComparison,
  ReportDestinationRow,
  ReportEntry,
  ReportFactor,
  ReportJson,
  ReportMachineQuality,
  ReportPeriodJson,
  ReportReasonRow,
  ReportRow,
  ReportTarget,
} from '../api/report-contract.js';
import { entryToJson, type Entry } from '../core/entries.js';
import type { PartialSums } from '../core/rollup.js';
import { UNKNOWN_DESTINATION } from '../kpi/derive.js';
import { emptyQuality } from '../kpi/quality.js';
import { periodOf } from '../kpi/periods.js';
import { addFigures, coverageOf, emptyFigureSums, figuresOf, type FigureSums } from './figures.js';
import { e54, e55, unsplitScrapKg, type EsrsMaterial } from './esrs.js';
import { gapsOf, MAX_GAPS_LISTED } from './gaps.js';
import { opportunityOf, type DemonstratedPeriod, type OpportunityMaterial } from './opportunity.js';
import type { ReportPeriod } from './period.js';
import { inScope, type ReportScope } from './scope.js';

/** What a report needs to know of a machine. */
export interface ReportMachine {
  machine: string;
  name: string;
  targets?: { yield?: number; scrap_rate?: number } | undefined;
  /** The measured signals by name (their kinds): whether masses are weighed or counted. */
  signals: Record<string, string>;
  /** The machine's material and product as configured: what a material or product scope expects of it. */
  material?: string | undefined;
  product?: string | undefined;
}

/** What a report needs to know of a material: the factors of loss, ESRS and opportunity. */
export interface ReportMaterial extends EsrsMaterial, OpportunityMaterial {
  co2ePerKg?: { value: number; source: string; year: number; boundary?: string | undefined } | undefined;
  scrapDestination: string;
}

/** Everything about the site and the config a report states beside its numbers. */
export interface ReportSettings {
  method: string;
  configHash: string;
  materialLibraryVersion: string | undefined;
  source: 'store' | 'influxdb';
  agent: string | undefined;
  site: string | undefined;
  timeZone: string;
  machines: ReadonlyMap<string, ReportMachine>;
  materials: Readonly<Record<string, ReportMaterial>>;
  reasons: Readonly<Record<string, { label: { en: string; nl: string }; group?: string | undefined }>>;
  opportunity: { basis: 'shift' | 'day'; minParts: number; lookbackMs: number };
}

/** What was read for a report: the sums of its period and of the periods it is compared with. */
export interface ReportData {
  period: ReportPeriod;
  scope: ReportScope;
  now: number;
  /** Sums over the period, at most one per machine, material, product and step of the chart (`collapseSums`); the scope is applied here. */
  sums: readonly PartialSums[];
  /** The spans each machine has data for (of any material or product), as read (hours or windows), joined where they touch: where its gaps are. */
  spans: ReadonlyMap<string, readonly { start: number; end: number }[]>;
  /** The spans each machine has sums in scope for: where it ran the scope's material or product. */
  keptSpans: ReadonlyMap<string, readonly { start: number; end: number }[]>;
  /** Milliseconds each machine's windows cover in the period, of any material or product. */
  covered: ReadonlyMap<string, number>;
  /** Milliseconds each machine's windows cover per step of the chart, by the step's start. */
  coveredByStep: ReadonlyMap<number, ReadonlyMap<string, number>>;
  /** The length of the spans read: an hour, or a window. */
  resolutionMs: number;
  previous: ReportComparisonData | undefined;
  yearBefore: ReportComparisonData | undefined;
  /** Each machine's shifts (days) on each material in the opportunity's lookback. */
  demonstrated: readonly DemonstratedPeriod[];
  /** Manual entries whose time is in the period; undefined where the backend keeps none. */
  entries: readonly Entry[] | undefined;
  /** The period has more entries than were read. */
  entriesTruncated: boolean;
}

/** A period to compare with: its sums in scope (`collapseComparison`) and what the scope's machines cover of it. */
export interface ReportComparisonData {
  /** Of a running report period, cut to as much as has passed of it (`toDate`). */
  period: ReportPeriod;
  sums: readonly PartialSums[];
  /** Milliseconds each machine's windows cover, of any material or product. */
  covered: ReadonlyMap<string, number>;
  toDate: boolean;
}

const periodJson = (p: ReportPeriod): ReportPeriodJson => ({ kind: p.kind, label: p.label, start: p.start, end: p.end });

/** The step of a report's chart: hours of a shift or day, days of a week or month, weeks of a quarter, months of a year. */
export function stepOf(p: ReportPeriod): 'hour' | 'day' | 'week' | 'month' {
  if (p.kind === 'shift' || p.kind === 'day') return 'hour';
  if (p.kind === 'quarter') return 'week';
  if (p.kind === 'year' || p.end - p.start > 62 * 86_400_000) return 'month';
  return 'day';
}

/**
 * The report model for a period and a scope, from the sums read for it (`reports/read.ts`): every
 * figure is summed first and its ratios derived from the sums, exactly as rollups do
 * (agent/src/kpi/README.md, "Rollups"). Pure.
 */
export function buildReport(data: ReportData, s: ReportSettings): ReportJson {
  const { period, scope, now } = data;
  const keep = inScope(scope);
  const inPeriod = (p: PartialSums, span: ReportPeriod) => p.start >= span.start && p.start < span.end && keep(p);
  const parts = data.sums.filter((p) => inPeriod(p, period));
  const currencyOf = (m: string | undefined) => (m === undefined ? undefined : s.materials[m]?.currency);
  const materialOf = (m: string) => s.materials[m];
  const nameOf = (m: string) => s.machines.get(m)?.name ?? m.split('/').at(-1)!;
  // Up to now: the rest of a running period is not a gap.
  const coverableOf = (span: ReportPeriod) => Math.max(0, Math.min(span.end, now) - span.start);

  const sum = (list: Iterable<PartialSums>, key: string, span: ReportPeriod) => {
    const f = emptyFigureSums(key, span.start, span.end);
    for (const p of list) addFigures(f, p, currencyOf);
    return f;
  };
  // Coverage is the share of the time the expected machines sent data, whatever they ran: missing
  // data is a fact of a machine, and a machine on another material was no gap. A material or
  // product scope expects the machines configured with it and those that ran it
  // (agent/src/reports/README.md, "Coverage").
  const configuredFor = (m: string) => {
    const info = s.machines.get(m);
    return (scope.material === undefined || info?.material === scope.material) && (scope.product === undefined || info?.product === scope.product);
  };
  const expectedOf = (list: readonly PartialSums[]): readonly string[] => {
    if (scope.material === undefined && scope.product === undefined) return scope.machines;
    const ran = new Set(list.map((p) => p.machine));
    return scope.machines.filter((m) => ran.has(m) || configuredFor(m));
  };
  const scopeCoverage = (covered: ReadonlyMap<string, number> | undefined, expected: readonly string[], span: ReportPeriod) =>
    coverageOf(
      expected.reduce((a, m) => a + (covered?.get(m) ?? 0), 0),
      coverableOf(span) * expected.length,
    );
  const expected = expectedOf(parts);
  const totals = figuresOf(sum(parts, 'total', period), scopeCoverage(data.covered, expected, period));
  const compare = (c: ReportData['previous']): ReportComparison | null => {
    if (c === undefined) return null;
    const list = c.sums.filter((p) => inPeriod(p, c.period));
    if (list.length === 0) return null;
    return { period: periodJson(c.period), figures: figuresOf(sum(list, 'total', c.period), scopeCoverage(c.covered, expectedOf(list), c.period)), to_date: c.toDate };
  };

  const group = (key: (p: PartialSums) => string) => {
    const by = new Map<string, FigureSums>();
    for (const p of parts) {
      const k = key(p);
      let f = by.get(k);
      if (f === undefined) by.set(k, (f = emptyFigureSums(k, period.start, period.end)));
      addFigures(f, p, currencyOf);
    }
    return [...by].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  };

  const machineSums = new Map(group((p) => p.machine));
  // A material or product scope lists the machines it expects, not every machine of the plant.
  const byMachine: ReportRow[] = expected
    .slice()
    .sort()
    .map((m) => {
      const f = machineSums.get(m) ?? emptyFigureSums(m, period.start, period.end);
      const row: ReportRow = { key: m, name: nameOf(m), figures: figuresOf(f, coverageOf(data.covered.get(m) ?? 0, coverableOf(period))) };
      const t = s.machines.get(m)?.targets;
      if (t !== undefined && (t.yield !== undefined || t.scrap_rate !== undefined)) row.targets = { ...(t.yield !== undefined ? { yield: t.yield } : {}), ...(t.scrap_rate !== undefined ? { scrap_rate: t.scrap_rate } : {}) };
      return row;
    });
  const rowsOf = (g: [string, FigureSums][]): ReportRow[] => g.map(([key, f]) => ({ key, figures: figuresOf(f, undefined) }));

  // Targets of the scope: each machine's target weighted by its parts, against the same machines' actual.
  const targets: ReportJson['targets'] = {};
  for (const [name, ratio] of [
    ['yield', 'yield'],
    ['scrap_rate', 'scrap_rate'],
  ] as const) {
    let weighted = 0;
    let num = 0;
    let den = 0;
    let all = 0;
    for (const [m, f] of machineSums) {
      const nd = f.sums.ratios[ratio];
      if (nd === undefined) continue;
      all += nd[1];
      const t = s.machines.get(m)?.targets?.[name];
      if (t === undefined) continue;
      weighted += t * nd[1];
      num += nd[0];
      den += nd[1];
    }
    if (den > 0) targets[name] = { target: weighted / den, actual: num / den, share_of_parts: den / all } satisfies ReportTarget;
  }

  // Scrap by reason and destination, from each window's split.
  const reasons = new Map<string, Record<string, number>>();
  const destinations = new Map<string, Record<string, number>>();
  for (const p of parts) {
    for (const [dim, into] of [
      ['reason', reasons],
      ['destination', destinations],
    ] as const) {
      for (const [k, measures] of Object.entries(p.split?.[dim] ?? {})) {
        let r = into.get(k);
        if (r === undefined) into.set(k, (r = {}));
        for (const [mk, v] of Object.entries(measures)) r[mk] = (r[mk] ?? 0) + v;
      }
    }
  }
  // Scrap kg stored without a destination split went somewhere not known, as in ESRS E5-5.
  for (const p of parts) {
    const rest = unsplitScrapKg(p);
    if (rest === 0) continue;
    let r = destinations.get(UNKNOWN_DESTINATION);
    if (r === undefined) destinations.set(UNKNOWN_DESTINATION, (r = {}));
    r.scrap_kg = (r.scrap_kg ?? 0) + rest;
  }
  const scrapParts = [...reasons.values()].reduce((a, r) => a + (r.parts_scrap ?? 0), 0);
  const byReason: ReportReasonRow[] = [...reasons]
    .filter(([, r]) => Object.values(r).some((v) => v !== 0))
    .map(([key, r]) => {
      const row: ReportReasonRow = { key };
      const def = s.reasons[key];
      if (def !== undefined) {
        row.label = def.label;
        if (def.group !== undefined) row.group = def.group;
      }
      for (const k of ['parts_scrap', 'scrap_kg', 'manual_scrap_parts', 'manual_scrap_kg'] as const) if (r[k] !== undefined) row[k] = r[k];
      if (scrapParts > 0 && r.parts_scrap !== undefined) row.share_of_scrap = r.parts_scrap / scrapParts;
      return row;
    })
    .sort((a, b) => (b.parts_scrap ?? 0) - (a.parts_scrap ?? 0) || (b.scrap_kg ?? 0) - (a.scrap_kg ?? 0) || (a.key < b.key ? -1 : 1));
  const scrapKg = [...destinations.values()].reduce((a, r) => a + (r.scrap_kg ?? 0), 0);
  const byDestination: ReportDestinationRow[] = [...destinations]
    .filter(([, r]) => Object.values(r).some((v) => v !== 0))
    .map(([key, r]) => ({
      key,
      scrap_kg: r.scrap_kg ?? 0,
      ...(r.manual_scrap_kg !== undefined ? { manual_scrap_kg: r.manual_scrap_kg } : {}),
      ...(scrapKg > 0 ? { share_of_scrap_kg: (r.scrap_kg ?? 0) / scrapKg } : {}),
    }))
    .sort((a, b) => b.scrap_kg - a.scrap_kg || (a.key < b.key ? -1 : 1));

  // The chart's steps, in the site's time.
  const step = stepOf(period);
  const steps = new Map<number, { label: string; start: number; end: number; f: FigureSums }>();
  for (const p of parts) {
    const span = periodOf(step, s.timeZone, p.start)!;
    let st = steps.get(span.start);
    if (st === undefined) steps.set(span.start, (st = { ...span, f: emptyFigureSums('step', span.start, span.end) }));
    addFigures(st.f, p, currencyOf);
  }
  const series: ReportJson['series'] = {
    step,
    points: [...steps.values()]
      .sort((a, b) => a.start - b.start)
      .map((st) => {
        const span = { kind: period.kind, label: st.label, start: Math.max(st.start, period.start), end: Math.min(st.end, period.end) };
        return { label: st.label, start: st.start, end: st.end, figures: figuresOf(st.f, scopeCoverage(data.coveredByStep.get(st.start), expected, span)) };
      }),
  };

  // Masses weighed or counted, per machine.
  const massBasis = (m: string, f: FigureSums | undefined): ReportMachineQuality['mass_basis'] => {
    const signals = s.machines.get(m)?.signals ?? {};
    const weighed = (k: string) => signals[k] !== undefined && signals[k] !== 'gauge';
    return {
      scrap_kg: weighed('scrap_kg') ? 'measured' : f?.sums.sums.scrap_kg !== undefined ? 'estimated' : 'none',
      material_in_kg: weighed('material_in_kg') ? 'measured' : 'none',
    };
  };
  const machineQuality: ReportMachineQuality[] = byMachine.map((row) => {
    const gaps = gapsOf(data.spans.get(row.key) ?? [], period.start, Math.min(period.end, now));
    return {
      machine: row.key,
      name: row.name!,
      windows: row.figures.windows,
      // The period has started (a report of one that has not is refused), so there is time to cover.
      coverage: row.figures.coverage!,
      gaps: gaps.slice(0, MAX_GAPS_LISTED),
      more_gaps: Math.max(0, gaps.length - MAX_GAPS_LISTED),
      missing_ms: gaps.reduce((a, g) => a + g.end - g.start, 0),
      mass_basis: massBasis(row.key, machineSums.get(row.key)),
    };
  });

  const counts = emptyQuality();
  for (const p of parts) for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] += p.quality[k];

  const machines = new Set(scope.machines);
  // An entry has no material or product of its own: of a material or product scope, it is listed
  // where its machine ran that material or product (at the resolution of the sums read).
  const ranScope = scope.material === undefined && scope.product === undefined ? undefined : data.keptSpans;
  const entries: ReportEntry[] = (data.entries ?? [])
    .filter((e) => machines.has(e.current.machine) && e.current.ts >= period.start && e.current.ts < period.end)
    .filter((e) => ranScope === undefined || (ranScope.get(e.current.machine) ?? []).some((sp) => e.current.ts >= sp.start && e.current.ts < sp.end))
    .map((e) => {
      const { history: _history, ...current } = entryToJson(e);
      return current;
    })
    .sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));

  const estimatedScrap = machineQuality.some((m) => m.mass_basis.scrap_kg === 'estimated');
  const materialsUsed = [...new Set(parts.map((p) => p.material).filter((m): m is string => m !== undefined))].sort();
  const factors: ReportFactor[] = materialsUsed.map((name) => {
    const m = s.materials[name];
    return {
      material: name,
      price_per_kg: m?.pricePerKg ?? null,
      scrap_value_per_kg: m?.scrapValuePerKg ?? 0,
      currency: m?.currency ?? 'EUR',
      co2e_per_kg: m?.co2ePerKg === undefined ? null : { value: m.co2ePerKg.value, source: m.co2ePerKg.source, year: m.co2ePerKg.year, boundary: m.co2ePerKg.boundary ?? null },
      crm: { ...(m?.crm ?? {}) },
      recycled_content_share: m?.recycledContentShare ?? null,
      scrap_destination: m?.scrapDestination ?? 'unknown',
      hazardous: m?.hazardousWaste ?? false,
    };
  });

  return {
    report: 'yieldwatch-material-efficiency',
    format_version: 1,
    generated_at: now,
    method: s.method,
    config_hash: s.configHash,
    material_library_version: s.materialLibraryVersion ?? null,
    source: s.source,
    agent: s.agent ?? null,
    site: s.site ?? null,
    time_zone: s.timeZone,
    scope: { spec: scope.spec, label: scope.spec, machines: scope.machines.slice().sort() },
    period: periodJson(period),
    totals,
    previous: compare(data.previous),
    year_before: compare(data.yearBefore),
    targets,
    series,
    by_machine: byMachine,
    by_material: rowsOf(group((p) => p.material ?? '')),
    by_product: rowsOf(group((p) => p.product ?? '')),
    by_reason: byReason,
    by_destination: byDestination,
    esrs: { e5_4: e54(parts, materialOf), e5_5: e55(parts, materialOf, estimatedScrap, totals.other_loss_kg) },
    opportunity: opportunityOf(parts, data.demonstrated, { ...s.opportunity, nameOf, materialOf }),
    data_quality: {
      ...(totals.coverage !== undefined ? { coverage: totals.coverage } : {}),
      resolution_ms: data.resolutionMs,
      machines: machineQuality,
      counts,
      entries,
      entries_available: data.entries !== undefined,
      entries_truncated: data.entriesTruncated,
      partial_period: now < period.end,
    },
    factors,
  };
}
