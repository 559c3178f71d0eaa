import { describe, expect, it } from 'vitest';
import { LANGUAGES, translate } from './i18n.js';

describe('the dashboard in English and Dutch', () => {
  const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

  it('every language has every key, none empty, with the same placeholders as English', () => {
    const en = LANGUAGES.en as Record<string, string>;
    for (const [lang, words] of Object.entries(LANGUAGES) as [string, Record<string, string>][]) {
      expect(Object.keys(words).sort(), lang).toEqual(Object.keys(en).sort());
      for (const [key, text] of Object.entries(words)) {
        expect(text.trim(), `${lang} ${key}`).not.toBe('');
        expect(placeholders(text), `${lang} ${key}`).toEqual(placeholders(en[key]!));
      }
    }
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(translate('nl', 'tile.parts', { count: '1.234' })).toBe('1.234 stuks');
    expect(translate('en', 'tile.parts')).toBe('{count} parts');
  });
});
