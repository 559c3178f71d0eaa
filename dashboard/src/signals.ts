import type { Locale } from './context.js';
import type { MessageKey } from './i18n.js';

const LABELS: Record<string, MessageKey> = {
  parts_total: 'signal.parts_total',
  parts_good: 'signal.parts_good',
  parts_scrap: 'signal.parts_scrap',
  parts_rework: 'signal.parts_rework',
  material_in_kg: 'signal.material_in_kg',
  good_kg: 'signal.good_kg',
  scrap_kg: 'signal.scrap_kg',
};

/**
 * What the machine page says of the signals it declares but no source maps, or undefined when
 * there are none: the KPIs that need them show '–', and this says why.
 */
export function notMeasuredNote(t: Locale['t'], notMeasured: readonly string[]): string | undefined {
  if (notMeasured.length === 0) return undefined;
  const names = notMeasured.map((s) => (LABELS[s] === undefined ? s : t(LABELS[s])));
  return t('machine.notMeasured', { signals: names.join(', ') });
}
