import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from './store.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function fileStore(): { store: Store; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'yw-outbox-'));
  dirs.push(dir);
  const path = join(dir, 'yieldwatch.db');
  return { store: new Store({ path }), path };
}

const DAY = 86_400_000;
const BIG = { maxBytes: 1 << 30, maxAgeMs: 30 * DAY };

describe('outbox', () => {
  it('keeps records per sink in commit order until each sink acks them, across a restart', () => {
    const { store, path } = fileStore();
    store.transaction(() => {
      for (let i = 0; i < 5; i++) {
        store.outbox.append('influx', 1000 + i, `w${i}`, `line ${i}`);
        store.outbox.append('mqtt', 1000 + i, `w${i}`, `{"i":${i}}`);
      }
    });
    const first = store.outbox.next('influx', 3);
    expect(first.map((r) => r.payload)).toEqual(['line 0', 'line 1', 'line 2']);
    store.outbox.ack('influx', first, 2000);
    store.close();

    const again = new Store({ path });
    expect(again.outbox.next('influx', 10).map((r) => r.payload)).toEqual(['line 3', 'line 4']);
    expect(again.outbox.next('mqtt', 10)).toHaveLength(5);
    const s = again.outbox.stats('influx');
    expect(s).toMatchObject({ pendingRecords: 2, pendingBytes: 12, delivered: 3, lastSuccessAt: 2000, oldestCreatedAt: 1003, dropped: 0 });
    again.close();
  });

  it('an append in a transaction that fails leaves neither the record nor its count', () => {
    const { store } = fileStore();
    expect(() =>
      store.transaction(() => {
        store.outbox.append('influx', 1, 'w', 'line');
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(store.outbox.next('influx', 10)).toHaveLength(0);
    expect(store.outbox.stats('influx').pendingRecords).toBe(0);
    store.close();
  });

  it('beyond the byte bound the oldest records go first, counted as dropped; the newest stay', () => {
    const { store } = fileStore();
    store.transaction(() => {
      for (let i = 0; i < 100; i++) store.outbox.append('influx', i, `w${i}`, 'x'.repeat(100));
    });
    const dropped = store.transaction(() => store.outbox.enforceBound('influx', 100, { maxBytes: 2500, maxAgeMs: DAY }));
    expect(dropped).toEqual({ records: 75, bytes: 7500 });
    const left = store.outbox.next('influx', 1000);
    expect(left.map((r) => r.key)).toEqual(Array.from({ length: 25 }, (_, i) => `w${75 + i}`));
    expect(store.outbox.stats('influx')).toMatchObject({ pendingRecords: 25, pendingBytes: 2500, dropped: 75, droppedBytes: 7500 });
    store.close();
  });

  it('records older than the age bound are dropped and counted', () => {
    const { store } = fileStore();
    store.transaction(() => {
      for (let d = 0; d < 10; d++) store.outbox.append('influx', d * DAY, `day${d}`, 'line');
    });
    const dropped = store.transaction(() => store.outbox.enforceBound('influx', 9 * DAY, { maxBytes: 1 << 20, maxAgeMs: 7 * DAY }));
    expect(dropped.records).toBe(2);
    expect(store.outbox.next('influx', 100)[0]!.key).toBe('day2');
    expect(store.outbox.stats('influx').dropped).toBe(2);
    store.close();
  });

  it('a dead letter leaves the outbox with the answer, and acking a record the bound already dropped counts nothing twice', () => {
    const { store } = fileStore();
    store.transaction(() => {
      for (let i = 0; i < 3; i++) store.outbox.append('influx', i, `w${i}`, `line ${i}`);
    });
    const [a, b, c] = store.outbox.next('influx', 3);
    store.outbox.deadLetter(b!, 50, 'HTTP 400: unable to parse');
    expect(store.outbox.deadLetters('influx')).toEqual([{ id: b!.id, sink: 'influx', createdAt: 1, failedAt: 50, key: 'w1', payload: 'line 1', error: 'HTTP 400: unable to parse' }]);
    store.transaction(() => store.outbox.enforceBound('influx', 10, { maxBytes: 6, maxAgeMs: DAY }));
    store.outbox.ack('influx', [a!, c!], 60);
    expect(store.outbox.stats('influx')).toMatchObject({ pendingRecords: 0, pendingBytes: 0, delivered: 1, dropped: 1, deadLettered: 1 });
    store.close();
  });

  it('next() with a large backlog reads only the batch', () => {
    const store = new Store({ path: ':memory:' });
    store.transaction(() => {
      for (let i = 0; i < 20_000; i++) store.outbox.append('influx', i, `w${i}`, `line ${i}`);
    });
    const batch = store.outbox.next('influx', 5000);
    expect(batch).toHaveLength(5000);
    expect(batch[4999]!.payload).toBe('line 4999');
    expect(store.transaction(() => store.outbox.enforceBound('influx', 20_000, BIG))).toEqual({ records: 0, bytes: 0 });
    store.close();
  });
});

describe('a damaged store file', () => {
  it('does not stop start-up: the intact prefix of the outbox is kept, the loss is counted, and the damaged file is kept aside', () => {
    const { store, path } = fileStore();
    store.transaction(() => {
      for (let i = 0; i < 5000; i++) store.outbox.append('influx', i, `w${i}`, `${'x'.repeat(200)}${i}`);
    });
    store.close();
    // A failing card: the last 64 KiB of the file no longer read back as written.
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(64 * 1024, 0xab), 0, 64 * 1024, size - 64 * 1024);
    closeSync(fd);

    const again = new Store({ path });
    const r = again.recovery!;
    expect(r).toBeDefined();
    expect(r.problem).toMatch(/page|malformed|corrupt/i);
    expect(existsSync(r.damagedFile)).toBe(true);
    // The fresh store is made private like any new one.
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const outbox = r.tables.find((t) => t.table === 'outbox')!;
    expect(outbox.recovered).toBeGreaterThan(4000);
    expect(outbox.recovered).toBeLessThan(5000);
    // The prefix: records 0..n-1 in order, nothing after a gap.
    const kept = again.outbox.next('influx', 10_000);
    expect(kept.map((k) => k.key)).toEqual(Array.from({ length: outbox.recovered }, (_, i) => `w${i}`));
    expect(again.outbox.stats('influx')).toMatchObject({ pendingRecords: outbox.recovered, lost: 5000 - outbox.recovered });
    expect(r.lostRecords).toEqual({ influx: 5000 - outbox.recovered });
    // The new file is sound and takes writes.
    again.transaction(() => again.outbox.append('influx', 6000, 'after', 'line'));
    again.close();
    const third = new Store({ path });
    expect(third.recovery).toBeUndefined();
    expect(third.outbox.stats('influx').pendingRecords).toBe(outbox.recovered + 1);
    third.close();
  });

  it('a file that is not a database at all: a fresh store, the old file kept', () => {
    const { store, path } = fileStore();
    store.close();
    writeFileSync(path, Buffer.alloc(8192, 0x42));
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    const again = new Store({ path });
    expect(again.recovery?.problem).toMatch(/not a database/i);
    expect(existsSync(again.recovery!.damagedFile)).toBe(true);
    expect(again.queryAggregates()).toEqual([]);
    again.close();
  });
});
