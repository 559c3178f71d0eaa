import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttributeIds,
  BrowseDirection,
  ClientMonitoredItem,
  ClientSubscription,
  DataType,
  makeBrowsePath,
  MessageSecurityMode,
  type NodeId,
  OPCUACertificateManager,
  OPCUAClient,
  type OPCUAClientOptions,
  SecurityPolicy,
  StatusCodes,
  TimestampsToReturn,
  type ClientSession,
  type DataValue,
} from 'node-opcua';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.js';
import { simulatedMachineSchema, type SimulatedMachineConfig } from './config.js';
import { SimulatedMachine } from './machine.js';
import { OPCUA_SIM_NAMESPACE, OPCUA_SIM_VARIABLES, simulatorBrowsePath, simulatorNodeId, startOpcuaSimulator, type OpcuaSimulator, type OpcuaSimulatorOptions } from './opcua-server.js';
import { deriveSeed, mulberry32 } from './random.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { trackHandles } from '../../../test/helpers/handles.js';
import { captureLogs } from '../../../test/helpers/sources.js';

/** 2024-01-01T00:00:00Z. */
const T0 = Date.UTC(2024, 0, 1);
const SECOND = 1000;
const SEED = 7;

const MACHINES: SimulatedMachineConfig[] = [
  simulatedMachineSchema.parse({ path: 'demo/line1/press1', partsPerMinute: 600, scrapRate: 0.1, reworkRate: 0.05 }),
  simulatedMachineSchema.parse({ path: 'demo/hall/line2/lathe2', partsPerMinute: 3000, rollover: 65536, startAt: 65530 }),
];

/** The test clients' PKI, so that nothing lands in node-opcua's default folder under ~/.config. */
let clientPki = '';
beforeAll(async () => {
  clientPki = await mkdtemp(join(tmpdir(), 'yw-opcua-sim-client-'));
});
afterAll(async () => {
  await rm(clientPki, { recursive: true, force: true });
});

function newClient(options: OPCUAClientOptions): OPCUAClient {
  return OPCUAClient.create({
    ...options,
    clientCertificateManager: new OPCUACertificateManager({ rootFolder: clientPki, automaticallyAcceptUnknownCertificate: true }),
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function simulator(over: Partial<OpcuaSimulatorOptions> = {}): Promise<OpcuaSimulator> {
  const sim = await startOpcuaSimulator({
    port: 0,
    machines: MACHINES,
    seed: SEED,
    updateInterval: 1000,
    logger: captureLogs().logger,
    autoUpdate: false,
    ...over,
  });
  cleanups.push(() => sim.stop());
  return sim;
}

async function client(
  endpointUrl: string,
  security: { securityMode: MessageSecurityMode; securityPolicy: SecurityPolicy } = { securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None },
): Promise<ClientSession> {
  const c = newClient({
    ...security,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 1, initialDelay: 100, maxDelay: 200 },
    requestedSessionTimeout: 10_000,
  });
  await c.connect(endpointUrl);
  const session = await c.createSession();
  cleanups.push(async () => {
    await session.close().catch(() => undefined);
    await c.disconnect();
  });
  return session;
}

/** A bare model of the same machine and seed, advanced to `t`. */
function bare(cfg: SimulatedMachineConfig, t: number): SimulatedMachine {
  const m = new SimulatedMachine(cfg, mulberry32(deriveSeed(SEED, cfg.path)), T0);
  m.advance(t);
  return m;
}

async function readMachine(session: ClientSession, path: string): Promise<DataValue[]> {
  const names = ['GoodCount', 'ScrapCount', 'ReworkCount', 'MaterialInKg', 'State', 'Product'] as const;
  return session.read(names.map((n) => ({ nodeId: simulatorNodeId(path, n), attributeId: AttributeIds.Value })), 0);
}

describe('OPC UA simulator', () => {
  it('builds NodeIds in the simulator namespace', () => {
    expect(simulatorNodeId('demo/line1/press1', 'GoodCount')).toBe('ns=1;s=demo/line1/press1/GoodCount');
    expect(OPCUA_SIM_NAMESPACE).toBe('urn:yieldwatch:simulator');
  });

  it('serves the model counters after tick(), stamped with the virtual time', async () => {
    const clock = new VirtualClock(T0);
    const sim = await simulator({ clock });
    expect(sim.port).toBeGreaterThan(0);
    expect(sim.endpointUrl).toBe(`opc.tcp://127.0.0.1:${sim.port}/yieldwatch`);
    const session = await client(sim.endpointUrl);

    const nsArray = await session.readNamespaceArray();
    expect(nsArray[1]).toBe(OPCUA_SIM_NAMESPACE);

    for (const step of [60, 61, 3600]) {
      const t = T0 + step * SECOND;
      clock.set(t);
      sim.tick();
      for (const cfg of MACHINES) {
        const model = bare(cfg, t);
        const c = model.counters();
        const dvs = await readMachine(session, cfg.path);
        for (const dv of dvs) {
          expect(dv.statusCode).toBe(StatusCodes.Good);
          expect(dv.sourceTimestamp?.getTime()).toBe(t);
        }
        expect(dvs.map((dv) => dv.value.value)).toEqual([c.good, c.scrap, c.rework, c.material_in_kg, 'running', '']);
        expect(dvs.map((dv) => dv.value.dataType)).toEqual([DataType.UInt32, DataType.UInt32, DataType.UInt32, DataType.Double, DataType.String, DataType.String]);
        expect(sim.truth()[cfg.path]).toEqual(model.truth());
      }
    }
    // The rollover machine wrapped and stays below its modulus.
    const lathe = await readMachine(session, MACHINES[1]!.path);
    expect(lathe[0]!.value.value as number).toBeLessThan(65530);
  });

  it('exposes Objects/Machines/<site>/<line>/<machine>, and every variable is reachable by its browse path', async () => {
    const sim = await simulator({ clock: new VirtualClock(T0) });
    const session = await client(sim.endpointUrl);
    const children = async (nodeId: string | NodeId) => {
      const r = await session.browse({ nodeId, browseDirection: BrowseDirection.Forward, referenceTypeId: 'HierarchicalReferences', includeSubtypes: true, resultMask: 63 });
      return r.references ?? [];
    };
    const machinesRef = (await children('ns=0;i=85')).find((r) => r.browseName.name === 'Machines');
    expect(machinesRef?.browseName.namespaceIndex).toBe(1);
    const sites = await children(machinesRef!.nodeId);
    expect(sites.map((r) => r.browseName.name)).toEqual(['demo']);
    const lines = await children(sites[0]!.nodeId);
    expect(lines.map((r) => r.browseName.name).sort()).toEqual(['hall', 'line1']);
    const line1 = await children(lines.find((r) => r.browseName.name === 'line1')!.nodeId);
    expect(line1.map((r) => r.browseName.name)).toEqual(['press1']);
    const byName = new Map((await children(line1[0]!.nodeId)).map((r) => [r.browseName.name, r.nodeId.toString()]));
    for (const n of OPCUA_SIM_VARIABLES) {
      expect(byName.get(n)).toBe(simulatorNodeId('demo/line1/press1', n));
    }
    // The browse paths the helper writes resolve, on the server, to the same NodeIds.
    for (const cfg of MACHINES) {
      const results = await session.translateBrowsePath(OPCUA_SIM_VARIABLES.map((n) => makeBrowsePath('RootFolder', simulatorBrowsePath(cfg.path, n))));
      expect(results.map((r) => r.statusCode.name)).toEqual(OPCUA_SIM_VARIABLES.map(() => 'Good'));
      expect(results.map((r) => r.targets![0]!.targetId.toString())).toEqual(OPCUA_SIM_VARIABLES.map((n) => simulatorNodeId(cfg.path, n)));
    }
  });

  it('a subscription receives the changes of each tick', async () => {
    const clock = new VirtualClock(T0);
    const sim = await simulator({ clock });
    const session = await client(sim.endpointUrl);
    const sub = ClientSubscription.create(session, {
      requestedPublishingInterval: 100,
      requestedLifetimeCount: 100,
      requestedMaxKeepAliveCount: 10,
      maxNotificationsPerPublish: 100,
      publishingEnabled: true,
      priority: 1,
    });
    const got: DataValue[] = [];
    const item = ClientMonitoredItem.create(
      sub,
      { nodeId: simulatorNodeId(MACHINES[0]!.path, 'GoodCount'), attributeId: AttributeIds.Value },
      { samplingInterval: 100, discardOldest: true, queueSize: 10 },
      TimestampsToReturn.Both,
    );
    item.on('changed', (dv: DataValue) => void got.push(dv));
    // The initial value (0 parts at T0) arrives first.
    await waitFor('the initial value', () => got.length >= 1, 5000);
    expect(got[0]!.value.value).toBe(0);

    for (let i = 1; i <= 3; i++) {
      const t = T0 + i * 10 * SECOND;
      clock.set(t);
      sim.tick();
      const want = bare(MACHINES[0]!, t).counters().good;
      await waitFor(`GoodCount ${want} at tick ${i}`, () => got.at(-1)?.value.value === want, 5000);
      expect(got.at(-1)!.sourceTimestamp?.getTime()).toBe(t);
    }
    await sub.terminate();
  });

  it('setBadStatus holds a variable bad across ticks until set Good again', async () => {
    const clock = new VirtualClock(T0);
    const sim = await simulator({ clock });
    const session = await client(sim.endpointUrl);
    const nodeId = simulatorNodeId(MACHINES[0]!.path, 'ScrapCount');
    sim.setBadStatus(MACHINES[0]!.path, 'ScrapCount');
    clock.set(T0 + 60 * SECOND);
    sim.tick();
    let dv = await session.read({ nodeId, attributeId: AttributeIds.Value });
    expect(dv.statusCode).toBe(StatusCodes.BadSensorFailure);
    // The other variables keep updating.
    const good = await session.read({ nodeId: simulatorNodeId(MACHINES[0]!.path, 'GoodCount'), attributeId: AttributeIds.Value });
    expect(good.value.value).toBe(bare(MACHINES[0]!, T0 + 60 * SECOND).counters().good);
    sim.setBadStatus(MACHINES[0]!.path, 'ScrapCount', StatusCodes.Good);
    dv = await session.read({ nodeId, attributeId: AttributeIds.Value });
    expect(dv.statusCode).toBe(StatusCodes.Good);
    expect(dv.value.value).toBe(bare(MACHINES[0]!, T0 + 60 * SECOND).counters().scrap);
    expect(() => sim.setBadStatus('no/such/machine', 'GoodCount')).toThrow(/no\/such\/machine/);
  });

  it('offers SignAndEncrypt with Basic256Sha256 and keeps its certificate in the given PKI folder', async () => {
    const serverPki = await mkdtemp(join(tmpdir(), 'yw-opcua-sim-test-'));
    cleanups.push(() => rm(serverPki, { recursive: true, force: true }));
    const sim = await simulator({ clock: new VirtualClock(T0), pkiDir: serverPki });
    const probe = newClient({ endpointMustExist: false, connectionStrategy: { maxRetry: 1 } });
    await probe.connect(sim.endpointUrl);
    const endpoints = await probe.getEndpoints();
    await probe.disconnect();
    const offered = endpoints.map((e) => `${MessageSecurityMode[e.securityMode]} ${(e.securityPolicyUri ?? '').split('#')[1]}`);
    expect(offered).toContain('None None');
    expect(offered).toContain('SignAndEncrypt Basic256Sha256');
    expect(endpoints.every((e) => e.endpointUrl === sim.endpointUrl)).toBe(true);
    const session = await client(sim.endpointUrl, { securityMode: MessageSecurityMode.SignAndEncrypt, securityPolicy: SecurityPolicy.Basic256Sha256 });
    const dv = await session.read({ nodeId: simulatorNodeId(MACHINES[0]!.path, 'State'), attributeId: AttributeIds.Value });
    expect(dv.value.value).toBe('running');
    await sim.stop();
    // A caller's PKI folder survives stop(), with the server's own certificate in it.
    expect(existsSync(join(serverPki, 'own', 'certs'))).toBe(true);
    expect(readdirSync(join(serverPki, 'own', 'certs')).length).toBeGreaterThan(0);
  });

  it('restarts on the same port with the same PKI folder and the same server certificate', async () => {
    const serverPki = await mkdtemp(join(tmpdir(), 'yw-opcua-sim-test-'));
    cleanups.push(() => rm(serverPki, { recursive: true, force: true }));
    const certFile = join(serverPki, 'own', 'certs', 'certificate.pem');
    const first = await simulator({ clock: new VirtualClock(T0), pkiDir: serverPki });
    const cert = readFileSync(certFile, 'utf8');
    await first.stop();
    const second = await simulator({ clock: new VirtualClock(T0), pkiDir: serverPki, port: first.port });
    expect(second.endpointUrl).toBe(first.endpointUrl);
    expect(readFileSync(certFile, 'utf8')).toBe(cert);
    const session = await client(second.endpointUrl);
    const dv = await session.read({ nodeId: simulatorNodeId(MACHINES[0]!.path, 'GoodCount'), attributeId: AttributeIds.Value });
    expect(dv.statusCode).toBe(StatusCodes.Good);
  });

  it('updates on its own timer with autoUpdate', async () => {
    const sim = await simulator({ autoUpdate: true, updateInterval: 50 });
    const session = await client(sim.endpointUrl);
    const nodeId = simulatorNodeId(MACHINES[1]!.path, 'MaterialInKg');
    let first: number | undefined;
    let last = 0;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const dv = await session.read({ nodeId, attributeId: AttributeIds.Value }, 0);
      last = dv.value.value as number;
      first ??= dv.sourceTimestamp!.getTime();
      if (last > 0 && dv.sourceTimestamp!.getTime() > first) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(last).toBeGreaterThan(0);
  });

  it('stop() closes every socket, server and timer and removes its temporary PKI folder', async () => {
    const tracked = trackHandles();
    let endpointUrl = '';
    try {
      const clock = new VirtualClock(T0);
      const sim = await startOpcuaSimulator({ port: 0, machines: MACHINES, seed: SEED, updateInterval: 100, logger: captureLogs().logger, clock });
      endpointUrl = sim.endpointUrl;
      expect(sim.pkiDir.startsWith(join(tmpdir(), 'yieldwatch-opcua-sim-'))).toBe(true);
      expect(existsSync(join(sim.pkiDir, 'own', 'certs', 'certificate.pem'))).toBe(true);
      const session = await client(sim.endpointUrl);
      clock.set(T0 + 5 * SECOND);
      sim.tick();
      const dv = await session.read({ nodeId: simulatorNodeId(MACHINES[0]!.path, 'GoodCount'), attributeId: AttributeIds.Value });
      expect(dv.value.value).toBe(bare(MACHINES[0]!, T0 + 5 * SECOND).counters().good);
      while (cleanups.length > 0) await cleanups.pop()!();
      await sim.stop();
      await sim.stop(); // idempotent
      expect(existsSync(sim.pkiDir)).toBe(false);
      tracked.freeze();
      await waitFor('sockets, servers and timers to close', () => tracked.live().length === 0, 10_000).catch(() => {
        throw new Error(`still open after stop(): ${tracked.live().join(', ')}`);
      });
    } finally {
      tracked.disable();
    }
    const c = newClient({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 } });
    await expect(c.connect(endpointUrl)).rejects.toThrow();
    await c.disconnect();
  });
});
