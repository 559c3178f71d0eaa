import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../agent/src/core/package-root.js';

/** What one measurement of the influxdb sink carries, as its README documents it. */
export interface MeasurementSchema {
  tags: Set<string>;
  fields: Set<string>;
  /** Fields named by a pattern such as `crm_loss_kg_<element>`: the part before `<`. */
  fieldPrefixes: Set<string>;
}

const README = join(packageRoot(), 'agent', 'src', 'sinks', 'influxdb', 'README.md');

const names = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

function addFields(m: MeasurementSchema, list: readonly string[]): void {
  for (const n of list) {
    const at = n.indexOf('<');
    if (at > 0) m.fieldPrefixes.add(n.slice(0, at));
    else m.fields.add(n);
  }
}

/**
 * The measurements, tags and fields of agent/src/sinks/influxdb/README.md, "Schema", read from
 * its tables, so that what the dashboard may query is what the sink's documentation promises.
 */
export function documentedInfluxSchema(): Map<string, MeasurementSchema> {
  const text = readFileSync(README, 'utf8');
  const section = text.slice(text.indexOf('## Schema'), text.indexOf('\n## ', text.indexOf('## Schema') + 1));
  const rows = section.split('\n').filter((l) => l.startsWith('|')).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  const window: MeasurementSchema = { tags: new Set(), fields: new Set(), fieldPrefixes: new Set() };
  let measurement: string | undefined;
  let split: string[] | undefined;
  const out = new Map<string, MeasurementSchema>();
  for (const [kind = '', a = '', b = ''] of rows) {
    if (kind === 'measurement') measurement = names(a)[0];
    else if (kind === 'tag') names(a).forEach((n) => window.tags.add(n));
    else if (split === undefined && kind.startsWith('field')) {
      // The float row names its fields in the value column ("every KPI … by its snake_case name").
      addFields(window, names(a).length > 0 ? names(a) : names(b));
    } else if (kind === '' && a.includes('<measurement>_by_')) {
      split = [a, b].map((c) => names(c)[0]!);
      for (const s of split) out.set(s, { tags: new Set(), fields: new Set(), fieldPrefixes: new Set() });
    } else if (split !== undefined && kind === 'tags') {
      // "the window's tags, plus `reason` (…)": the tag after "plus"; the rest are its values.
      [a, b].forEach((c, i) => {
        const m = out.get(split![i]!)!;
        window.tags.forEach((t) => m.tags.add(t));
        m.tags.add(names(c.slice(c.indexOf('plus')))[0]!);
      });
    } else if (split !== undefined && kind.startsWith('field')) {
      [a, b].forEach((c, i) => addFields(out.get(split![i]!)!, names(c)));
    }
  }
  if (measurement === undefined || split === undefined) throw new Error(`${README}: no schema tables found under "## Schema"`);
  const resolved = new Map<string, MeasurementSchema>([[measurement, window]]);
  for (const [name, m] of out) resolved.set(name.replace('<measurement>', measurement), m);
  return resolved;
}

/** True when `field` is one of the measurement's documented fields or matches a documented pattern. */
export function isDocumentedField(m: MeasurementSchema, field: string): boolean {
  return m.fields.has(field) || [...m.fieldPrefixes].some((p) => field.startsWith(p) && field.length > p.length);
}
