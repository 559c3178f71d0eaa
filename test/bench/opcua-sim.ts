/**
 * The OPC UA simulator of the bench's OPC UA case (a child process of run.ts, so its CPU is not
 * counted against the agent): agent/src/simulator/opcua-server.ts on a free 127.0.0.1 port with
 * the machines of opcua-config.ts, updating every `--interval` ms.
 *
 * It runs the simulator's update on its own timer (`autoUpdate: false`, then `tick()` every
 * `updateInterval`, which is what `autoUpdate` does) so it can count what it really produced: at
 * each `mark` from the runner it reports the updates done, the changes of the monitored variables
 * since the start, its own CPU and the longest update, so a simulator that cannot keep up is seen.
 *
 * Usage: node --import tsx test/bench/opcua-sim.ts --items N --interval MS --pki-dir DIR [--seed S]
 */
import { parseArgs } from 'node:util';
import type { MachineTruth } from '../../agent/src/simulator/machine.js';
import { startOpcuaSimulator } from '../../agent/src/simulator/opcua-server.js';
import { createLogger } from '../../agent/src/observe/logger.js';
import type { OpcuaSimMark, OpcuaSimListening } from './opcua-common.js';
import { opcuaItems, opcuaSimMachines } from './opcua-config.js';

const { values } = parseArgs({ options: { items: { type: 'string' }, interval: { type: 'string' }, 'pki-dir': { type: 'string' }, seed: { type: 'string' } } });
const items = Number(values.items);
const interval = Number(values.interval);
const pkiDir = values['pki-dir'];
if (!(items > 0) || !(interval > 0) || pkiDir === undefined) throw new Error('opcua-sim needs --items N, --interval MS and --pki-dir DIR.');

const logger = createLogger({ level: 'warn', destination: process.stderr, pretty: false });
const machines = opcuaSimMachines(items, interval);
// The PKI goes into the runner's temp folder of the case, so a simulator killed by PID leaves nothing behind.
const sim = await startOpcuaSimulator({ port: 0, machines, seed: Number(values.seed ?? 1), updateInterval: interval, logger, autoUpdate: false, pkiDir });

// Which truth field moves the monitored variable of each item (no resets, no rollover: a change of the truth is a change of the value).
const TRUTH_FIELD = { GoodCount: 'parts_good', ScrapCount: 'parts_scrap', ReworkCount: 'parts_rework', MaterialInKg: 'material_in_kg' } as const;
const watched = opcuaItems(items).map((it) => ({ machine: it.machine, field: TRUTH_FIELD[it.variable as keyof typeof TRUTH_FIELD] }));

let updates = 0;
let changes = 0;
let tickMsMax = 0;
let tickMsTotal = 0;
let previous: Record<string, MachineTruth> = sim.truth();
const timer = setInterval(() => {
  const t0 = performance.now();
  sim.tick();
  const dt = performance.now() - t0;
  updates++;
  tickMsTotal += dt;
  if (dt > tickMsMax) tickMsMax = dt;
  const now = sim.truth();
  for (const w of watched) if (now[w.machine]![w.field] !== previous[w.machine]![w.field]) changes++;
  previous = now;
}, interval);

const listening: OpcuaSimListening = { type: 'listening', endpointUrl: sim.endpointUrl, machines: machines.length };
process.send?.(listening);

process.on('message', (m: { type?: string }) => {
  if (m.type === 'mark') {
    const cpu = process.cpuUsage();
    const mark: OpcuaSimMark = { type: 'mark', t: performance.now(), updates, changes, cpuUs: cpu.user + cpu.system, tickMsMax, tickMsTotal };
    // The longest update is reported per span: the one before the first mark is start-up.
    tickMsMax = 0;
    process.send?.(mark);
  } else if (m.type === 'stop') {
    clearInterval(timer);
    void sim.stop().finally(() => process.exit(0));
  }
});
// The runner going away (even by SIGKILL) must not leave a server listening.
process.on('disconnect', () => {
  clearInterval(timer);
  void sim.stop().finally(() => process.exit(0));
});
