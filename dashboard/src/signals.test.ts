import { describe, expect, it } from 'vitest';
import { translate } from './i18n.js';
import { notMeasuredNote } from './signals.js';

describe('signals a machine declares but no source maps', () => {
  it('are named on the machine page in the reader\'s language, and nothing is said when every signal is measured', () => {
    expect(notMeasuredNote((k, v) => translate('en', k, v), ['parts_total', 'material_in_kg'])).toBe(
      'Not measured (no source reads them): parts made, material in (kg). What needs them shows –, never 0.',
    );
    expect(notMeasuredNote((k, v) => translate('nl', k, v), ['material_in_kg'])).toBe('Niet gemeten (geen bron leest ze): materiaal in (kg). Wat ze nodig heeft toont –, nooit 0.');
    // A signal the dashboard has no words for yet keeps its canonical name.
    expect(notMeasuredNote((k, v) => translate('en', k, v), ['state_seconds'])).toMatch(/: state_seconds\./);
    expect(notMeasuredNote((k, v) => translate('en', k, v), [])).toBeUndefined();
  });
});
