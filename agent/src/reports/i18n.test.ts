import { describe, expect, it } from 'vitest';
import { REPORT_LANGUAGES } from '../api/report-contract.js';
import { REPORT_WORDS, reportWords, translate } from './i18n.js';
import { pdfText } from './pdf.js';

describe('the report in English and Dutch', () => {
  const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

  it('every language has every key, none empty, with the same placeholders as English', () => {
    const en = REPORT_WORDS.en as Record<string, string>;
    for (const lang of REPORT_LANGUAGES) {
      const words = REPORT_WORDS[lang] as Record<string, string>;
      expect(Object.keys(words).sort(), lang).toEqual(Object.keys(en).sort());
      for (const [key, text] of Object.entries(words)) {
        expect(text.trim(), `${lang} ${key}`).not.toBe('');
        expect(placeholders(text), `${lang} ${key}`).toEqual(placeholders(en[key]!));
      }
    }
  });

  it('sheet names fit Excel (31 characters, none of []:*?/\\)', () => {
    for (const lang of REPORT_LANGUAGES) {
      for (const [key, text] of Object.entries(REPORT_WORDS[lang])) {
        if (!key.startsWith('sheet.')) continue;
        expect(text.length, `${lang} ${key}`).toBeLessThanOrEqual(31);
        expect(text, `${lang} ${key}`).not.toMatch(/[[\]:*?/\\]/);
      }
    }
  });

  it('every word can be drawn in the PDF’s standard fonts', () => {
    for (const lang of REPORT_LANGUAGES) for (const [key, text] of Object.entries(REPORT_WORDS[lang])) expect(pdfText(text), `${lang} ${key}`).toBe(text);
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(translate('nl', 'meta.machines', { count: 3 })).toBe('3 machines');
    expect(translate('en', 'footer.page', { page: 1 })).toBe('Page 1 of {pages}');
  });

  it('formats numbers, shares, money and times as each language writes them, in the site’s time', () => {
    const en = reportWords('en', 'Europe/Amsterdam');
    const nl = reportWords('nl', 'Europe/Amsterdam');
    expect(en.share(0.9512)).toBe('95.1%');
    expect(nl.share(0.9512)).toBe('95,1%');
    expect(en.share(undefined)).toBe('–');
    expect(en.kg(12345.67)).toBe('12,346');
    expect(nl.kg(123.456)).toBe('123,5');
    expect(nl.kg(1.234)).toBe('1,23');
    expect(en.points(0.0123)).toBe('+1.2 pp');
    expect(nl.points(-0.0123)).toBe('-1,2 %-punt');
    expect(en.change(0.25)).toBe('+25%');
    expect(en.money(1234.5, 'EUR')).toBe('€1,235');
    expect(nl.money(12.5, 'EUR').replace(/\s/g, ' ')).toBe('€ 12,50');
    // 1 October 2026 00:00 in Amsterdam is 30 September 22:00 UTC.
    const t = Date.UTC(2026, 8, 30, 22);
    expect(en.dateTime(t)).toBe('1 Oct 2026, 00:00');
    expect(nl.dateTime(t)).toBe('1 okt 2026, 00:00');
    expect(en.duration(54 * 3_600_000)).toBe('2 d 6 h');
    expect(nl.duration(3_600_000)).toBe('1 u');
    expect(en.duration(90 * 60_000)).toBe('1 h 30 min');
    expect(en.list(['2,440 kg', '€5,396', '20,812 kg CO2e'])).toBe('2,440 kg, €5,396 and 20,812 kg CO2e');
    expect(nl.list(['a', 'b', 'c'])).toBe('a, b en c');
    expect(nl.reason('unassigned')).toBe('Geen oorzaak opgegeven');
    expect(nl.reason('flash', { en: 'Flash', nl: 'Braam' })).toBe('Braam');
    expect(nl.destination('internal_reuse')).toBe('Intern hergebruikt (maalgoed, omsmelten)');
  });

  it('makes PDF text out of what the fonts lack', () => {
    expect(pdfText('−1,2 ≥ 3 CO₂ 1\u202f000 € ë ï')).toBe('-1,2 >= 3 CO2 1\u00a0000 € ë ï');
    expect(pdfText('Łódź')).toBe('?ódź'.replace('ź', '?'));
  });
});
