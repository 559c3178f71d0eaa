import { expect } from 'vitest';
import type { Aggregate } from '../../agent/src/core/aggregate.js';
import { QUALITY_COUNTS } from '../../agent/src/core/aggregate.js';
import type { InfluxRow } from './influxdb.js';

/**
 * Every stored window is exactly one InfluxDB point with the same values, and there are no
 * other points. `rows` come from `SELECT * FROM <measurement> GROUP BY *` with `epoch: 'ms'`.
 */
export function expectRowsEqualStore(rows: readonly InfluxRow[], stored: readonly Aggregate[], agent: string): void {
  const byKey = new Map<string, InfluxRow>();
  for (const r of rows) {
    const key = `${r.site}/${r.area ? `${r.area}/` : ''}${r.line}/${r.machine} ${r.time}`;
    expect(byKey.has(key), `two points for ${key}`).toBe(false);
    byKey.set(key, r);
  }
  for (const a of stored) {
    const r = byKey.get(`${a.machine} ${a.windowStart}`);
    expect(r, `window ${a.machine} ${a.windowStart} is not in InfluxDB`).toBeDefined();
    expect(r!.agent).toBe(agent);
    expect(r!.revision, `revision of ${a.machine} ${a.windowStart}`).toBe(a.revision);
    for (const [k, v] of Object.entries(a.kpis)) expect(r![k], `${a.machine} ${a.windowStart} ${k}`).toBe(v);
    for (const k of QUALITY_COUNTS) expect(r![`dq_${k}`]).toBe(a.quality[k]);
  }
  expect(byKey.size, 'points in InfluxDB vs windows in the store').toBe(stored.length);
}
