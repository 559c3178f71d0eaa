import type { AlertRule } from './config.js';
import type { Observation } from './rules.js';

/** Where one (machine, rule) pair stands between observations. */
export interface RuleState {
  /** Open alert (firing or acknowledged) of this pair. */
  open: boolean;
  /** Event time the current run of breaches started, while not open. */
  breachSince: number | undefined;
  /** Event time before which the pair does not fire again (cooldown after a resolve). */
  quietUntil: number;
}

export const FRESH: RuleState = { open: false, breachSince: undefined, quietUntil: -Infinity };

export type Transition = 'fire' | 'resolve' | 'update' | 'none';

/**
 * One step of the alert lifecycle (pure). `from` is the event time the observation starts
 * (window start; the sample's time for the fast rule), `to` the time it ends (window end).
 * Fires when breaching for at least `minDuration` (consecutive judged breaches) outside the
 * cooldown; resolves on a clear observation (below the limit with hysteresis).
 */
export function step(state: RuleState, obs: Observation, from: number, to: number, rule: Pick<AlertRule, 'minDuration' | 'cooldown'>): { state: RuleState; transition: Transition } {
  // An unjudged window (idle, too few parts) neither resolves an open alert nor continues a breach run.
  if (!obs.judged) return state.breachSince === undefined ? { state, transition: 'none' } : { state: { ...state, breachSince: undefined }, transition: 'none' };
  if (state.open) {
    if (obs.clear) return { state: { open: false, breachSince: undefined, quietUntil: to + rule.cooldown }, transition: 'resolve' };
    return { state, transition: 'update' };
  }
  if (obs.breach) {
    const since = state.breachSince ?? from;
    if (to - since >= rule.minDuration && to >= state.quietUntil) return { state: { ...state, open: true, breachSince: undefined }, transition: 'fire' };
    return { state: { ...state, breachSince: since }, transition: 'none' };
  }
  if (obs.clear && state.breachSince !== undefined) return { state: { ...state, breachSince: undefined }, transition: 'none' };
  return { state, transition: 'none' };
}
