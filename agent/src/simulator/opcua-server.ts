import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  RegisterServerMethod,
  SecurityPolicy,
  StatusCodes,
  Variant,
  type Namespace,
  type StatusCode,
  type UAObject,
  type UAVariable,
} from 'node-opcua';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import type { SimulatedMachineConfig } from './config.js';
import { SimulatedMachine, type MachineCounters, type MachineTruth } from './machine.js';
import { deriveSeed, mulberry32 } from './random.js';

/**
 * The OPC UA face of the simulated machines: an embedded node-opcua server whose address space
 * holds, per machine, the PLC-style counters of `SimulatedMachine`. Same model, same seeds as the
 * MQTT publisher, so a machine path and seed give the same counters on either protocol.
 */

/** Namespace URI of the simulator's variables; it is the server's own namespace, index 1. */
export const OPCUA_SIM_NAMESPACE = 'urn:yieldwatch:simulator';

/** The variables every simulated machine exposes. */
export const OPCUA_SIM_VARIABLES = ['GoodCount', 'ScrapCount', 'ReworkCount', 'MaterialInKg', 'State', 'Product'] as const;
export type OpcuaSimVariable = (typeof OPCUA_SIM_VARIABLES)[number];

/** Namespace index of `OPCUA_SIM_NAMESPACE` on the simulator's server. */
const NS = 1;

/** The NodeId string of one variable: `ns=1;s=<machinePath>/<name>`. */
export function simulatorNodeId(machinePath: string, name: OpcuaSimVariable): string {
  return `ns=${NS};s=${machinePath}/${name}`;
}

/** The NodeId string of a machine's scrap counter of one reason (machines with `scrapReasons`): `ns=1;s=<machinePath>/Scrap_<code>`. */
export function simulatorReasonNodeId(machinePath: string, code: string): string {
  return `ns=${NS};s=${machinePath}/Scrap_${code}`;
}

/** A browse name in a RelativePath text: the reserved characters escaped with `&`. */
function escapeBrowseName(name: string): string {
  return name.replace(/[/.<>:#!&]/g, (c) => `&${c}`);
}

/**
 * The browse path of one variable from the Root folder, in the OPC UA RelativePath text form:
 * `/Objects/1:Machines/1:demo/1:line1/1:press1.1:GoodCount` (folders per ISA-95 level, the
 * variable a component of the machine object).
 */
export function simulatorBrowsePath(machinePath: string, name: OpcuaSimVariable): string {
  const levels = machinePath.split('/').map((p) => `/${NS}:${escapeBrowseName(p)}`).join('');
  return `/Objects/${NS}:Machines${levels}.${NS}:${name}`;
}

/** A user the simulator accepts (userName identity). */
export interface OpcuaSimulatorUser {
  userName: string;
  password: string;
}

export interface OpcuaSimulatorOptions {
  /** Address to listen on and to put in the endpoint URL; default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  machines: SimulatedMachineConfig[];
  /** Random seed; each machine derives its own stream from it and its path, as in the MQTT publisher. */
  seed: number;
  /** ms between two updates of the variables (with `autoUpdate`). */
  updateInterval: number;
  /** Simulated time; defaults to the system clock. */
  clock?: Clock;
  logger: Logger;
  /** Server PKI folder (own certificate, trusted and rejected client certificates); default a temp folder removed on stop. */
  pkiDir?: string;
  /** Update every `updateInterval` on a real timer (default true); false updates only on `tick()`, for tests on a virtual clock. */
  autoUpdate?: boolean;
  /** Users accepted with a userName identity; default none. */
  users?: OpcuaSimulatorUser[];
  /** Accept anonymous sessions (default true). */
  allowAnonymous?: boolean;
  /** Offer the SecurityMode None endpoint (default true); false offers Sign and SignAndEncrypt only. */
  allowInsecure?: boolean;
  /**
   * Machine models to continue from, by path (as `models()` of an earlier simulator returns them):
   * a PLC restarted with retentive counters. Default: fresh models from `seed`.
   */
  models?: ReadonlyMap<string, SimulatedMachine>;
}

export interface OpcuaSimulator {
  /** `opc.tcp://<host>:<port>/yieldwatch`. */
  endpointUrl: string;
  port: number;
  /** The server PKI folder in use: `opts.pkiDir`, or the temporary folder that `stop()` removes. */
  pkiDir: string;
  /** Advances every machine to `clock.now()` and sets its variables, source timestamp = that time. */
  tick(): void;
  /** True totals per machine path since start, unaffected by counter resets and rollovers. */
  truth(): Record<string, MachineTruth>;
  /** The machine models by path, to continue them in a restarted simulator (`models` option). */
  models(): ReadonlyMap<string, SimulatedMachine>;
  /**
   * Sets a variable to a bad status (e.g. to test rejections), default `BadSensorFailure`, keeping
   * its last value. It stays bad across ticks until called again with `StatusCodes.Good`, which
   * republishes the current value at once (the model keeps counting meanwhile).
   */
  setBadStatus(machinePath: string, name: OpcuaSimVariable, statusCode?: StatusCode): void;
  /** Stops updating, shuts the server down and removes the temporary PKI folder; never rejects. */
  stop(): Promise<void>;
}

interface SimMachine {
  machine: SimulatedMachine;
  vars: Record<OpcuaSimVariable, UAVariable>;
  /** Variables held at a bad status by `setBadStatus`. */
  bad: Map<OpcuaSimVariable, StatusCode>;
  /** Scrap counter per reason code (`Scrap_<code>`), for machines with `scrapReasons`. */
  reasonVars: Map<string, UAVariable>;
}

const DATA_TYPES: Record<OpcuaSimVariable, DataType> = {
  GoodCount: DataType.UInt32,
  ScrapCount: DataType.UInt32,
  ReworkCount: DataType.UInt32,
  MaterialInKg: DataType.Double,
  State: DataType.String,
  Product: DataType.String,
};

function values(c: MachineCounters): Record<OpcuaSimVariable, number | string> {
  return {
    GoodCount: c.good,
    ScrapCount: c.scrap,
    ReworkCount: c.rework,
    MaterialInKg: c.material_in_kg,
    State: 'running',
    Product: '',
  };
}

/**
 * Starts an OPC UA server on `host:port` (endpoints: SecurityMode None and Sign/SignAndEncrypt
 * with Basic256Sha256 and newer policies, anonymous allowed, unknown client certificates
 * accepted) exposing `Objects/Machines/<site>/<line>/<machine>` with the components `GoodCount`, … and, unless `autoUpdate`
 * is false, updating them every `updateInterval`.
 */
export async function startOpcuaSimulator(opts: OpcuaSimulatorOptions): Promise<OpcuaSimulator> {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger;
  const host = opts.host ?? '127.0.0.1';
  const autoUpdate = opts.autoUpdate ?? true;
  const tempPki = opts.pkiDir === undefined;
  const insecure = opts.allowInsecure ?? true;
  const users = opts.users ?? [];
  const pkiDir = opts.pkiDir ?? (await mkdtemp(join(tmpdir(), 'yieldwatch-opcua-sim-')));

  // A simulator accepts any client certificate: it exists to be connected to. The user PKI (X.509
  // user identities) lives in a subfolder, else node-opcua would create one under ~/.config.
  const certificateManager = new OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: true });
  const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(pkiDir, 'UserPKI'), automaticallyAcceptUnknownCertificate: true });
  const server = new OPCUAServer({
    host,
    hostname: host,
    port: opts.port,
    resourcePath: '/yieldwatch',
    serverCertificateManager: certificateManager,
    userCertificateManager,
    // The server's own namespace (index 1) carries the applicationUri: that makes it OPCUA_SIM_NAMESPACE.
    serverInfo: { applicationUri: OPCUA_SIM_NAMESPACE, productUri: 'yieldwatch-simulator', applicationName: { text: 'yieldwatch OPC UA simulator' } },
    buildInfo: { productName: 'yieldwatch OPC UA simulator', manufacturerName: 'yieldwatch' },
    securityModes: [...(insecure ? [MessageSecurityMode.None] : []), MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [...(insecure ? [SecurityPolicy.None] : []), SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep, SecurityPolicy.Aes256_Sha256_RsaPss],
    allowAnonymous: opts.allowAnonymous ?? true,
    userManager: {
      isValidUser: (userName: string, password: string) => users.some((u) => u.userName === userName && u.password === password),
    },
    serverCapabilities: { maxSessions: 10 },
    maxConnectionsPerEndpoint: 10,
    registerServerMethod: RegisterServerMethod.HIDDEN,
    isAuditing: false,
  });

  const start = clock.now();
  const machines: SimMachine[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await server.initialize();
    const addressSpace = server.engine.addressSpace!;
    const ns: Namespace = addressSpace.getOwnNamespace();
    if (ns.index !== NS || ns.namespaceUri !== OPCUA_SIM_NAMESPACE) {
      throw new Error(`Expected the simulator namespace at index ${NS}, got ${ns.namespaceUri} at ${ns.index}.`);
    }
    const root = ns.addFolder(addressSpace.rootFolder.objects, { browseName: 'Machines', nodeId: 's=Machines' });
    // One folder per ISA-95 level above the machine, as a plant's server would organise them.
    const folders = new Map<string, UAObject>();
    const folderOf = (path: string): UAObject => {
      const cut = path.lastIndexOf('/');
      if (cut < 0) return root;
      const parentPath = path.slice(0, cut);
      let f = folders.get(parentPath);
      if (f === undefined) {
        f = ns.addFolder(folderOf(parentPath), { browseName: parentPath.slice(parentPath.lastIndexOf('/') + 1), nodeId: `s=Machines/${parentPath}` });
        folders.set(parentPath, f);
      }
      return f;
    };
    const at = new Date(start);
    for (const cfg of opts.machines) {
      const machine = opts.models?.get(cfg.path) ?? new SimulatedMachine(cfg, mulberry32(deriveSeed(opts.seed, cfg.path)), start);
      const obj = ns.addObject({ organizedBy: folderOf(cfg.path), browseName: cfg.path.slice(cfg.path.lastIndexOf('/') + 1), nodeId: `s=${cfg.path}` });
      const initial = values(machine.counters());
      const vars = {} as Record<OpcuaSimVariable, UAVariable>;
      for (const name of OPCUA_SIM_VARIABLES) {
        const v = ns.addVariable({
          componentOf: obj,
          browseName: name,
          nodeId: `s=${cfg.path}/${name}`,
          dataType: DATA_TYPES[name],
          minimumSamplingInterval: 0,
        });
        v.setValueFromSource(new Variant({ dataType: DATA_TYPES[name], value: initial[name] }), StatusCodes.Good, at);
        vars[name] = v;
      }
      const reasonVars = new Map<string, UAVariable>();
      for (const [code, n] of Object.entries(machine.counters().scrapByReason ?? {})) {
        const v = ns.addVariable({ componentOf: obj, browseName: `Scrap_${code}`, nodeId: `s=${cfg.path}/Scrap_${code}`, dataType: DataType.UInt32, minimumSamplingInterval: 0 });
        v.setValueFromSource(new Variant({ dataType: DataType.UInt32, value: n }), StatusCodes.Good, at);
        reasonVars.set(code, v);
      }
      machines.push({ machine, vars, bad: new Map(), reasonVars });
    }
    await server.start();
  } catch (err) {
    await server.shutdown(0).catch(() => undefined);
    for (const cm of [certificateManager, userCertificateManager]) await cm.dispose().catch(() => undefined);
    if (tempPki) await rm(pkiDir, { recursive: true, force: true });
    throw err;
  }

  const port = server.endpoints[0]?.port ?? opts.port;
  const endpointUrl = `opc.tcp://${host}:${port}/yieldwatch`;
  log.info({ endpointUrl, machines: machines.length }, 'The OPC UA simulator is listening.');

  function publish(m: SimMachine, name: OpcuaSimVariable, value: number | string, at: Date): void {
    if (m.bad.has(name)) return;
    m.vars[name].setValueFromSource(new Variant({ dataType: DATA_TYPES[name], value }), StatusCodes.Good, at);
  }

  let stopped = false;
  function tick(): void {
    if (stopped) return;
    const now = clock.now();
    const at = new Date(now);
    for (const m of machines) {
      m.machine.advance(now);
      const c = m.machine.counters();
      const v = values(c);
      for (const name of OPCUA_SIM_VARIABLES) publish(m, name, v[name], at);
      for (const [code, variable] of m.reasonVars) variable.setValueFromSource(new Variant({ dataType: DataType.UInt32, value: c.scrapByReason![code]! }), StatusCodes.Good, at);
    }
  }

  function setBadStatus(machinePath: string, name: OpcuaSimVariable, statusCode: StatusCode = StatusCodes.BadSensorFailure): void {
    const m = machines.find((x) => x.machine.path === machinePath);
    if (m === undefined) throw new Error(`The OPC UA simulator has no machine "${machinePath}".`);
    const at = new Date(clock.now());
    if (statusCode.isGood()) {
      m.bad.delete(name);
      publish(m, name, values(m.machine.counters())[name], at);
      return;
    }
    m.bad.set(name, statusCode);
    const dv = m.vars[name].readValue();
    m.vars[name].setValueFromSource(dv.value, statusCode, at);
  }

  if (autoUpdate) timer = setInterval(tick, opts.updateInterval);

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    stopped = true;
    if (timer !== undefined) clearInterval(timer);
    stopping ??= (async () => {
      try {
        await server.shutdown(0);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'The OPC UA simulator did not shut down cleanly.');
      }
      for (const cm of [certificateManager, userCertificateManager]) {
        try {
          await cm.dispose();
        } catch {
          // Already disposed by the server.
        }
      }
      if (tempPki) await rm(pkiDir, { recursive: true, force: true }).catch(() => undefined);
    })();
    await stopping;
  }

  return {
    endpointUrl,
    port,
    pkiDir,
    tick,
    truth: () => Object.fromEntries(machines.map((m) => [m.machine.path, m.machine.truth()])),
    models: () => new Map(machines.map((m) => [m.machine.path, m.machine])),
    setBadStatus,
    stop,
  };
}
