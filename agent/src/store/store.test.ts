import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Aggregate } from '../core/aggregate.js';
import { YieldwatchError } from '../core/errors.js';
import { emptyQuality } from '../kpi/quality.js';
import { MIGRATIONS } from './migrations.js';
import { privacyWarnings } from './private-files.js';
import { Store } from './store.js';

const dirs: string[] = [];
function tempDb(): string {
  const d = mkdtempSync(join(tmpdir(), 'yw-store-'));
  dirs.push(d);
  return join(d, 'sub', 'yieldwatch.db');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function agg(machine: string, windowStart: number, good: number, revision = 0): Aggregate {
  return {
    machine,
    windowStart,
    windowEnd: windowStart + 60_000,
    revision,
    product: 'p',
    material: 'm',
    partMassKg: 0.5,
    components: { parts_good: good },
    quality: emptyQuality(),
    kpis: { parts_total: good, parts_good: good },
    method: 'yieldwatch-kpi/1',
    emittedAt: windowStart + 70_000,
  };
}

describe('Store', () => {
  it('creates its folder, runs the migrations and uses WAL with synchronous=FULL', () => {
    const file = tempDb();
    new Store({ path: file }).close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const s = new Store({ path: file });
    // synchronous is per connection: read it through the store's own connection.
    expect((s as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true })).toBe(2);
    s.close();
  });

  it('makes its folder readable by its owner only (0700), and the store with its -wal and -shm files 0600', () => {
    const file = tempDb();
    const s = new Store({ path: file });
    s.transaction(() => s.outbox.append('influx', 1, 'w1', 'line'));
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(dirname(file))).toBe(0o700);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      expect(existsSync(f), f).toBe(true);
      expect(mode(f), f).toBe(0o600);
    }
    s.close();
    // An existing folder keeps the mode an administrator gave it; a new store in it is private all the same.
    const shared = join(dirname(dirname(file)), 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o750);
    new Store({ path: join(shared, 'yieldwatch.db') }).close();
    expect(mode(shared)).toBe(0o750);
    expect(mode(join(shared, 'yieldwatch.db'))).toBe(0o600);
    // A store that exists keeps its mode too (the agent warns about one others may read: privacyWarnings).
    const open = join(shared, 'old.db');
    writeFileSync(open, '');
    chmodSync(open, 0o644);
    new Store({ path: open }).close();
    expect(mode(open)).toBe(0o644);
    expect(privacyWarnings(shared, open)).toEqual([`The local store ${open} may be read by every user of this machine; close it with: chmod 600 ${open}*`]);
    chmodSync(shared, 0o755);
    expect(privacyWarnings(shared, join(shared, 'yieldwatch.db'))).toEqual([`The data folder ${shared} (agent.dataDir) may be read by every user of this machine; close it with: chmod 700 ${shared}`]);
    expect(privacyWarnings(dirname(file), file)).toEqual([]);
  });

  it('refuses a store written by a newer yieldwatch, naming the versions', () => {
    const file = tempDb();
    new Store({ path: file }).close();
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    let err: unknown;
    try {
      new Store({ path: file });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(YieldwatchError);
    expect((err as YieldwatchError).code).toBe('YW_ERR_STORE_VERSION');
    expect((err as Error).message).toMatch(new RegExp(`schema version ${MIGRATIONS.length + 1}.*\\(${MIGRATIONS.length}\\)`));
  });

  it('a second process opens the store beside its owner: the file must exist with this schema (never migrated under the owner); a transaction takes the write lock before it reads', () => {
    const file = tempDb();
    expect(() => new Store({ path: file, secondary: true })).toThrow(/Cannot open the local store/);
    const owner = new Store({ path: file });
    const second = new Store({ path: file, secondary: true });
    second.transaction(() => second.putAggregate(agg('a/l/m', 0, 1)));
    // A transaction takes the write lock before it reads (BEGIN IMMEDIATE): another process cannot write between its read and its write.
    const other = new Database(file, { timeout: 50 });
    owner.transaction(() => {
      const before = owner.countAggregates();
      expect(() => other.prepare("INSERT INTO store_meta (key, value) VALUES ('x', 1)").run()).toThrow(/database is locked/);
      owner.putAggregate(agg('a/l/m', 60_000, before + 1));
    });
    other.close();
    expect(second.queryAggregates().map((a) => a.kpis.parts_good)).toEqual([1, 2]);
    second.close();
    owner.close();
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length - 1}`);
    db.close();
    expect(() => new Store({ path: file, secondary: true })).toThrow(/older than this yieldwatch's .*start the agent of this version once/);
    expect(new Database(file, { readonly: true }).pragma('user_version', { simple: true })).toBe(MIGRATIONS.length - 1);
  });

  it('a read-only second process (yieldwatch report) reads beside the owner in the middle of a write, and can write nothing', () => {
    const file = tempDb();
    expect(() => new Store({ path: file, readOnly: true })).toThrow(/Cannot open the local store/);
    const owner = new Store({ path: file });
    owner.transaction(() => owner.putAggregate(agg('a/l/m', 0, 1)));
    // The owner holds the write lock with a window not yet committed: the reader sees what was committed.
    const writing = new Database(file);
    writing.exec('BEGIN IMMEDIATE');
    writing.prepare("INSERT INTO store_meta (key, value) VALUES ('x', 1)").run();
    const reader = new Store({ path: file, readOnly: true });
    expect(reader.queryAggregates().map((a) => a.kpis.parts_good)).toEqual([1]);
    writing.exec('COMMIT');
    writing.close();
    expect(() => reader.transaction(() => reader.putAggregate(agg('a/l/m', 60_000, 2)))).toThrow(/readonly/);
    expect(owner.queryAggregates().map((a) => a.kpis.parts_good)).toEqual([1]);
    reader.close();
    owner.close();
    // A store one version behind is refused, not migrated.
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length - 1}`);
    db.close();
    expect(() => new Store({ path: file, readOnly: true })).toThrow(/older than this yieldwatch's/);
    expect(new Database(file, { readonly: true }).pragma('user_version', { simple: true })).toBe(MIGRATIONS.length - 1);
  });

  it('counts windows, reads one window\'s revision, and keeps numbers under a key', () => {
    const s = new Store({ path: ':memory:' });
    for (let i = 0; i < 5; i++) s.putAggregate(agg(i % 2 === 0 ? 'a/l/m' : 'a/l/n', i * 60_000, i, i));
    expect(s.countAggregates()).toBe(5);
    expect(s.countAggregates({ from: 60_000, to: 240_000 })).toBe(3);
    expect(s.countAggregates({ machine: 'a/l/n' })).toBe(2);
    expect(s.aggregateRevision('a/l/m', 120_000)).toBe(2);
    expect(s.aggregateRevision('a/l/m', 60_000)).toBeUndefined();
    expect(s.meta('backfill x')).toBeUndefined();
    s.setMeta('backfill x', 42);
    expect(s.meta('backfill x')).toBe(42);
    s.setMeta('backfill x', undefined);
    expect(s.meta('backfill x')).toBeUndefined();
    s.close();
  });

  it('an older store\'s audit trail gets the rule each event was about (none for an acknowledgement), and its alerts read with their one rule', () => {
    const file = tempDb();
    new Store({ path: file }).close();
    const db = new Database(file);
    // As the version before incidents left it: no rule column on the events, no rules in the alerts.
    const incidents = MIGRATIONS.findIndex((m) => typeof m === 'string' && m.includes('ALTER TABLE alert_events ADD COLUMN rule'));
    db.exec('DROP TABLE alert_events; DROP TRIGGER machine_windows_insert; DROP TRIGGER machine_windows_delete; DROP TABLE machine_windows');
    for (const m of MIGRATIONS.slice(0, incidents)) if (typeof m === 'string' && m.includes('CREATE TABLE alert_events')) db.exec(m.slice(m.indexOf('CREATE TABLE alert_events')));
    db.pragma(`user_version = ${incidents}`);
    const alert = { id: 'p/l/m|t|1000', machine: 'p/l/m', line: 'p/l', rule: 't', ruleType: 'threshold', severity: 'warning', state: 'acknowledged', value: 0.3, threshold: 0.15, parts: 40, startedAt: 1000, updatedAt: 3000, message: '' };
    const data = JSON.stringify(alert);
    db.prepare('INSERT INTO alerts (id, machine, line, rule, severity, state, started_at, resolved_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)').run(alert.id, alert.machine, alert.line, 't', 'warning', 'acknowledged', 1000, 3000, data);
    db.prepare('INSERT INTO alert_events (alert_id, kind, at, by, machine, data) VALUES (?, ?, ?, ?, ?, ?)').run(alert.id, 'fired', 2000, 'rule', alert.machine, data);
    db.prepare('INSERT INTO alert_events (alert_id, kind, at, by, machine, data) VALUES (?, ?, ?, ?, ?, ?)').run(alert.id, 'acknowledged', 3000, 'Anna', alert.machine, data);
    db.close();
    const s = new Store({ path: file });
    expect(s.alerts.events({ alertId: alert.id }).map((e) => [e.kind, e.rule])).toEqual([
      ['fired', 't'],
      ['acknowledged', undefined],
    ]);
    expect(s.alerts.get(alert.id)!.rules).toEqual([{ rule: 't', ruleType: 'threshold', severity: 'warning', value: 0.3, threshold: 0.15, parts: 40, firedAt: 1000, resolvedAt: undefined }]);
    s.close();
  });

  it('counts each machine\'s windows as they are stored, revised and pruned, without reading them; an older store is counted once at its upgrade', () => {
    const file = tempDb();
    const first = new Store({ path: file });
    for (let i = 0; i < 3; i++) first.putAggregate(agg('s/l/a', i * 60_000, 5));
    for (let i = 0; i < 2; i++) first.putAggregate(agg('s/l/b', i * 60_000, 5));
    first.close();
    // As the version before the counts left it: the same windows, no count table.
    const counts = MIGRATIONS.findIndex((m) => typeof m === 'string' && m.includes('CREATE TABLE machine_windows'));
    const raw = new Database(file);
    raw.exec('DROP TRIGGER machine_windows_insert; DROP TRIGGER machine_windows_delete; DROP TABLE machine_windows');
    raw.pragma(`user_version = ${counts}`);
    raw.close();
    const s = new Store({ path: file });
    expect(s.machineSummary()).toEqual([
      { machine: 's/l/a', windows: 3, lastWindowStart: 120_000 },
      { machine: 's/l/b', windows: 2, lastWindowStart: 60_000 },
    ]);
    s.putAggregate(agg('s/l/a', 180_000, 5));
    // A revision replaces its window: no new one.
    s.putAggregate(agg('s/l/a', 180_000, 7, 1));
    expect(s.machineSummary()[0]).toEqual({ machine: 's/l/a', windows: 4, lastWindowStart: 180_000 });
    s.prune(120_000);
    expect(s.machineSummary()).toEqual([{ machine: 's/l/a', windows: 2, lastWindowStart: 180_000 }]);
    expect(s.machineSummary().reduce((n, m) => n + m.windows, 0)).toBe(s.queryAggregates().length);
    s.close();
  });

  it('keeps a window\'s breakdowns and replaces them with its revision; a window without has none, also one stored before they existed', () => {
    const file = tempDb();
    // A store as the previous version left it: every migration but the breakdowns column, and one window.
    const old = new Database(file.replace('/sub/', '/'));
    old.exec(MIGRATIONS.slice(0, 4).join('\n'));
    old.pragma('user_version = 4');
    const a0 = agg('s/l/old', 0, 5);
    old.prepare(`INSERT INTO aggregates (machine, window_start, window_end, revision, product, material, part_mass_kg, components, quality, kpis, method, first_emitted_at, emitted_at)
      VALUES (?, 0, 60000, 0, 'p', 'm', 0.5, ?, ?, ?, 'yieldwatch-kpi/1', 70000, 70000)`).run(a0.machine, JSON.stringify(a0.components), JSON.stringify(a0.quality), JSON.stringify(a0.kpis));
    old.close();
    const s = new Store({ path: file.replace('/sub/', '/') });
    expect(s.getAggregate('s/l/old', 0)).toEqual(a0);
    // Hours are kept from the hour after the last window stored before they existed; rollups read the windows before it.
    expect(s.rollupSumsFrom('hour')).toBe(3_600_000);
    expect(s.rollupSumsFrom('day')).toBe(2 * 86_400_000);
    const fresh = new Store({ path: ':memory:' });
    expect(fresh.rollupSumsFrom('hour')).toBeLessThan(-1e15);
    fresh.close();
    // Shift sums follow the calendars they were summed under: a changed calendar makes them complete only from then on.
    s.noteShiftCalendars(11, 1000);
    s.noteShiftCalendars(11, 2000);
    expect(s.rollupSumsFrom('shift')).toBe(1000);
    s.noteShiftCalendars(12, 3000);
    expect(s.rollupSumsFrom('shift')).toBe(3000);
    const withReasons = { ...agg('s/l/m', 60_000, 9), breakdowns: { reason: { burr: { parts_scrap: 2 } } }, split: { reason: { burr: { parts_scrap: 2 } } } };
    s.putAggregate(withReasons);
    expect(s.getAggregate('s/l/m', 60_000)).toEqual(withReasons);
    const revised = { ...withReasons, revision: 1, breakdowns: { reason: { burr: { parts_scrap: 2 }, crack: { parts_scrap: 1 } } } };
    s.putAggregate(revised);
    expect(s.queryAggregates({ machine: 's/l/m' })).toEqual([revised]);
    s.putAggregate(agg('s/l/m', 120_000, 3));
    expect('breakdowns' in s.getAggregate('s/l/m', 120_000)!).toBe(false);
    expect('split' in s.getAggregate('s/l/m', 120_000)!).toBe(false);
    s.close();
  });

  it('a revision replaces its window: one row per machine and window start', () => {
    const s = new Store({ path: ':memory:' });
    s.putAggregate(agg('a/l/m', 0, 10));
    s.putAggregate(agg('a/l/m', 0, 12, 1));
    s.putAggregate(agg('a/l/m', 60_000, 5));
    const rows = s.queryAggregates({ machine: 'a/l/m' });
    expect(rows.map((r) => [r.windowStart, r.revision, r.components.parts_good])).toEqual([
      [0, 1, 12],
      [60_000, 0, 5],
    ]);
    s.close();
  });

  it('retention: prune deletes windows that started before the cut-off and nothing else', () => {
    const s = new Store({ path: ':memory:' });
    for (let i = 0; i < 5; i++) s.putAggregate(agg('a/l/m', i * 60_000, i));
    expect(s.prune(2 * 60_000)).toBe(2);
    expect(s.queryAggregates().map((r) => r.windowStart)).toEqual([120_000, 180_000, 240_000]);
    s.close();
  });

  it('a failed transaction leaves nothing behind', () => {
    const s = new Store({ path: ':memory:' });
    expect(() =>
      s.transaction(() => {
        s.putAggregate(agg('a/l/m', 0, 1));
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(s.queryAggregates()).toEqual([]);
    s.close();
  });

  it('the windows as sums read them: the same machine, bounds, material, product, KPIs, quality and split as the whole windows, in the same order', () => {
    const s = new Store({ path: ':memory:' });
    const split = { reason: { burr: { parts_scrap: 2, scrap_kg: 1 } }, destination: { external_recycling: { scrap_kg: 1 } } };
    s.putAggregate({ ...agg('a/l/m2', 60_000, 5), split, breakdowns: { reason: { burr: { parts_scrap: 2 } } } });
    s.putAggregate({ ...agg('a/l/m1', 60_000, 3), product: undefined, material: undefined });
    s.putAggregate(agg('a/l/m1', 0, 4));
    const q = { from: 0, to: 120_000 };
    const kpisOf = ({ machine, windowStart, windowEnd, material, product, kpis, quality, split }: Aggregate) => ({ machine, windowStart, windowEnd, material, product, kpis, quality, ...(split !== undefined ? { split } : {}) });
    expect([...s.iterateAggregateKpis(q)]).toEqual([...s.iterateAggregates(q)].map(kpisOf));
    expect([...s.iterateAggregateKpis({ machine: 'a/l/m1' })].map((w) => w.windowStart)).toEqual([0, 60_000]);
    s.close();
  });

  it('rejection counts add up per hour and reason', () => {
    const s = new Store({ path: ':memory:' });
    s.addRejections(0, new Map([['invalid_json', 2]]));
    s.addRejections(0, new Map([['invalid_json', 3], ['wrong_type', 1]]));
    s.addRejections(3_600_000, new Map([['invalid_json', 1]]));
    expect(s.rejectionTotals()).toEqual({ invalid_json: 6, wrong_type: 1 });
    s.close();
  });

  it('a scheduled report is recorded once per schedule and period, with its outbox records or not at all; its files are pruned, its record stays', () => {
    const file = tempDb();
    const s = new Store({ path: file });
    const run = { schedule: 'daily', period: '2026-11-03', periodStart: 1000, periodEnd: 2000, occurrence: 2500, madeAt: 3000, files: ['a.csv', 'a.pdf'] };
    const make = (madeAt: number) =>
      s.transaction(() => {
        if (!s.reportRuns.record({ ...run, madeAt })) return false;
        s.outbox.append('report.daily.webhook', madeAt, 'report daily 2026-11-03', '{}');
        return true;
      });
    // A transaction that fails after recording leaves neither the run nor its records.
    expect(() =>
      s.transaction(() => {
        s.reportRuns.record(run);
        s.outbox.append('report.daily.webhook', 3000, 'report daily 2026-11-03', '{}');
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(s.reportRuns.has('daily', '2026-11-03')).toBe(false);
    expect(s.outbox.stats('report.daily.webhook').pendingRecords).toBe(0);
    expect(make(3000)).toBe(true);
    expect(make(4000)).toBe(false);
    expect(s.outbox.stats('report.daily.webhook').pendingRecords).toBe(1);
    s.close();
    const again = new Store({ path: file });
    expect(again.reportRuns.get('daily', '2026-11-03')).toEqual({ ...run, prunedAt: undefined, status: 'made', attempts: 1, error: undefined });
    expect(again.reportRuns.has('daily', '2026-11-04')).toBe(false);
    expect(again.reportRuns.unpruned(3000)).toEqual([]);
    expect(again.reportRuns.unpruned(3001).map((r) => r.period)).toEqual(['2026-11-03']);
    again.reportRuns.markPruned('daily', '2026-11-03', 9000);
    expect(again.reportRuns.unpruned(10_000)).toEqual([]);
    expect(again.reportRuns.list()).toEqual([{ ...run, prunedAt: 9000, status: 'made', attempts: 1, error: undefined }]);
    again.close();
  });

  it('a failed scheduled report is recorded with its error and attempts, becomes made when an attempt succeeds, and never overwrites one made', () => {
    const s = new Store({ path: ':memory:' });
    const run = { schedule: 'daily', period: '2026-11-03', periodStart: 1000, periodEnd: 2000, occurrence: 2500, madeAt: 3000, files: [] };
    expect(s.reportRuns.firstPeriodStart('daily')).toBeUndefined();
    s.reportRuns.recordFailure({ ...run, error: 'disk I/O error' });
    // A file it could not remove again is kept with it, so that pruning deletes it.
    s.reportRuns.recordFailure({ ...run, madeAt: 3060, files: ['a.csv'], error: 'no space left on device' });
    expect(s.reportRuns.has('daily', '2026-11-03')).toBe(false);
    expect(s.reportRuns.get('daily', '2026-11-03')).toMatchObject({ status: 'failed', attempts: 2, error: 'no space left on device', madeAt: 3060, files: ['a.csv'] });
    expect(s.reportRuns.firstPeriodStart('daily')).toBe(1000);
    expect(s.reportRuns.unpruned(4000).map((r) => r.files)).toEqual([['a.csv']]);
    expect(s.transaction(() => s.reportRuns.record({ ...run, madeAt: 3180, files: ['a.csv', 'a.pdf'] }))).toBe(true);
    expect(s.reportRuns.get('daily', '2026-11-03')).toEqual({ ...run, madeAt: 3180, files: ['a.csv', 'a.pdf'], prunedAt: undefined, status: 'made', attempts: 3, error: undefined });
    s.reportRuns.recordFailure({ ...run, madeAt: 4000, error: 'late' });
    expect(s.reportRuns.record({ ...run, madeAt: 5000 })).toBe(false);
    expect(s.reportRuns.get('daily', '2026-11-03')).toMatchObject({ status: 'made', madeAt: 3180, attempts: 3 });
    s.close();
  });
});
