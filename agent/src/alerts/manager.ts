import type { Aggregate } from '../core/aggregate.js';
import { lineOf, severityRank, type Alert, type AlertChange, type AlertRuleHit } from '../core/alert.js';
import { SIGNAL_INDEX } from '../core/signals.js';
import type { IncrementObserver } from '../kpi/engine.js';
import type { AlertRule } from './config.js';
import { SlidingParts } from './fast.js';
import { FRESH, step, type RuleState, type Transition } from './lifecycle.js';
import { pChartObservation, sustainedObservation, thresholdObservation, type Baseline, type Observation } from './rules.js';

/** What a failed commit must put back: every pair's state and every machine's open incident. */
export interface AlertSnapshot {
  pairs: Map<string, Pick<Pair, 'state' | 'baseline' | 'recent' | 'lastEnd'>>;
  incidents: Map<string, Alert>;
}

/** One (machine, rule) pair: its own lifecycle; while it is open, its hit is open in the machine's incident. */
interface Pair {
  machine: string;
  rule: AlertRule;
  state: RuleState;
  /** p-chart: trailing non-alerting windows, oldest first. */
  baseline: { parts: number; scrap: number }[];
  /** sustained: scrap rates of the recent judged windows, oldest first. */
  recent: number[];
  /** fast: the sliding count. */
  sliding: SlidingParts | undefined;
  /** End of the last window judged (window rules): a window that does not follow it starts a new breach run. */
  lastEnd: number | undefined;
}

const GOOD = SIGNAL_INDEX.parts_good;
const SCRAP = SIGNAL_INDEX.parts_scrap;
const REWORK = SIGNAL_INDEX.parts_rework;

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.1 ? 2 : 1)} %`;
}

const RULE_WORDS: Record<AlertRule['type'], string> = {
  threshold: 'threshold',
  pChart: 'p-chart upper control limit',
  sustained: 'sustained limit',
  fast: 'limit over the last parts',
};

/**
 * The alert rules of every machine and the lifecycle of their incidents (agent/src/alerts/README.md).
 * Each (machine, rule) pair fires and resolves on its own; what it fires joins the machine's one
 * open incident, or opens one. Window rules run on each commit's new windows; the fast rule runs
 * on every accepted increment and leaves its changes pending until the next commit, which
 * persists them with the windows.
 */
export class AlertManager {
  private readonly pairs = new Map<string, Pair>();
  private readonly byMachine = new Map<string, Pair[]>();
  /** The open incident (firing or acknowledged) of each machine that has one. */
  private readonly incidents = new Map<string, Alert>();
  private readonly observers = new Map<string, IncrementObserver>();
  private pending: AlertChange[] = [];
  /** Last time a pending change was added (agent time), for the caller's clock. */
  private now: () => number;

  constructor(rules: ReadonlyMap<string, readonly AlertRule[]>, now: () => number) {
    this.now = now;
    for (const [machine, list] of rules) {
      const pairs: Pair[] = [];
      for (const rule of list) {
        const p: Pair = { machine, rule, state: FRESH, baseline: [], recent: [], sliding: rule.type === 'fast' ? new SlidingParts(rule.parts) : undefined, lastEnd: undefined };
        this.pairs.set(`${machine}|${rule.id}`, p);
        pairs.push(p);
      }
      this.byMachine.set(machine, pairs);
      const fast = pairs.filter((p) => p.sliding !== undefined);
      if (fast.length > 0) this.observers.set(machine, { add: (idx, delta, t) => this.onIncrement(fast, idx, delta, t) });
    }
  }

  /** The observer of a machine with a fast rule, for the KPI core; undefined when it has none. */
  observer(machine: string): IncrementObserver | undefined {
    return this.observers.get(machine);
  }

  hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Changes of the fast rule since the last call; the commit persists them. */
  drainPending(): AlertChange[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /**
   * What the window rules and acknowledgements change, copied so that a commit that fails can
   * put it back (the windows are judged again when the commit is retried).
   */
  snapshot(): AlertSnapshot {
    const pairs: AlertSnapshot['pairs'] = new Map();
    for (const [key, p] of this.pairs) pairs.set(key, { state: p.state, baseline: p.baseline.slice(), recent: p.recent.slice(), lastEnd: p.lastEnd });
    // Incidents are never changed in place (every change makes a new object): copying the map is enough.
    return { pairs, incidents: new Map(this.incidents) };
  }

  rollback(snap: AlertSnapshot): void {
    for (const [key, s] of snap.pairs) {
      const p = this.pairs.get(key);
      if (p === undefined) continue;
      p.state = s.state;
      p.baseline = s.baseline;
      p.recent = s.recent;
      p.lastEnd = s.lastEnd;
    }
    this.incidents.clear();
    for (const [machine, a] of snap.incidents) this.incidents.set(machine, a);
  }

  /** Puts back changes a failed commit could not save; the next commit saves them first. */
  requeue(changes: readonly AlertChange[]): void {
    this.pending = [...changes, ...this.pending];
  }

  /** Open incidents (firing or acknowledged), optionally of one machine (at most one each). */
  open(machine?: string): Alert[] {
    if (machine === undefined) return [...this.incidents.values()];
    const a = this.incidents.get(machine);
    return a === undefined ? [] : [a];
  }

  /**
   * Restores what the store knows: open incidents (each rule still open inside one reopens its
   * pair), when each pair may fire again after its last resolve, and the recent windows the
   * p-chart and sustained rules look back on. What the config no longer judges is resolved
   * `by: config` at the next commit: a rule removed or switched off for its machine (nothing
   * would ever clear it), and every open alert of a machine but its oldest (an old store kept
   * one per rule).
   */
  restore(open: readonly Alert[], lastResolved: ReadonlyMap<string, number>, recentWindows: (machine: string, count: number) => readonly Aggregate[]): void {
    const now = this.now();
    const oldestFirst = [...open].sort((x, y) => x.startedAt - y.startedAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    for (const stored of oldestFirst) {
      let a = stored;
      const openHits = stored.rules.filter((h) => h.resolvedAt === undefined);
      const kept = this.incidents.has(stored.machine) ? [] : openHits.filter((h) => this.pairs.has(`${stored.machine}|${h.rule}`));
      const gone = openHits.filter((h) => !kept.includes(h));
      // An open incident with no open rule left in it (not written by this version): nothing would end it.
      if (kept.length === 0 && gone.length === 0) gone.push(...stored.rules.slice(-1));
      for (const [i, h] of gone.entries()) {
        a = { ...a, rules: a.rules.map((x) => (x.rule === h.rule && x.resolvedAt === undefined ? { ...x, resolvedAt: now } : x)), updatedAt: now };
        const last = kept.length === 0 && i === gone.length - 1;
        if (last) a = { ...a, state: 'resolved', resolvedAt: now };
        this.pending.push({ kind: last ? 'resolved' : 'rule_resolved', alert: a, at: now, by: 'config', notify: last, rule: h.rule });
      }
      if (kept.length === 0) continue;
      for (const h of kept) {
        const p = this.pairs.get(`${stored.machine}|${h.rule}`)!;
        p.state = { ...p.state, open: true };
      }
      this.incidents.set(stored.machine, a);
    }
    for (const [key, resolvedAt] of lastResolved) {
      const p = this.pairs.get(key);
      if (p) p.state = { ...p.state, quietUntil: resolvedAt + p.rule.cooldown };
    }
    for (const [machine, pairs] of this.byMachine) {
      const need = Math.max(0, ...pairs.map((p) => (p.rule.type === 'pChart' ? p.rule.baselineWindows : p.rule.type === 'sustained' ? p.rule.n : 0)));
      if (need === 0) continue;
      for (const a of recentWindows(machine, need)) {
        // Windows since an open rule fired were alerting; they stay out of the baseline, as they did live.
        for (const p of pairs) this.remember(p, a, this.observe(p, a), p.state.open && a.windowEnd > (this.openHit(p)?.firedAt ?? -Infinity));
      }
    }
  }

  /**
   * Runs the window rules on newly committed windows; returns the changes to persist with them.
   * `late`: the windows are judged as late data whatever their revision (a manual entry's windows).
   */
  onWindows(aggregates: readonly Aggregate[], now: number, late = false): AlertChange[] {
    const out: AlertChange[] = [];
    // In event-time order: windows held back by a failed commit come out together with newer ones.
    const ordered = aggregates.length > 1 ? [...aggregates].sort((x, y) => x.windowStart - y.windowStart) : aggregates;
    for (const a of ordered) {
      const pairs = this.byMachine.get(a.machine);
      if (pairs === undefined) continue;
      for (const p of pairs) {
        if (p.rule.type === 'fast') continue;
        const obs = this.observe(p, a);
        if (a.revision > 0 || late) {
          // Late data: recorded when it would have fired, never raised live (the moment has passed).
          if (obs.breach && !p.state.open) out.push({ kind: 'late_breach', alert: this.newAlert(p, obs, a.windowStart, a.windowEnd, a.windowStart, now), at: now, by: 'rule', notify: false, rule: p.rule.id });
          continue;
        }
        // A gap (the machine sent nothing for a while) ends a breach run: two bad windows an hour apart are not an hour of scrap.
        if (p.lastEnd !== undefined && a.windowStart !== p.lastEnd && p.state.breachSince !== undefined) p.state = { ...p.state, breachSince: undefined };
        p.lastEnd = a.windowEnd;
        const r = step(p.state, obs, a.windowStart, a.windowEnd, p.rule);
        const change = this.apply(p, r.state, r.transition, obs, a.windowStart, a.windowEnd, a.windowStart, now);
        if (change) out.push(change);
        this.remember(p, a, obs, p.state.open);
      }
    }
    return out;
  }

  /** An operator acknowledges an open incident, every rule in it at once; undefined when there is no such open, unacknowledged incident. */
  acknowledge(id: string, by: string, comment: string | undefined, now: number): AlertChange | undefined {
    for (const [machine, a] of this.incidents) {
      if (a.id !== id) continue;
      if (a.state === 'acknowledged') return undefined;
      const acked: Alert = { ...a, state: 'acknowledged', acknowledgedAt: now, acknowledgedBy: by, comment, updatedAt: now };
      this.incidents.set(machine, acked);
      return { kind: 'acknowledged', alert: acked, at: now, by, notify: true };
    }
    return undefined;
  }

  /** The hit of an open pair inside its machine's incident. */
  private openHit(p: Pair): AlertRuleHit | undefined {
    return this.incidents.get(p.machine)?.rules.find((h) => h.rule === p.rule.id && h.resolvedAt === undefined);
  }

  private observe(p: Pair, a: Aggregate): Observation {
    const r = p.rule;
    if (r.type === 'threshold') return thresholdObservation(r, a);
    if (r.type === 'pChart') {
      const b: Baseline = { windows: p.baseline.length, parts: 0, scrap: 0 };
      for (const w of p.baseline) {
        b.parts += w.parts;
        b.scrap += w.scrap;
      }
      return pChartObservation(r, a, b);
    }
    if (r.type === 'sustained') {
      const parts = a.kpis.parts_total ?? 0;
      const rate = parts > 0 ? (a.kpis.parts_scrap ?? 0) / parts : 0;
      return sustainedObservation(r, a, parts >= r.minParts && parts > 0 ? [...p.recent, rate] : p.recent);
    }
    return { judged: false, value: 0, limit: 0, parts: 0, breach: false, clear: false };
  }

  /** Keeps the history the next windows are judged against. */
  private remember(p: Pair, a: Aggregate, obs: Observation, alerting: boolean): void {
    const parts = a.kpis.parts_total ?? 0;
    const scrap = a.kpis.parts_scrap ?? 0;
    if (p.rule.type === 'pChart') {
      // The baseline grows before the rule can judge anything (it needs minBaselineWindows first).
      if (alerting || obs.breach || parts < p.rule.minParts || parts === 0) return;
      p.baseline.push({ parts, scrap });
      if (p.baseline.length > p.rule.baselineWindows) p.baseline.shift();
      return;
    }
    if (!obs.judged) return;
    if (p.rule.type === 'sustained') {
      p.recent.push(parts > 0 ? scrap / parts : 0);
      if (p.recent.length > p.rule.n) p.recent.shift();
    }
  }

  private onIncrement(pairs: readonly Pair[], idx: number, delta: number, t: number): void {
    if (delta <= 0) return;
    const good = idx === GOOD || idx === REWORK ? delta : 0;
    const scrap = idx === SCRAP ? delta : 0;
    if (good === 0 && scrap === 0) return;
    for (const p of pairs) {
      const s = p.sliding!;
      if (!s.add(good, scrap)) continue;
      const rule = p.rule as Extract<AlertRule, { type: 'fast' }>;
      const rate = s.rate();
      const breach = rate > rule.scrapRate;
      const clear = rate < rule.scrapRate * (1 - rule.hysteresis);
      // Most increments change nothing: decide that without allocating.
      if (p.state.open ? !clear : !breach && p.state.breachSince === undefined) continue;
      const obs: Observation = { judged: true, value: rate, limit: rule.scrapRate, parts: s.parts, breach, clear };
      const r = step(p.state, obs, t, t, rule);
      const change = this.apply(p, r.state, r.transition, obs, t, t, undefined, this.now());
      if (change) this.pending.push(change);
    }
  }

  /**
   * A pair's transition, applied to its machine's incident. A rule that fires opens an incident
   * (`fired`, notified) or joins the open one (`rule_fired`, notified only when it raises the
   * incident's severity: the operator already handles this cause, and an acknowledged incident
   * stays acknowledged). A rule that clears is marked so (`rule_resolved`, recorded only) until
   * the last one clears: then the incident resolves (notified).
   */
  private apply(p: Pair, state: RuleState, transition: Transition, obs: Observation, from: number, to: number, windowStart: number | undefined, now: number): AlertChange | undefined {
    const since = p.state.breachSince ?? from;
    p.state = state;
    const rule = p.rule.id;
    const open = this.incidents.get(p.machine);
    if (transition === 'fire') {
      if (open === undefined) {
        const a = this.newAlert(p, obs, since, to, windowStart, now);
        this.incidents.set(p.machine, a);
        return { kind: 'fired', alert: a, at: now, by: 'rule', notify: true, rule };
      }
      const raised = severityRank(p.rule.severity) > severityRank(open.severity);
      const a: Alert = { ...open, severity: raised ? p.rule.severity : open.severity, rules: [...open.rules, ruleHit(p, obs, since)], updatedAt: now };
      this.incidents.set(p.machine, a);
      return { kind: 'rule_fired', alert: a, at: now, by: 'rule', notify: raised, rule };
    }
    if (transition === 'resolve' && open !== undefined) {
      const i = open.rules.findIndex((h) => h.rule === rule && h.resolvedAt === undefined);
      if (i < 0) return undefined;
      const rules = open.rules.map((h, j) => (j === i ? { ...h, resolvedAt: to } : h));
      if (rules.some((h) => h.resolvedAt === undefined)) {
        const a: Alert = { ...open, rules, updatedAt: now };
        this.incidents.set(p.machine, a);
        return { kind: 'rule_resolved', alert: a, at: now, by: 'rule', notify: false, rule };
      }
      // Over when the last of its rules clears (in event time: a late sample may clear a rule at an earlier time than another's).
      const resolvedAt = Math.max(...rules.map((h) => h.resolvedAt!));
      this.incidents.delete(p.machine);
      return { kind: 'resolved', alert: { ...open, rules, state: 'resolved', resolvedAt, updatedAt: now }, at: now, by: 'rule', notify: true, rule };
    }
    return undefined;
  }

  private newAlert(p: Pair, obs: Observation, startedAt: number, at: number, windowStart: number | undefined, now: number): Alert {
    const r = p.rule;
    return {
      id: `${p.machine}|${r.id}|${startedAt}`,
      machine: p.machine,
      line: lineOf(p.machine),
      rule: r.id,
      ruleType: r.type,
      severity: r.severity,
      state: 'firing',
      value: obs.value,
      threshold: obs.limit,
      parts: obs.parts,
      startedAt,
      windowStart,
      acknowledgedAt: undefined,
      acknowledgedBy: undefined,
      comment: undefined,
      resolvedAt: undefined,
      updatedAt: now,
      message: `${pct(obs.value)} scrap on ${p.machine} over ${obs.parts} parts, above the ${RULE_WORDS[r.type]} of ${pct(obs.limit)} (rule ${r.id}, ${new Date(at).toISOString()})`,
      rules: [ruleHit(p, obs, startedAt)],
    };
  }
}

/** What a pair's rule fired on, as it joins an incident. */
function ruleHit(p: Pair, obs: Observation, firedAt: number): AlertRuleHit {
  return { rule: p.rule.id, ruleType: p.rule.type, severity: p.rule.severity, value: obs.value, threshold: obs.limit, parts: obs.parts, firedAt, resolvedAt: undefined };
}
