import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, OPCUACertificateManager, OPCUAServer, Variant, StatusCodes } from 'node-opcua';
import { pino, type Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../../../test/helpers/free-port.js';
import { waitFor } from '../../../../test/helpers/wait.js';
import { systemClock, VirtualClock, type Scheduler } from '../../core/clock.js';
import type { PluginContext } from '../../core/plugin.js';
import { CollectingSink, captureLogs } from '../../../../test/helpers/sources.js';
import { validateConfig } from '../../config/load.js';
import { createPipeline } from '../../wiring/pipeline-options.js';
import { Store } from '../../store/store.js';
import { simulatedMachineSchema } from '../../simulator/config.js';
import { simulatorBrowsePath, simulatorNodeId, simulatorReasonNodeId, startOpcuaSimulator, type OpcuaSimulator, type OpcuaSimulatorOptions } from '../../simulator/opcua-server.js';
import { opcuaSourceSchema, type OpcuaSourceConfig } from './config.js';
import { opcuaSource, toSampleValue, type OpcuaSource } from './index.js';

const HERE = new URL('./', import.meta.url);
const PRESS = 'demo/line1/press1';
const LATHE = 'demo/line1/lathe2';
/** Temp folder of the tests' PKI files; made in beforeAll so a run that skips every test here leaves nothing behind. */
let BASE = '';

function ctxFor(logger: Logger = pino({ level: 'silent' }), clock: Scheduler = systemClock): PluginContext {
  return { id: 'plc', logger, clock, agentId: 'test', isMachine: () => true, baseDir: BASE };
}

function sourceConfig(endpointUrl: string, machines: unknown): OpcuaSourceConfig {
  return opcuaSourceSchema.parse({
    type: 'opcua',
    id: 'plc',
    endpointUrl,
    securityMode: 'None',
    securityPolicy: 'None',
    allowInsecure: true,
    samplingInterval: '100ms',
    reconnectMin: '100ms',
    reconnectMax: '1s',
    machines,
  });
}

function pressSignals(path: string) {
  return {
    parts_good: { nodeId: simulatorNodeId(path, 'GoodCount') },
    parts_scrap: { nodeId: simulatorNodeId(path, 'ScrapCount') },
    parts_rework: { nodeId: simulatorNodeId(path, 'ReworkCount') },
    material_in_kg: { nodeId: simulatorNodeId(path, 'MaterialInKg') },
    state: { nodeId: simulatorNodeId(path, 'State') },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
beforeAll(() => {
  BASE = mkdtempSync(join(tmpdir(), 'yieldwatch-opcua-test-'));
});
afterAll(() => {
  if (BASE !== '') rmSync(BASE, { recursive: true, force: true });
});

async function sim(port = 0, autoUpdate = false, models?: OpcuaSimulatorOptions['models']): Promise<OpcuaSimulator> {
  const s = await startOpcuaSimulator({
    ...(models ? { models } : {}),
    port,
    machines: [simulatedMachineSchema.parse({ path: PRESS, partsPerMinute: 6000, scrapRate: 0.1, reworkRate: 0.05 }), simulatedMachineSchema.parse({ path: LATHE, partsPerMinute: 3000 })],
    seed: 3,
    updateInterval: 100,
    logger: pino({ level: 'silent' }),
    autoUpdate,
  });
  cleanups.push(() => s.stop());
  return s;
}

/**
 * A bare node-opcua server with one UInt32 `GoodCount` under Objects/Press, for what the simulator
 * cannot do: reach into the server engine, or serve the same browse path at another NodeId.
 */
async function bareServer(port: number, nodeId: string, start = 100, allowAnonymous = true): Promise<{ server: OPCUAServer; ns: number; set(): number; stop(): Promise<void> }> {
  const certificateManager = new OPCUACertificateManager({ rootFolder: join(BASE, `server-pki-${port}`), automaticallyAcceptUnknownCertificate: true });
  const server = new OPCUAServer({ port, serverCertificateManager: certificateManager, allowAnonymous, serverInfo: { applicationUri: 'urn:yieldwatch:test' } });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.shutdown(0).catch(() => undefined);
    await certificateManager.dispose().catch(() => undefined);
  };
  cleanups.push(stop);
  await server.initialize();
  const ns = server.engine.addressSpace!.getOwnNamespace();
  const press = ns.addObject({ organizedBy: server.engine.addressSpace!.rootFolder.objects, browseName: 'Press', nodeId: 's=Press' });
  const good = ns.addVariable({ componentOf: press, browseName: 'GoodCount', nodeId, dataType: DataType.UInt32, minimumSamplingInterval: 0 });
  let count = start;
  const set = () => {
    good.setValueFromSource(new Variant({ dataType: DataType.UInt32, value: ++count }), StatusCodes.Good, new Date());
    return count;
  };
  set();
  await server.start();
  return { server, ns: ns.index, set, stop };
}

function source(cfg: OpcuaSourceConfig, logger?: Logger, clock?: Scheduler): OpcuaSource {
  const src = opcuaSource.create(cfg, ctxFor(logger, clock));
  cleanups.push(() => src.stop());
  return src;
}

describe('opcua config', () => {
  const base = { type: 'opcua', endpointUrl: 'opc.tcp://127.0.0.1:4840', machines: [{ machine: PRESS, signals: { parts_good: { nodeId: 'ns=1;s=x' } } }] };

  it('defaults to SignAndEncrypt with Basic256Sha256, anonymous, ./pki and refuses insecure settings unless allowInsecure', () => {
    const ok = opcuaSourceSchema.parse(base);
    expect(ok).toMatchObject({ securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', allowInsecure: false, userIdentity: { type: 'anonymous' }, pkiDir: './pki', samplingInterval: 1000, queueSize: 10 });
    for (const [key, value] of [['securityMode', 'None'], ['securityPolicy', 'None']] as const) {
      const r = opcuaSourceSchema.safeParse({ ...base, [key]: value });
      expect(r.success).toBe(false);
      const messages = r.error!.issues.filter((i) => i.path.includes(key)).map((i) => i.message);
      expect(messages.some((m) => m.includes(key) && /set allowInsecure: true/.test(m)), messages.join(' | ')).toBe(true);
    }
    expect(opcuaSourceSchema.safeParse({ ...base, securityMode: 'None', allowInsecure: true }).success).toBe(true);
    expect(opcuaSourceSchema.safeParse({ ...base, securityMode: 'None', securityPolicy: 'None', allowInsecure: true }).success).toBe(true);
    // A policy of None cannot sign: refused with Sign or SignAndEncrypt even when insecure settings are allowed.
    const mixed = opcuaSourceSchema.safeParse({ ...base, securityMode: 'Sign', securityPolicy: 'None', allowInsecure: true });
    expect(mixed.success).toBe(false);
    expect(mixed.error!.issues[0]!.path).toEqual(['securityPolicy']);
  });

  it('takes exactly one of nodeId and browsePath, and checks the browse path syntax', () => {
    const signal = (sig: unknown) => opcuaSourceSchema.safeParse({ ...base, machines: [{ machine: PRESS, signals: { parts_good: sig } }] });
    expect(signal({ browsePath: simulatorBrowsePath(PRESS, 'GoodCount') }).success).toBe(true);
    expect(signal({ browsePath: '/Objects/2:Line&.1/2:Press<1>.2:GoodCount' }).success).toBe(false);
    expect(signal({ browsePath: '<HasComponent>2:GoodCount' }).success).toBe(true);
    for (const bad of [{}, { nodeId: 'ns=1;s=x', browsePath: '/Objects/1:x' }]) {
      const r = signal(bad);
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.message).toBe('expected exactly one of nodeId or browsePath');
      expect(r.error!.issues[0]!.path).toEqual(['machines', 0, 'signals', 'parts_good']);
    }
    const syntax = signal({ browsePath: 'Objects/GoodCount' });
    expect(syntax.error!.issues[0]!.path).toEqual(['machines', 0, 'signals', 'parts_good', 'browsePath']);
    expect(syntax.error!.issues[0]!.message).toContain('expected a browse path');
  });

  it('maps scrap per reason (one node per code) or as one counter, never both', () => {
    const machine = (m: Record<string, unknown>) => opcuaSourceSchema.safeParse({ ...base, machines: [{ machine: PRESS, ...m }] });
    expect(machine({ scrapByReason: { burr: { nodeId: 'ns=1;s=b' }, '17': { browsePath: '/Objects/1:x' } } }).success).toBe(true);
    const both = machine({ signals: { parts_scrap: { nodeId: 'ns=1;s=s' } }, scrapByReason: { burr: { nodeId: 'ns=1;s=b' } } });
    expect(both.error!.issues[0]!.path).toEqual(['machines', 0, 'scrapByReason']);
    expect(machine({ scrapByReason: { unassigned: { nodeId: 'ns=1;s=b' } } }).error!.issues[0]!.path).toEqual(['machines', 0, 'scrapByReason', 'unassigned']);
    expect(machine({}).error!.issues[0]!.path).toEqual(['machines', 0, 'signals']);
  });

  it('refuses a malformed NodeId and an unknown signal', () => {
    expect(opcuaSourceSchema.safeParse({ ...base, machines: [{ machine: PRESS, signals: { parts_good: { nodeId: 'GoodCount' } } }] }).success).toBe(false);
    expect(opcuaSourceSchema.safeParse({ ...base, machines: [{ machine: PRESS, signals: { parts_bad: { nodeId: 'ns=1;s=x' } } }] }).success).toBe(false);
  });

  it('sample.yaml validates', () => {
    const doc = parseYaml(readFileSync(new URL('sample.yaml', HERE), 'utf8')) as { sources: unknown[] };
    expect(doc.sources.length).toBeGreaterThan(0);
    for (const s of doc.sources) {
      const r = opcuaSourceSchema.safeParse(s);
      expect(r.success, r.success ? '' : JSON.stringify(r.error.issues)).toBe(true);
    }
  });

  it('converts variant values: numbers stay numbers, strings stay strings, Int64 words are joined', () => {
    expect(toSampleValue(42)).toBe(42);
    expect(toSampleValue('running')).toBe('running');
    expect(toSampleValue([1, 5])).toBe(2 ** 32 + 5);
    expect(toSampleValue({ text: 'idle', locale: 'en' })).toBe('idle');
    expect(toSampleValue(Number.NaN)).toBeUndefined();
    expect(toSampleValue(null)).toBeUndefined();
  });
});

describe('opcua source against a node-opcua server', () => {
  it('create() does no I/O; health is down before start', () => {
    const src = opcuaSource.create(sourceConfig('opc.tcp://127.0.0.1:1/none', [{ machine: PRESS, signals: pressSignals(PRESS) }]), ctxFor());
    expect(src.health().status).toBe('down');
    expect(src.counters()).toEqual({ values: 0, rejected: 0, reconnects: 0, node_errors: 0, sink_errors: 0 });
  });

  it('subscribes: every signal arrives with its source timestamp, and the windows sum to the counter increase', async () => {
    const s = await sim();
    const cfg = validateConfig({
      agent: { id: 'opcua-test' },
      kpi: { windowSize: '60s', allowedLateness: '10s' },
      machines: [{ path: PRESS, partMassKg: 0.5, signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, parts_rework: { kind: 'counter' }, material_in_kg: { kind: 'counter' } } }],
      api: { enabled: false },
    });
    const store = new Store({ path: ':memory:' });
    cleanups.push(async () => store.close());
    const pipeline = createPipeline(cfg, store, systemClock);
    const sink = new CollectingSink({ samples: (b) => pipeline.ingest(b), reject: (r, m) => pipeline.reject(r, m) });
    const src = source(sourceConfig(s.endpointUrl, [{ machine: PRESS, signals: pressSignals(PRESS) }]));
    await src.start(sink);
    await waitFor('health ok', () => src.health().status === 'ok', 15_000);
    await waitFor('a first value of every signal', () => ['parts_good', 'parts_scrap', 'parts_rework', 'material_in_kg', 'state'].every((sig) => sink.last(PRESS, sig)), 10_000);
    const firstGood = sink.got.find((x) => x.signal === 'parts_good')!.value as number;

    let lastTickAt = 0;
    for (let i = 0; i < 6; i++) {
      const before = Date.now();
      // Let the model's clock move on a little before each update, so the counters grow.
      await waitFor('the clock to move', () => Date.now() - before >= 150, 1000, 20);
      lastTickAt = Date.now();
      s.tick();
      const truth = s.truth()[PRESS]!;
      await waitFor(`parts_good = ${truth.parts_good}`, () => sink.last(PRESS, 'parts_good')?.value === truth.parts_good, 5000);
    }
    const truth = s.truth()[PRESS]!;
    const good = sink.last(PRESS, 'parts_good')!;
    expect(truth.parts_good).toBeGreaterThan(firstGood);
    expect(typeof good.value).toBe('number');
    expect(typeof sink.last(PRESS, 'material_in_kg')!.value).toBe('number');
    expect(sink.last(PRESS, 'state')!.value).toBe('running');
    expect(good.source).toBe('plc');
    // The source timestamp is the simulator's tick time, not the arrival time.
    expect(good.ts).toBeGreaterThanOrEqual(lastTickAt - 5);
    expect(good.ts).toBeLessThanOrEqual(Date.now());
    expect(src.counters().values).toBe(sink.got.length);
    expect(src.counters().rejected).toBe(0);

    pipeline.flushAll();
    const windows = store.queryAggregates().filter((a) => a.machine === PRESS);
    expect(windows.length).toBeGreaterThan(0);
    const sum = windows.reduce((n, a) => n + (a.components.parts_good ?? 0), 0);
    expect(sum).toBe(truth.parts_good - firstGood);
  });

  it('one node per scrap reason: each reason is its own counter, and the windows hold each reason\'s increase and their sum as parts_scrap', async () => {
    const reasons = { burr: 5, crack: 2, dent: 1 };
    const s = await startOpcuaSimulator({
      port: 0,
      machines: [simulatedMachineSchema.parse({ path: PRESS, partsPerMinute: 6000, scrapRate: 0.2, scrapReasons: reasons })],
      seed: 4,
      updateInterval: 100,
      logger: pino({ level: 'silent' }),
      autoUpdate: false,
    });
    cleanups.push(() => s.stop());
    const cfg = validateConfig({
      kpi: { windowSize: '60s', allowedLateness: '10s' },
      sites: { demo: { scrapReasons: { burr: { label: { en: 'Burr' } }, crack: { label: { en: 'Crack' } }, dent: { label: { en: 'Dent' } } } } },
      machines: [{ path: PRESS, partMassKg: 0.5, signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } }],
      api: { enabled: false },
    });
    const store = new Store({ path: ':memory:' });
    cleanups.push(async () => store.close());
    const pipeline = createPipeline(cfg, store, systemClock);
    const sink = new CollectingSink({ samples: (b) => pipeline.ingest(b), reject: (r, m) => pipeline.reject(r, m) });
    const byReason = Object.fromEntries(Object.keys(reasons).map((code) => [code, { nodeId: simulatorReasonNodeId(PRESS, code) }]));
    const src = source(sourceConfig(s.endpointUrl, [{ machine: PRESS, signals: { parts_good: { nodeId: simulatorNodeId(PRESS, 'GoodCount') } }, scrapByReason: byReason }]));
    await src.start(sink);
    await waitFor('health ok', () => src.health().status === 'ok', 15_000);
    await waitFor('a first value of every reason', () => Object.keys(reasons).every((code) => sink.got.some((x) => x.reason === code)), 10_000);
    const first = { ...s.truth()[PRESS]!.scrap_by_reason! };
    for (let i = 0; i < 5; i++) {
      const before = Date.now();
      await waitFor('the clock to move', () => Date.now() - before >= 150, 1000, 20);
      s.tick();
      const truth = s.truth()[PRESS]!.scrap_by_reason!;
      await waitFor('the reason counters', () => Object.entries(truth).every(([code, n]) => [...sink.got].reverse().find((x) => x.reason === code)?.value === n), 5000);
    }
    pipeline.flushAll();
    const truth = s.truth()[PRESS]!.scrap_by_reason!;
    const windows = store.queryAggregates().filter((a) => a.machine === PRESS);
    const got: Record<string, number> = {};
    let scrap = 0;
    for (const w of windows) {
      scrap += w.components.parts_scrap ?? 0;
      for (const [code, m] of Object.entries(w.split?.reason ?? {})) got[code] = (got[code] ?? 0) + m.parts_scrap!;
    }
    const expected = Object.fromEntries(Object.entries(truth).map(([code, n]) => [code, n - first[code]!]).filter(([, n]) => (n as number) > 0));
    expect(Object.values(expected).reduce((a, b) => (a as number) + (b as number), 0)).toBeGreaterThan(0);
    expect(got).toEqual(expected);
    expect(scrap).toBe(Object.values(got).reduce((a, b) => a + b, 0));
  });

  it('a NodeId that does not exist: one error names machine, signal and NodeId; the other signals keep flowing', async () => {
    const s = await sim();
    const log = captureLogs();
    const missing = 'ns=1;s=demo/line1/press1/NoSuchCounter';
    const src = source(
      sourceConfig(s.endpointUrl, [
        { machine: PRESS, signals: { ...pressSignals(PRESS), parts_total: { nodeId: missing } } },
        { machine: LATHE, signals: { parts_good: { nodeId: simulatorNodeId(LATHE, 'GoodCount') } } },
      ]),
      log.logger,
    );
    const sink = new CollectingSink();
    await src.start(sink);
    await waitFor('health degraded', () => src.health().status === 'degraded', 15_000);
    expect(src.health().reason).toContain(missing);
    expect(src.counters().node_errors).toBe(1);
    const errors = log.lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ machine: PRESS, signal: 'parts_total', nodeId: missing });
    expect(String(errors[0]!.msg)).toContain(missing);
    expect(String(errors[0]!.msg)).toContain('BadNodeIdUnknown');

    s.tick();
    await waitFor('values of the other signals', () => sink.last(PRESS, 'parts_good')?.value === s.truth()[PRESS]!.parts_good && sink.last(LATHE, 'parts_good')?.value === s.truth()[LATHE]!.parts_good, 5000);
    expect(sink.got.some((x) => x.signal === 'parts_total')).toBe(false);
  });

  it('a bad status code is a counted rejection, never a value', async () => {
    const s = await sim();
    const src = source(sourceConfig(s.endpointUrl, [{ machine: PRESS, signals: pressSignals(PRESS) }]));
    const sink = new CollectingSink();
    await src.start(sink);
    await waitFor('health ok', () => src.health().status === 'ok', 15_000);
    await waitFor('first values', () => sink.last(PRESS, 'parts_scrap'), 5000);
    const scrapValues = sink.got.filter((x) => x.signal === 'parts_scrap').length;
    s.setBadStatus(PRESS, 'ScrapCount');
    await waitFor('a bad_status rejection', () => sink.rejects.length > 0, 5000);
    expect(sink.rejects[0]).toEqual(['bad_status', PRESS]);
    expect(src.counters().rejected).toBe(1);
    expect(src.rejectedByReason()).toEqual({ bad_status: 1 });
    expect(sink.got.filter((x) => x.signal === 'parts_scrap').length).toBe(scrapValues);
  });

  it('server replaced by a fresh one on the same port: data flows again within 30 s; node-opcua\'s own messages go to the JSON log, none to stdout', async () => {
    const first = await sim();
    const log = captureLogs();
    // node-opcua-debug writes through console.log unless its loggers are replaced (node-opcua-log.ts).
    const printed: string[] = [];
    const consoleLog = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    cleanups.push(async () => consoleLog.mockRestore());
    const src = source(sourceConfig(first.endpointUrl, [{ machine: PRESS, signals: pressSignals(PRESS) }]), log.logger);
    const sink = new CollectingSink();
    await src.start(sink);
    await waitFor('health ok', () => src.health().status === 'ok', 15_000);
    await waitFor('first values', () => sink.last(PRESS, 'parts_good'), 5000);

    await first.stop();
    await waitFor('health not ok after the server went away', () => src.health().status !== 'ok', 10_000);
    const n = sink.got.length;
    const restartedAt = Date.now();
    const second = await sim(first.port, true);
    await waitFor('values from the new server', () => sink.got.slice(n).some((x) => x.signal === 'parts_good' && (x.ts ?? 0) >= restartedAt), 30_000, 50);
    await waitFor('health ok again', () => src.health().status === 'ok', 10_000);
    expect(second.port).toBe(first.port);
    expect(src.counters().reconnects).toBeGreaterThan(0);
    const fromNodeOpcua = log.lines.filter((l) => l.component === 'node-opcua');
    expect(fromNodeOpcua.length, 'node-opcua said something about the lost server').toBeGreaterThan(0);
    expect(fromNodeOpcua.every((l) => typeof l.msg === 'string' && typeof l.file === 'string' && (l.level === 40 || l.level === 50))).toBe(true);
    expect(printed).toEqual([]);
  }, 50_000);

  it('a PLC restart that keeps its counters: data flows again, and the windows count every part exactly once', async () => {
    const first = await sim();
    const cfg = validateConfig({
      agent: { id: 'opcua-restart' },
      kpi: { windowSize: '60s', allowedLateness: '10s' },
      machines: [{ path: PRESS, signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, parts_rework: { kind: 'counter' } } }],
      api: { enabled: false },
    });
    const store = new Store({ path: ':memory:' });
    cleanups.push(async () => store.close());
    const pipeline = createPipeline(cfg, store, systemClock);
    const sink = new CollectingSink({ samples: (b) => pipeline.ingest(b), reject: (r, m) => pipeline.reject(r, m) });
    const { parts_good, parts_scrap, parts_rework } = pressSignals(PRESS);
    const src = source(sourceConfig(first.endpointUrl, [{ machine: PRESS, signals: { parts_good, parts_scrap, parts_rework } }]));
    await src.start(sink);
    await waitFor('health ok', () => src.health().status === 'ok', 15_000);
    await waitFor('first values', () => ['parts_good', 'parts_scrap', 'parts_rework'].every((sig) => sink.last(PRESS, sig)), 10_000);
    const start = { ...first.truth()[PRESS]! };
    const caughtUp = (s: OpcuaSimulator) => {
      const t = s.truth()[PRESS]!;
      return sink.last(PRESS, 'parts_good')?.value === t.parts_good && sink.last(PRESS, 'parts_scrap')?.value === t.parts_scrap && sink.last(PRESS, 'parts_rework')?.value === t.parts_rework;
    };
    const produce = async (s: OpcuaSimulator) => {
      const before = Date.now();
      await waitFor('the clock to move', () => Date.now() - before >= 150, 1000, 20);
      s.tick();
      await waitFor('the new counts', () => caughtUp(s), 5000);
    };
    await produce(first);
    await produce(first);

    // The server goes away; the machine keeps its counters (and keeps producing) and comes back on the same port.
    await first.stop();
    await waitFor('health not ok', () => src.health().status !== 'ok', 10_000);
    const second = await sim(first.port, false, first.models());
    second.tick();
    await waitFor('the counts after the restart', () => caughtUp(second), 30_000, 50);
    await waitFor('health ok again', () => src.health().status === 'ok', 10_000);
    await produce(second);

    pipeline.flushAll();
    const windows = store.queryAggregates().filter((a) => a.machine === PRESS);
    const end = second.truth()[PRESS]!;
    expect(end.parts_good).toBeGreaterThan(start.parts_good);
    const sum = (k: 'parts_good' | 'parts_scrap' | 'parts_rework') => windows.reduce((n, a) => n + (a.components[k] ?? 0), 0);
    expect({ good: sum('parts_good'), scrap: sum('parts_scrap'), rework: sum('parts_rework') }).toEqual({
      good: end.parts_good - start.parts_good,
      scrap: end.parts_scrap - start.parts_scrap,
      rework: end.parts_rework - start.parts_rework,
    });
  }, 60_000);

  it('a server that is not there yet: start() resolves, health is down, and data flows once it appears; stop() never throws', async () => {
    const port = await freePort();
    const log = captureLogs();
    const src = source(sourceConfig(`opc.tcp://127.0.0.1:${port}/yieldwatch`, [{ machine: PRESS, signals: pressSignals(PRESS) }]), log.logger);
    const sink = new CollectingSink();
    await src.start(sink);
    expect(src.health().status).toBe('down');
    await waitFor('a failed attempt', () => src.counters().reconnects > 0, 10_000);
    expect(log.lines.filter((l) => l.level === 40 && String(l.msg).includes('Cannot connect'))).toHaveLength(1);
    await sim(port, true);
    await waitFor('values once the server is up', () => sink.last(PRESS, 'parts_good'), 20_000, 50);
    await waitFor('health ok', () => src.health().status === 'ok', 10_000);
    await src.stop();
    await src.stop();
    expect(src.health()).toEqual({ status: 'down', reason: 'stopped' });
  }, 40_000);

  it('a subscription that silently dies on the server: after three keep-alive periods of silence on the source clock, the watchdog re-creates it and data flows again', async () => {
    // A bare server: the simulator does not expose its engine, and we need to kill a subscription server-side.
    const port = await freePort();
    const bare = await bareServer(port, `s=${PRESS}/GoodCount`);
    const server = bare.server;
    let count = bare.set();
    const set = () => (count = bare.set());
    const log = captureLogs();
    const clock = new VirtualClock(Date.now());
    const src = source(sourceConfig(`opc.tcp://127.0.0.1:${port}`, [{ machine: PRESS, signals: { parts_good: { nodeId: `ns=${bare.ns};s=${PRESS}/GoodCount` } } }]), log.logger, clock);
    const sink = new CollectingSink();
    await src.start(sink);
    await waitFor('health ok', () => src.health().status === 'ok', 15_000);
    await waitFor('first value', () => sink.last(PRESS, 'parts_good')?.value === count, 5000);

    // Terminate the subscription on the server, leaving the connection and the session up: no data, no keep-alive.
    const sessions = server.engine.getSessions();
    expect(sessions).toHaveLength(1);
    for (const sub of [...sessions[0]!.publishEngine.subscriptions]) sub.terminate();
    set();
    // The watchdog looks once a second of source time; the limit is max(5 s, 3 keep-alive periods of 10 × 100 ms).
    clock.advance(5000);
    expect(src.counters().reconnects, 'no rebuild before the limit').toBe(0);
    clock.advance(1000);
    expect(src.counters().reconnects, 'a rebuild once the limit has passed').toBe(1);
    const warning = log.lines.find((l) => l.level === 40 && String(l.msg).startsWith('No data or keep-alive'));
    expect(warning?.silentForMs).toBe(5000);
    await waitFor('data flows again', () => sink.last(PRESS, 'parts_good')?.value === count || (set(), false), 20_000, 200);
    await waitFor('health ok again', () => src.health().status === 'ok', 5000);
  }, 40_000);

  it('a session the server refuses: retried after 100, 200, 400, 800 ms of source time, then every 1 s (reconnectMin to reconnectMax)', async () => {
    const port = await freePort();
    const bare = await bareServer(port, `s=${PRESS}/GoodCount`, 100, false);
    const clock = new VirtualClock(Date.now());
    const log = captureLogs();
    const src = source(sourceConfig(`opc.tcp://127.0.0.1:${port}`, [{ machine: PRESS, signals: { parts_good: { nodeId: `ns=${bare.ns};s=${PRESS}/GoodCount` } } }]), log.logger, clock);
    await src.start(new CollectingSink());
    const attempts = () => (src.health().details?.failedAttempts as number | undefined) ?? 0;
    await waitFor('a first refused session', () => attempts() === 1, 15_000);
    const delays: number[] = [];
    for (let n = 1; n <= 6; n++) {
      const delay = src.health().details?.nextAttemptInMs as number;
      delays.push(delay);
      clock.advance(delay - 1);
      await new Promise((r) => setTimeout(r, 100));
      expect(attempts(), `no attempt ${n + 1} before its back-off`).toBe(n);
      clock.advance(1);
      await waitFor(`attempt ${n + 1}`, () => attempts() === n + 1, 10_000);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(src.health()).toMatchObject({ status: 'down', reason: expect.stringMatching(/^session or subscription failed/) });
    expect(log.lines.filter((l) => l.level === 50 && /Cannot create the OPC UA session/.test(String(l.msg))), 'logged once, not per attempt').toHaveLength(1);
  }, 40_000);

  it('a refused NodeId is retried by a rebuild after 30 s of source time, then 60 s, while the other signal keeps flowing', async () => {
    const port = await freePort();
    const bare = await bareServer(port, `s=${PRESS}/GoodCount`);
    const clock = new VirtualClock(Date.now());
    const log = captureLogs();
    const src = source(
      sourceConfig(`opc.tcp://127.0.0.1:${port}`, [
        { machine: PRESS, signals: { parts_good: { nodeId: `ns=${bare.ns};s=${PRESS}/GoodCount` }, parts_scrap: { nodeId: `ns=${bare.ns};s=${PRESS}/Missing` } } },
      ]),
      log.logger,
      clock,
    );
    const sink = new CollectingSink();
    await src.start(sink);
    await waitFor('health degraded', () => src.health().status === 'degraded', 15_000);
    expect(src.counters().node_errors).toBe(1);
    const retries = () => log.lines.filter((l) => String(l.msg).startsWith('Retrying the refused OPC UA items')).length;
    // Source time moves in steps shorter than the silence limit, each after fresh data has arrived, so that only the item retry rebuilds.
    const start = clock.now();
    const retriesAt: number[] = [];
    while (clock.now() - start < 95_000) {
      let v = bare.set();
      await waitFor('a fresh value', () => sink.last(PRESS, 'parts_good')?.value === v || ((v = bare.set()), false), 10_000, 200);
      const before = retries();
      clock.advance(2500);
      if (retries() !== before) {
        retriesAt.push(clock.now() - start);
        await waitFor('the rebuild to refuse the item again', () => src.counters().node_errors === retriesAt.length + 1 && src.health().status === 'degraded', 10_000);
      }
    }
    // The watchdog looks once a second, so a retry due at 30 s starts in the 2.5 s step that passes it.
    expect(retriesAt).toEqual([30_000, 90_000]);
    expect(src.counters().reconnects, 'no rebuild for silence').toBe(0);
  }, 60_000);

  it('browse paths resolve at connect; one that leads nowhere is named in the error and the others keep flowing', async () => {
    const s = await sim();
    const log = captureLogs();
    const nowhere = '/Objects/1:Machines/1:demo/1:line1/1:press1.1:NoSuchCounter';
    const signals = Object.fromEntries(
      (['GoodCount', 'ScrapCount', 'ReworkCount'] as const).map((n, k) => [['parts_good', 'parts_scrap', 'parts_rework'][k]!, { browsePath: simulatorBrowsePath(PRESS, n) }]),
    );
    const src = source(sourceConfig(s.endpointUrl, [{ machine: PRESS, signals: { ...signals, parts_total: { browsePath: nowhere } } }]), log.logger);
    const sink = new CollectingSink();
    await src.start(sink);
    await waitFor('health degraded', () => src.health().status === 'degraded', 15_000);
    expect(src.health().reason).toContain(`browse path ${nowhere}`);
    const errors = log.lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ machine: PRESS, signal: 'parts_total', browsePath: nowhere });
    expect(String(errors[0]!.msg)).toMatch(/browse path .*NoSuchCounter.*BadNoMatch/);
    s.tick();
    const truth = s.truth()[PRESS]!;
    await waitFor('browse-path values equal the counters', () => sink.last(PRESS, 'parts_good')?.value === truth.parts_good && sink.last(PRESS, 'parts_scrap')?.value === truth.parts_scrap && sink.last(PRESS, 'parts_rework')?.value === truth.parts_rework, 5000);
  });

  it('a restarted server that serves the browse path at a new NodeId: the path is resolved again and data flows from the new node', async () => {
    const port = await freePort();
    const first = await bareServer(port, 's=Press/GoodCount/v1', 100);
    const log = captureLogs();
    const src = source(sourceConfig(`opc.tcp://127.0.0.1:${port}`, [{ machine: PRESS, signals: { parts_good: { browsePath: `/Objects/${first.ns}:Press.${first.ns}:GoodCount` } } }]), log.logger);
    const sink = new CollectingSink();
    await src.start(sink);
    await waitFor('health ok', () => src.health().status === 'ok', 15_000);
    const v1 = first.set();
    await waitFor('a value of the first server', () => sink.last(PRESS, 'parts_good')?.value === v1, 5000);
    await first.stop();
    await waitFor('health not ok', () => src.health().status !== 'ok', 10_000);

    const second = await bareServer(port, 's=Press/GoodCount/v2', 5000);
    let v2 = second.set();
    await waitFor('a value of the new node', () => sink.last(PRESS, 'parts_good')?.value === v2 || ((v2 = second.set()), false), 30_000, 200);
    await waitFor('health ok again', () => src.health().status === 'ok', 10_000);
    expect(log.lines.some((l) => String(l.msg).startsWith('A browse path resolves to a different NodeId'))).toBe(true);
  }, 60_000);
});
