import type { PartialSums } from '../core/rollup.js';

/** What a scope term names. */
export const SCOPE_KINDS = ['site', 'area', 'line', 'machine', 'material', 'product'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

/** A report's scope: the machines it covers and, optionally, one material or product. */
export interface ReportScope {
  /** As given, normalized: `all`, or terms such as `line:demo/l1,material:AlMg3`. */
  spec: string;
  /** Machine paths in scope. */
  machines: string[];
  material?: string;
  product?: string;
}

// A line is its machines' path without the machine, so it has the area in it where the paths do.
export const SCOPE_FORMS =
  'all, site:SITE, area:SITE/AREA (area:SITE for site/line/machine paths), line:SITE/LINE or line:SITE/AREA/LINE (the machine path without the machine; or just the line\'s name when it is unique), machine:PATH (or its last level), material:NAME, product:NAME, or several joined by commas (line:l1,material:S235)';

/** The groups of a machine path at each structural level; a 3-level path's area is its site (as in rollups). */
export function levelOf(kind: 'site' | 'area' | 'line' | 'machine', path: string): string {
  const l = path.split('/');
  switch (kind) {
    case 'site':
      return l[0]!;
    case 'area':
      return l.slice(0, l.length === 4 ? 2 : 1).join('/');
    case 'line':
      return l.slice(0, -1).join('/');
    case 'machine':
      return path;
  }
}

function oneOf(values: readonly string[]): string {
  return values.length === 0 ? 'none is configured' : `expected one of: ${values.slice(0, 20).join(', ')}${values.length > 20 ? ', …' : ''}`;
}

/**
 * Parses a scope as a user writes it (`SCOPE_FORMS`) against the known machines, materials and
 * products. A string is what is wrong with it.
 */
export function parseScope(spec: string | undefined, known: { machines: readonly string[]; materials: readonly string[]; products: readonly string[] }): ReportScope | string {
  const text = (spec ?? 'all').trim();
  if (text === '' || text === 'all') return { spec: 'all', machines: [...known.machines] };
  let machines = [...known.machines];
  const out: ReportScope = { spec: '', machines };
  const terms: string[] = [];
  for (const term of text.split(',').map((t) => t.trim())) {
    const m = /^([a-z]+):(.+)$/.exec(term);
    const kind = m?.[1] as ScopeKind | undefined;
    if (m === null || kind === undefined || !(SCOPE_KINDS as readonly string[]).includes(kind)) return `"${term}" is not a scope; expected ${SCOPE_FORMS}`;
    const value = m[2]!;
    if (kind === 'material' || kind === 'product') {
      const names = kind === 'material' ? known.materials : known.products;
      if (!names.includes(value)) return `unknown ${kind} "${value}"; ${oneOf(names)}`;
      if (out[kind] !== undefined && out[kind] !== value) return `the scope names two ${kind}s`;
      out[kind] = value;
      terms.push(`${kind}:${value}`);
      continue;
    }
    const groups = [...new Set(known.machines.map((p) => levelOf(kind, p)))].sort();
    // A full name, else a unique last level (`line:l1` for `demo/l1`).
    let group = groups.find((g) => g === value);
    if (group === undefined) {
      const byLast = groups.filter((g) => g.split('/').at(-1) === value);
      if (byLast.length > 1) return `"${kind}:${value}" is ambiguous: ${byLast.map((g) => `${kind}:${g}`).join(', ')}`;
      group = byLast[0];
    }
    if (group === undefined) return `unknown ${kind} "${value}"; ${oneOf(groups)}`;
    machines = machines.filter((p) => levelOf(kind, p) === group);
    terms.push(`${kind}:${group}`);
  }
  if (machines.length === 0) return `no machine is in all of ${terms.join(', ')}`;
  out.machines = machines;
  out.spec = terms.join(',');
  return out;
}

/** Whether sums are in the scope. */
export function inScope(scope: ReportScope): (p: Pick<PartialSums, 'machine' | 'material' | 'product'>) => boolean {
  const machines = new Set(scope.machines);
  return (p) => machines.has(p.machine) && (scope.material === undefined || p.material === scope.material) && (scope.product === undefined || p.product === scope.product);
}
