import { connect, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import { parseMachinePath } from '../core/sample.js';
import type { SimulatorConfig } from './config.js';
import { SimulatedMachine, type MachineCounters, type MachineTruth } from './machine.js';
import { deriveSeed, mulberry32 } from './random.js';

/** How `startSimulator` reaches its broker and keeps time. */
export interface SimulatorOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  /** Simulated time; defaults to the system clock. */
  clock?: Clock;
  logger: Logger;
  /** Publish every `publishInterval` on a real timer (default true); false publishes only on `tick()`, for tests on a virtual clock. */
  autoPublish?: boolean;
  /** MQTT client id; defaults to `yieldwatch-simulator-<pid>-<n>`, unique per simulator in the process. */
  clientId?: string;
  /** Credentials for a broker with a password file (Mosquitto); the embedded broker needs none. */
  username?: string;
  password?: string;
}

/** A running simulator: its machines, its MQTT client and its timer. */
export interface Simulator {
  /** Advances every machine to `clock.now()` and publishes their counters (skipped while disconnected: counters are cumulative, so nothing is lost). */
  tick(): void;
  /** True totals per machine path since start, unaffected by counter resets and rollovers. */
  truth(): Record<string, MachineTruth>;
  /** True while the MQTT client is connected to the broker. */
  connected(): boolean;
  /** Stops the timer and disconnects, waiting briefly for unacknowledged publications; never rejects. */
  stop(): Promise<void>;
}

// Two simulators with one client id on one broker would disconnect each other.
let instances = 0;

/** How long `stop()` waits for the broker to acknowledge the last QoS 1 publications. */
const STOP_GRACE_MS = 2000;

const PLACEHOLDER_RE = /\{(site|area|line|machine)\}/g;

/** Fills `{site}`, `{area}`, `{line}` and `{machine}` of a topic template from a machine path; throws when the template needs an area the path lacks. */
export function machineTopic(template: string, path: string): string {
  const levels = parseMachinePath(path);
  if (levels === undefined) throw new Error(`"${path}" is not a machine path; expected "site/line/machine" or "site/area/line/machine".`);
  return template.replace(PLACEHOLDER_RE, (_m, level: 'site' | 'area' | 'line' | 'machine') => {
    const v = levels[level];
    if (v === undefined) throw new Error(`The topic template "${template}" uses {${level}}, but the machine path "${path}" has no ${level} level.`);
    return v;
  });
}

/** The JSON payload a simulated machine publishes; `material_in_kg` is rounded to 4 decimals (0.1 g), as a PLC's fixed-point value would be. */
export function counterPayload(c: MachineCounters, ts: number): string {
  return JSON.stringify({
    good: c.good,
    scrap: c.scrap,
    rework: c.rework,
    material_in_kg: Math.round(c.material_in_kg * 10_000) / 10_000,
    ...(c.scrapByReason !== undefined ? { scrap_by_reason: c.scrapByReason, reason: c.reason ?? '' } : {}),
    ts,
    state: 'running',
  });
}

/**
 * Starts the simulated machines and publishes their counters as JSON, QoS 1, on `cfg.topic`.
 * Returns at once: the connection is made in the background and mqtt.js reconnects after a
 * broker loss, so nothing here throws because the broker is away.
 */
export function startSimulator(cfg: SimulatorConfig, opts: SimulatorOptions): Simulator {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger;
  const autoPublish = opts.autoPublish ?? true;
  const start = clock.now();
  const machines = cfg.machines.map((m) => ({
    machine: new SimulatedMachine(m, mulberry32(deriveSeed(cfg.seed, m.path)), start),
    topic: machineTopic(cfg.topic, m.path),
  }));

  const client: MqttClient = connect(opts.url, {
    clientId: opts.clientId ?? `yieldwatch-simulator-${process.pid}-${++instances}`,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 5000,
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
  });

  // Connection trouble is logged once per outage, not once per reconnect attempt or message.
  let up = false;
  let stopped = false;
  let troubleLogged = false;
  let publishErrorLogged = false;
  client.on('connect', () => {
    up = true;
    troubleLogged = false;
    publishErrorLogged = false;
    log.info({ url: opts.url, machines: machines.length }, 'The simulator is connected to the broker.');
    if (autoPublish) tick();
  });
  client.on('close', () => {
    if (up && !stopped) log.warn({ url: opts.url }, 'The simulator lost the broker; it keeps counting and reconnects.');
    up = false;
  });
  client.on('error', (err) => {
    if (troubleLogged || stopped) return;
    troubleLogged = true;
    log.warn({ url: opts.url, err: err.message }, 'The simulator cannot reach the broker; it keeps retrying.');
  });

  // mqtt.js calls back with null (not undefined) on success, whatever its types say.
  const onPublished = (err?: Error | null): void => {
    if (!err || publishErrorLogged) return;
    publishErrorLogged = true;
    log.warn({ err: err.message }, 'A simulator publication failed; the next one carries the same cumulative counters.');
  };

  function tick(): void {
    const now = clock.now();
    for (const m of machines) m.machine.advance(now);
    if (!client.connected) return;
    for (const m of machines) client.publish(m.topic, counterPayload(m.machine.counters(), now), { qos: 1 }, onPublished);
  }

  const timer = autoPublish ? setInterval(tick, cfg.publishInterval) : undefined;

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    stopped = true;
    if (timer !== undefined) clearInterval(timer);
    stopping ??= endClient(client);
    await stopping;
  }

  return {
    tick,
    truth: () => Object.fromEntries(machines.map((m) => [m.machine.path, m.machine.truth()])),
    connected: () => client.connected,
    stop,
  };
}

/** Disconnects cleanly when the last publications are acknowledged in time, else drops the connection. */
async function endClient(client: MqttClient): Promise<void> {
  let drained = Object.keys(client.outgoing).length === 0;
  if (client.connected && !drained) {
    drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        client.removeListener('outgoingEmpty', onEmpty);
        resolve(false);
      }, STOP_GRACE_MS);
      function onEmpty(): void {
        clearTimeout(timer);
        resolve(true);
      }
      client.once('outgoingEmpty', onEmpty);
    });
  }
  try {
    // Force when disconnected or not drained: a graceful end would wait for acks that cannot come.
    await client.endAsync(!(client.connected && drained));
  } catch {
    // Closing the in-memory stores cannot fail in a way a caller could act on.
  }
}
