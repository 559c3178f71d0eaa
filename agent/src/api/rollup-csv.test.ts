import { describe, expect, it } from 'vitest';
import { rollupCsv } from './rollup-csv.js';

describe('rollup CSV', () => {
  it('a material named like a formula stays text in a spreadsheet; numbers, negative ones too, stay numbers', () => {
    const csv = rollupCsv(
      [
        { period: '2026-11', period_start: 0, period_end: 1, material: '=HYPERLINK("http://x","y")', windows: 2, coverage: 1, loss_cost: -0.5, method: 'm' },
        { period: '2026-11', period_start: 0, period_end: 1, material: 'steel', windows: 1, coverage: 0.5, loss_cost: 3, method: 'm' },
      ],
      'material',
    );
    const [header, first, second] = csv.trimEnd().split('\r\n');
    expect(header).toBe('period,period_start,period_end,material,windows,coverage,loss_cost,method');
    expect(first).toBe(`2026-11,1970-01-01T00:00:00.000Z,1970-01-01T00:00:00.001Z,"'=HYPERLINK(""http://x"",""y"")",2,1,-0.5,m`);
    expect(second).toBe('2026-11,1970-01-01T00:00:00.000Z,1970-01-01T00:00:00.001Z,steel,1,0.5,3,m');
  });
});
