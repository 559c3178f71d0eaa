import type { Logger } from 'pino';
import { Agent } from './agent.js';
import { YieldwatchError } from './core/errors.js';
import type { LoadedConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { UserFile } from './api/auth/users.js';
import { isLoopbackHost } from './core/loopback.js';
import { startBroker } from './simulator/broker.js';
import type { OpcuaSimulator } from './simulator/opcua-server.js';
import { startSimulator } from './simulator/publisher.js';
import { seedDemoHistory } from './wiring/demo-history.js';
import { routeNodeOpcuaLogs } from './sources/opcua/node-opcua-log.js';

export interface RunningDemo {
  agent: Agent;
  apiUrl: string | undefined;
  brokerUrl: string;
  opcuaUrl: string | undefined;
  /** The one-time login made for a demo that other machines reach; undefined on loopback. */
  login: { name: string; password: string } | undefined;
  stop(): Promise<void>;
}

/**
 * The `npm start` demo: an embedded broker, the simulated machines publishing to it and the
 * agent reading them, all in this process. Ports in use are replaced by free ones.
 */
export async function runDemo(loaded: LoadedConfig, logger: Logger): Promise<RunningDemo> {
  const { config } = loaded;
  const demo = config.demo;
  if (!demo) throw new YieldwatchError('YW_ERR_CONFIG_INVALID', 'The demo config needs a `demo:` section (broker and simulated machines).');
  let broker;
  try {
    broker = await startBroker(demo.broker);
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code !== 'EADDRINUSE' && (err as { code?: string }).code !== 'EADDRINUSE') throw err;
    logger.warn({ port: demo.broker.port, err: (err as Error).message }, 'Demo broker port is taken; using a free port instead.');
    broker = await startBroker({ ...demo.broker, port: 0 });
  }
  let opcua: OpcuaSimulator | undefined;
  if (demo.opcua) {
    const o = demo.opcua;
    // Loaded only when needed: node-opcua takes a while to load and prints notices of its own.
    const { startOpcuaSimulator } = await import('./simulator/opcua-server.js');
    const simLogger = logger.child({ part: 'opcua-simulator' });
    // The server runs before the agent's OPC UA source routes node-opcua's console lines into the log.
    routeNodeOpcuaLogs(await import('node-opcua'), simLogger);
    const start = (port: number) =>
      startOpcuaSimulator({ host: o.host, port, machines: o.machines, seed: demo.seed, updateInterval: o.updateInterval, logger: simLogger });
    try {
      opcua = await start(o.port);
    } catch (err) {
      logger.warn({ port: o.port, err: (err as Error).message }, 'Demo OPC UA port is taken; using a free port instead.');
      opcua = await start(0);
    }
  }
  // The demo's sources read from the embedded broker and OPC UA server, wherever they ended up listening.
  // Their PKI is the demo's own, in its data folder: the config file may lie in an installed package that is not ours to write.
  const sources = config.sources.map((s) =>
    s.type === 'mqtt' ? { ...s, url: broker.url } : s.type === 'opcua' && opcua ? { ...s, endpointUrl: opcua.endpointUrl, pkiDir: join(loaded.dataDir, 'pki') } : s,
  );
  // MQTT sinks aimed at a loopback broker mean the embedded one: they publish wherever it ended up listening.
  const loopback = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
  const sinks = config.sinks.map((s) => (s.type === 'mqtt' && loopback(s.url) ? { ...s, url: broker.url } : s));
  const agentConfig = { ...config, sources, sinks };
  const login = await demoLogin(agentConfig, loaded.dataDir);
  const t0 = performance.now();
  const history = seedDemoHistory(agentConfig, join(loaded.dataDir, 'yieldwatch.db'), Date.now(), () => logger.info('Demo: writing the simulated machines\' past to the new store (first start only)…'));
  if (history > 0) logger.info({ windows: history, seconds: Math.round((performance.now() - t0) / 100) / 10 }, 'Demo history: the simulated machines\' past written to the store.');
  let agent = new Agent({ ...loaded, config: agentConfig, logger });
  let apiUrl: string | undefined;
  try {
    apiUrl = await agent.start();
  } catch (err) {
    if (!(err instanceof YieldwatchError && err.code === 'YW_ERR_API_LISTEN')) throw err;
    logger.warn({ port: config.api.port }, 'API port is taken; using a free port instead.');
    await agent.stop();
    agent = new Agent({ ...loaded, config: { ...agentConfig, api: { ...config.api, port: 0 } }, logger });
    apiUrl = await agent.start();
  }
  // The simulator starts after the agent has subscribed, so no first message goes unheard.
  const simulator = startSimulator(demo, { url: broker.url, logger: logger.child({ part: 'simulator' }) });
  return {
    agent,
    apiUrl,
    login,
    brokerUrl: broker.url,
    opcuaUrl: opcua?.endpointUrl,
    async stop() {
      try {
        await simulator.stop();
        await agent.stop();
      } finally {
        await opcua?.stop();
        await broker.close();
      }
    },
  };
}

/**
 * The demo opens without a login on loopback. Where other machines reach it (in a container,
 * `api.host: 0.0.0.0`) and it has no user or token yet, it makes the user `demo` (admin) with a
 * one-time password to print: an open API there would let anyone acknowledge alerts.
 */
async function demoLogin(config: Config, dataDir: string): Promise<{ name: string; password: string } | undefined> {
  const { host, tokens, usersFile } = config.api;
  if (!config.api.enabled || isLoopbackHost(host) || tokens.length > 0) return undefined;
  const users = new UserFile(resolve(dataDir, usersFile));
  if (users.count() > 0) return undefined;
  const password = randomBytes(12).toString('base64url');
  await users.add('demo', 'admin', password, new Date());
  return { name: 'demo', password };
}
