/**
 * Store-and-forward benchmark (`npm run bench -- --store-forward`, or this file directly under
 * tsx): a long InfluxDB outage simulated on a virtual clock, then the real drain.
 *
 *   1. Outage: N machines (default 100) at 60 s windows for D days (default 7) on a virtual
 *      clock, through the real pipeline and store, with an InfluxDB sink whose backlog bound is
 *      raised so nothing is dropped. Reports the store size (database + WAL), the outbox bytes
 *      per machine-day, the simulated time and the wall time it took.
 *   2. Start-up check: the time the store's integrity check (`PRAGMA quick_check`) takes on
 *      that file when the agent opens it.
 *   3. Drain: a real InfluxDB (Debian's influxd on a free port) receives the whole backlog
 *      through the real forwarder; reports windows/s, the drain time and the agent process's
 *      CPU over the drain.
 *
 * Options: --machines N, --days D, --window S (seconds), --batch N (records per write),
 * --keep DIR (keep the store file there), --json.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sqliteFileBytes } from './common.js';
import { pino } from 'pino';
import { VirtualClock, systemClock } from '../../agent/src/core/clock.js';
import { validateConfig } from '../../agent/src/config/load.js';
import { createPipeline } from '../../agent/src/wiring/pipeline-options.js';
import { createForwarder, outboxWriter } from '../../agent/src/wiring/sinks.js';
import { Store } from '../../agent/src/store/store.js';
import { startInfluxdb } from '../helpers/influxdb.js';

const { values: flags } = parseArgs({
  options: {
    machines: { type: 'string', default: '100' },
    days: { type: 'string', default: '7' },
    window: { type: 'string', default: '60' },
    batch: { type: 'string', default: '5000' },
    keep: { type: 'string' },
    json: { type: 'boolean', default: false },
    'store-forward': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});

const MACHINES = Number(flags.machines);
const DAYS = Number(flags.days);
const WINDOW_S = Number(flags.window);
const BATCH = Number(flags.batch);
const T0 = Date.UTC(2026, 0, 5);
const say = (s: string) => process.stderr.write(`${s}\n`);

function influxdVersion(): string {
  try {
    return execFileSync('influxd', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'influxd (version unknown)';
  }
}


async function main(): Promise<void> {
  const dir = flags.keep ?? mkdtempSync(join(os.tmpdir(), 'yw-bench-sf-'));
  const dbPath = join(dir, 'yieldwatch.db');
  const influx = await startInfluxdb();
  try {
    const machines = Array.from({ length: MACHINES }, (_, i) => `bench/line${Math.floor(i / 10)}/m${i}`);
    const cfg = validateConfig({
      agent: { id: 'bench' },
      kpi: { windowSize: `${WINDOW_S}s`, allowedLateness: '10s', checkpointInterval: '10m', correctionHorizon: '24h' },
      machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, material_in_kg: { kind: 'counter' } } },
      materials: { steel: { co2ePerKg: { value: 1.9, source: 'bench', year: 2024, boundary: 'cradle-to-gate' }, pricePerKg: 1.2, scrapValuePerKg: 0.3, currency: 'EUR', crm: {} } },
      machines: machines.map((path) => ({ path, partMassKg: 0.35, material: 'steel' })),
      sinks: [{ type: 'influxdb', id: 'influx', url: influx.url, database: 'bench', createDatabase: true, batchSize: BATCH, backlog: { maxSize: '8GiB', maxAge: `${DAYS + 1}d` } }],
      api: { enabled: false },
    });

    // 1. The outage, on a virtual clock: one reading per machine per window, one commit per window.
    const clock = new VirtualClock(T0);
    const store = new Store({ path: dbPath });
    const pipeline = createPipeline(cfg, store, clock, {}, cfg.sinks.map((s) => outboxWriter(s, cfg.agent.id)));
    const counts = machines.map(() => ({ good: 0, scrap: 0, kg: 0 }));
    const windows = Math.round((DAYS * 86_400) / WINDOW_S);
    const wall0 = performance.now();
    for (let w = 0; w <= windows; w++) {
      const t = T0 + w * WINDOW_S * 1000;
      clock.set(t + 1000);
      const batch = machines.flatMap((m, i) => {
        const c = counts[i]!;
        c.good += 50 + ((w + i) % 7);
        c.scrap += (w + i) % 5 === 0 ? 2 : 0;
        c.kg += 19.5;
        return [
          { machine: m, signal: 'parts_good' as const, value: c.good, ts: t + 1000, source: 'bench' },
          { machine: m, signal: 'parts_scrap' as const, value: c.scrap, ts: t + 1000, source: 'bench' },
          { machine: m, signal: 'material_in_kg' as const, value: c.kg, ts: t + 1000, source: 'bench' },
        ];
      });
      pipeline.ingest(batch);
      clock.set(t + 1000 + 15_000);
      pipeline.tick();
      if (w % 1440 === 0 && w > 0) say(`  simulated ${(w * WINDOW_S) / 86_400} days…`);
    }
    const simulateS = (performance.now() - wall0) / 1000;
    const outbox = store.outbox.stats('influx');
    const emitted = pipeline.stats().commits.windowsEmitted;
    store.close();
    const dbBytes = sqliteFileBytes(dbPath);

    // 2. What opening it costs the agent, integrity check included.
    const open0 = performance.now();
    const reopened = new Store({ path: dbPath });
    const openS = (performance.now() - open0) / 1000;

    // 3. The drain into a real InfluxDB.
    const fwd = createForwarder(cfg.sinks[0]!, reopened.outbox, { id: 'influx', logger: pino({ level: 'warn' }), clock: systemClock, agentId: 'bench', isMachine: () => true, baseDir: dir });
    const cpu0 = process.cpuUsage();
    const drain0 = performance.now();
    fwd.start();
    const pending0 = reopened.outbox.stats('influx').pendingRecords;
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      const s = fwd.status();
      if (s.pendingRecords === 0) break;
      if (s.health.status === 'down') throw new Error(`the sink is blocked: ${s.lastError}`);
    }
    const drainS = (performance.now() - drain0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await fwd.stop();
    const points = await influx.query('bench', 'SELECT COUNT(parts_good) FROM yieldwatch_window');
    reopened.close();

    const cpus = os.cpus();
    const result = {
      machine: `${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} cores, Node ${process.version}, ${os.type()} ${os.arch()}, ${influxdVersion()}`,
      machines: MACHINES,
      windowS: WINDOW_S,
      days: DAYS,
      windowsEmitted: emitted,
      outboxRecords: outbox.pendingRecords,
      outboxBytes: outbox.pendingBytes,
      bytesPerRecord: outbox.pendingBytes / outbox.pendingRecords,
      outboxBytesPerMachineDay: outbox.pendingBytes / (MACHINES * DAYS),
      storeBytes: dbBytes,
      storeBytesPerMachineDay: dbBytes / (MACHINES * DAYS),
      simulateWallS: simulateS,
      openWithCheckS: openS,
      drained: pending0,
      drainS,
      drainWindowsPerS: pending0 / drainS,
      drainCpuS: (cpu.user + cpu.system) / 1e6,
      pointsInInflux: points[0]?.count,
      batch: BATCH,
    };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
      process.stdout.write(
        [
          `store and forward: ${MACHINES} machines × ${DAYS} days of ${WINDOW_S} s windows with InfluxDB down (virtual clock), then the drain`,
          `machine: ${result.machine}`,
          `windows emitted                 ${emitted.toLocaleString('en')} (simulated in ${simulateS.toFixed(1)} s wall)`,
          `outbox                          ${outbox.pendingRecords.toLocaleString('en')} records, ${mb(outbox.pendingBytes)} (${result.bytesPerRecord.toFixed(0)} B per window line)`,
          `outbox bytes per machine-day    ${(result.outboxBytesPerMachineDay / 1024).toFixed(0)} KiB`,
          `store file (db + WAL)           ${mb(dbBytes)} (${(result.storeBytesPerMachineDay / 1024).toFixed(0)} KiB per machine-day, aggregates and outbox)`,
          `opening it (quick_check incl.)  ${openS.toFixed(2)} s`,
          `drain into InfluxDB             ${pending0.toLocaleString('en')} windows in ${drainS.toFixed(1)} s = ${Math.round(result.drainWindowsPerS).toLocaleString('en')} windows/s (batches of ${BATCH}), agent CPU ${result.drainCpuS.toFixed(1)} s`,
          `points in InfluxDB              ${String(result.pointsInInflux)}`,
        ].join('\n') + '\n',
      );
    }
  } finally {
    await influx.stop();
    if (flags.keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
