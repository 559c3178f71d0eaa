import type { Aggregate } from '../core/aggregate.js';
import type { AlertRule } from './config.js';

/**
 * What a window rule sees in one window (agent/src/alerts/README.md, "Rules"). Pure: the
 * history a rule needs (the p-chart baseline, the sustained rule's recent windows) is passed in.
 */
export interface Observation {
  /** False when the window says nothing (too few parts, no baseline yet): the alert state stays as it is. */
  judged: boolean;
  /** Scrap rate the rule looked at. */
  value: number;
  /** The limit above which it breaches. */
  limit: number;
  /** Parts the value is over. */
  parts: number;
  /** Above the limit: an alert may fire. */
  breach: boolean;
  /** Below the limit with hysteresis: an open alert resolves. */
  clear: boolean;
}

/** Parts and scrap parts of a window as the rules count them. */
export function partsOf(a: Aggregate): { parts: number; scrap: number } {
  return { parts: a.kpis.parts_total ?? 0, scrap: a.kpis.parts_scrap ?? 0 };
}

export const NOT_JUDGED: Observation = { judged: false, value: 0, limit: 0, parts: 0, breach: false, clear: false };

function judge(value: number, limit: number, parts: number, hysteresis: number, canBreach = true): Observation {
  return { judged: true, value, limit, parts, breach: canBreach && value > limit, clear: value < limit * (1 - hysteresis) };
}

/** Trailing baseline of one machine for the p-chart: windows that were not alerting. */
export interface Baseline {
  windows: number;
  parts: number;
  scrap: number;
}

/** Upper control limit of a p-chart: `p̄ + k·sqrt(p̄(1−p̄)/n)`. */
export function pChartLimit(pBar: number, n: number, k: number): number {
  return pBar + k * Math.sqrt((pBar * (1 - pBar)) / n);
}

export function thresholdObservation(rule: Extract<AlertRule, { type: 'threshold' }>, a: Aggregate): Observation {
  const { parts, scrap } = partsOf(a);
  if (parts < rule.minParts) return NOT_JUDGED;
  return judge(scrap / parts, rule.scrapRate, parts, rule.hysteresis);
}

export function pChartObservation(rule: Extract<AlertRule, { type: 'pChart' }>, a: Aggregate, baseline: Baseline): Observation {
  const { parts, scrap } = partsOf(a);
  if (parts < rule.minParts || parts === 0) return NOT_JUDGED;
  let pBar = rule.target;
  if (pBar === undefined) {
    if (baseline.windows < rule.minBaselineWindows || baseline.parts === 0) return NOT_JUDGED;
    pBar = baseline.scrap / baseline.parts;
  }
  if (parts * pBar < rule.minExpectedScrap) return NOT_JUDGED;
  return judge(scrap / parts, pChartLimit(pBar, parts, rule.k), parts, rule.hysteresis, scrap >= rule.minScrapParts);
}

/**
 * `recent` are the scrap rates of the machine's last judged windows, newest last, this one
 * included. Breach: at least m of the last n above the limit; clear: fewer than m at or above
 * the limit lowered by the hysteresis.
 */
export function sustainedObservation(rule: Extract<AlertRule, { type: 'sustained' }>, a: Aggregate, recent: readonly number[]): Observation {
  const { parts } = partsOf(a);
  if (parts < rule.minParts || parts === 0) return NOT_JUDGED;
  const last = recent.slice(-rule.n);
  const above = last.filter((r) => r > rule.scrapRate).length;
  const nearly = last.filter((r) => r >= rule.scrapRate * (1 - rule.hysteresis)).length;
  return { judged: true, value: last.at(-1) ?? 0, limit: rule.scrapRate, parts, breach: above >= rule.m, clear: nearly < rule.m };
}
