import { describe, expect, it } from 'vitest';
import { inScope, parseScope } from './scope.js';

const known = {
  machines: ['north/press/l1/m1', 'north/press/l1/m2', 'north/press/l2/m3', 'south/l1/m4'],
  materials: ['S235', 'AlMg3'],
  products: ['bracket'],
};
const scope = (s?: string) => parseScope(s, known);

describe('report scopes', () => {
  it('all, and each structural level by its full name', () => {
    expect(scope()).toEqual({ spec: 'all', machines: known.machines });
    expect(scope('site:north')).toMatchObject({ spec: 'site:north', machines: known.machines.slice(0, 3) });
    expect(scope('area:north/press')).toMatchObject({ machines: known.machines.slice(0, 3) });
    // A 3-level path's area is its site, as in rollups.
    expect(scope('area:south')).toMatchObject({ machines: ['south/l1/m4'] });
    expect(scope('line:north/press/l2')).toMatchObject({ spec: 'line:north/press/l2', machines: ['north/press/l2/m3'] });
    expect(scope('machine:south/l1/m4')).toMatchObject({ machines: ['south/l1/m4'] });
  });

  it('a line is the machine path without the machine: SITE/AREA/LINE for 4-level paths, SITE/LINE for 3-level ones', () => {
    expect(scope('line:north/press/l1')).toMatchObject({ spec: 'line:north/press/l1', machines: ['north/press/l1/m1', 'north/press/l1/m2'] });
    expect(scope('line:south/l1')).toMatchObject({ spec: 'line:south/l1', machines: ['south/l1/m4'] });
    // SITE/LINE does not name a line of 4-level paths: the area is part of its name.
    expect(scope('line:north/l1')).toBe('unknown line "north/l1"; expected one of: north/press/l1, north/press/l2, south/l1');
    expect(scope('area:press')).toMatchObject({ spec: 'area:north/press', machines: known.machines.slice(0, 3) });
  });

  it('a unique last level is enough; an ambiguous one names the candidates', () => {
    expect(scope('line:l2')).toMatchObject({ spec: 'line:north/press/l2', machines: ['north/press/l2/m3'] });
    expect(scope('machine:m2')).toMatchObject({ spec: 'machine:north/press/l1/m2' });
    expect(scope('line:l1')).toBe('"line:l1" is ambiguous: line:north/press/l1, line:south/l1');
  });

  it('a material or product narrows the machines\' windows to those; terms combine', () => {
    const s = scope('site:north,material:S235');
    if (typeof s === 'string') throw new Error(s);
    expect(s).toEqual({ spec: 'site:north,material:S235', machines: known.machines.slice(0, 3), material: 'S235' });
    const keep = inScope(s);
    expect(keep({ machine: 'north/press/l1/m1', material: 'S235', product: undefined })).toBe(true);
    expect(keep({ machine: 'north/press/l1/m1', material: 'AlMg3', product: undefined })).toBe(false);
    expect(keep({ machine: 'south/l1/m4', material: 'S235', product: undefined })).toBe(false);
  });

  it('what does not exist is a sentence naming what does', () => {
    expect(scope('line:l9')).toBe('unknown line "l9"; expected one of: north/press/l1, north/press/l2, south/l1');
    expect(scope('material:steel')).toBe('unknown material "steel"; expected one of: S235, AlMg3');
    expect(scope('cell:x')).toMatch(/^"cell:x" is not a scope; expected all, site:SITE, area:SITE\/AREA .*line:SITE\/AREA\/LINE/);
    expect(scope('site:south,line:north/press/l1')).toBe('no machine is in all of site:south, line:north/press/l1');
    expect(scope('material:S235,material:AlMg3')).toBe('the scope names two materials');
  });
});
