import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../agent/src/core/package-root.js';
import { mqttConnected, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { composeConfig } from '../helpers/compose.js';
import { freePort } from '../helpers/free-port.js';
import { expandGrafanaMacros, panelQueries, variableQueries, type GrafanaScope } from '../helpers/grafana-dashboard.js';
import { requireInfluxd, startInfluxdb, type InfluxdbServer, type InfluxRow } from '../helpers/influxdb.js';
import { documentedInfluxSchema, isDocumentedField } from '../helpers/influxdb-schema.js';
import { accepts, exited } from '../helpers/mosquitto.js';
import { findBinary, requireBinary } from '../helpers/require-binary.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The compose stack without Docker: its own files run as local processes. init-secrets.sh makes
 * the secrets; Debian's mosquitto runs deploy/compose/mosquitto.conf (only the port and folders
 * adapted) and answers the service's own health check; the agent runs with the service's
 * command, environment and secret files, and the simulators with theirs, through Mosquitto's
 * password logins into a real InfluxDB. Then every query of the Grafana dashboard, with
 * Grafana's macros and variables filled in as Grafana does, must return data.
 *
 * The one change to agent.yaml beyond addresses: 5-second windows (YIELDWATCH_KPI__WINDOW_SIZE)
 * instead of 60, so the test sees windows within seconds.
 */

const ROOT = packageRoot();
const COMPOSE_DIR = join(ROOT, 'deploy', 'compose');
const DASHBOARD = join(COMPOSE_DIR, 'grafana', 'dashboards', 'yieldwatch.json');
const hasTools = requireBinary('docker-compose') && requireBinary('mosquitto') && requireBinary('mosquitto_passwd') && requireBinary('mosquitto_sub');
const hasInfluxd = requireInfluxd();

describe.skipIf(!hasTools || !hasInfluxd)('the compose stack, run as local processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-compose-stack-'));
  const secrets = join(dir, 'secrets');
  let mosquitto: ChildProcess | undefined;
  let influx: InfluxdbServer | undefined;
  const procs: AgentProcess[] = [];
  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    if (mosquitto?.pid !== undefined) process.kill(mosquitto.pid, 'SIGKILL');
    if (mosquitto) await exited(mosquitto);
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fills InfluxDB from the simulators through Mosquitto and the agent, and every panel of the dashboard returns data', { timeout: 90_000 }, async () => {
    const { services } = composeConfig(['demo']);
    execFileSync('sh', [join(COMPOSE_DIR, 'init-secrets.sh'), secrets], { stdio: 'pipe' });

    // Mosquitto with the stack's config: the container's paths and port mapped to this machine.
    const port = await freePort();
    mkdirSync(join(dir, 'mosquitto-data'));
    const replacements: [RegExp, string][] = [
      [/^listener 1883$/m, `listener ${port} 127.0.0.1`],
      [/^password_file \/run\/secrets\//m, `password_file ${secrets}/`],
      [/^persistence_location \/mosquitto\/data\/$/m, `persistence_location ${join(dir, 'mosquitto-data')}/`],
    ];
    let conf = readFileSync(join(COMPOSE_DIR, 'mosquitto.conf'), 'utf8');
    for (const [re, to] of replacements) {
      expect(conf, String(re)).toMatch(re);
      conf = conf.replace(re, to);
    }
    // Started as root (CI), mosquitto would drop to the "mosquitto" user, which cannot read our temp folder.
    if (process.getuid?.() === 0) conf += 'user root\n';
    writeFileSync(join(dir, 'mosquitto.conf'), conf);
    let mosquittoOut = '';
    mosquitto = spawn(findBinary('mosquitto')!, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    mosquitto.stdout!.on('data', (d: Buffer) => (mosquittoOut = (mosquittoOut + d.toString()).slice(-10_000)));
    mosquitto.stderr!.on('data', (d: Buffer) => (mosquittoOut = (mosquittoOut + d.toString()).slice(-10_000)));
    await waitFor('mosquitto accepting connections', async () => (await accepts(port)) || (mosquitto!.exitCode !== null ? Promise.reject(new Error(mosquittoOut)) : false), 10_000, 50);

    // The service's own health check logs in as "health"; an anonymous client is refused.
    const health = services.mosquitto!.healthcheck!.test!;
    expect(health[0]).toBe('CMD-SHELL');
    const healthCmd = health[1]!.replace(/\$\$/g, '$').replaceAll('/run/secrets/', `${secrets}/`).replace('-p 1883', `-p ${port}`);
    expect(() => execFileSync('sh', ['-c', healthCmd], { stdio: 'pipe', timeout: 10_000 }), mosquittoOut).not.toThrow();
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(/Not authorized|not authori[sz]ed/i);

    influx = await startInfluxdb();
    const local = (s: string): string =>
      s.replaceAll('/run/secrets/', `${secrets}/`).replace('/etc/yieldwatch/agent.yaml', join(COMPOSE_DIR, 'agent.yaml')).replace('mqtt://mosquitto:1883', `mqtt://127.0.0.1:${port}`);
    const agentSvc = services.agent!;
    const agent = spawnAgent(agentSvc.command!.map(local), {
      ...Object.fromEntries(Object.entries(agentSvc.environment ?? {}).map(([k, v]) => [k, local(v)])),
      YIELDWATCH_SOURCES__0__URL: `mqtt://127.0.0.1:${port}`,
      YIELDWATCH_SINKS__0__URL: influx.url,
      YIELDWATCH_AGENT__DATA_DIR: join(dir, 'agent-data'),
      YIELDWATCH_API__HOST: '127.0.0.1',
      YIELDWATCH_API__PORT: '0',
      YIELDWATCH_KPI__WINDOW_SIZE: '5s',
      YIELDWATCH_KPI__ALLOWED_LATENESS: '1s',
    });
    procs.push(agent);
    await waitFor('the agent logged in to Mosquitto', () => mqttConnected(agent) || (agent.child.exitCode !== null ? Promise.reject(new Error(agent.output())) : false), 30_000, 100);
    const simulators = spawnAgent(services.simulators!.command!.map(local));
    procs.push(simulators);

    const database = 'yieldwatch';
    const scope = (): GrafanaScope => ({ from: Date.now() - 3_600_000, to: Date.now() + 60_000, interval: '5s', variables });
    const variables = new Map<string, string[]>();
    const panels = panelQueries(DASHBOARD);
    const results = new Map<string, InfluxRow[]>();
    const query = async (q: string): Promise<InfluxRow[]> => {
      try {
        return await influx!.query(database, q);
      } catch (err) {
        // Before the sink created the database, InfluxDB answers "database not found".
        if (/database not found/.test((err as Error).message)) return [];
        throw err;
      }
    };
    try {
      await waitFor(
        'every panel of the dashboard with data',
        async () => {
          for (const v of variableQueries(DASHBOARD)) {
            const rows = await query(expandGrafanaMacros(v.query, scope()));
            variables.set(v.name, rows.map((r) => String(r.value)));
            if (rows.length === 0) return false;
          }
          for (const p of panels) results.set(p.where, await query(expandGrafanaMacros(p.query, scope())));
          return panels.every((p) => (results.get(p.where) ?? []).some((row) => Object.entries(row).some(([k, v]) => k !== 'time' && typeof v === 'number')));
        },
        60_000,
        1000,
      );
    } catch (err) {
      const empty = panels.filter((p) => (results.get(p.where) ?? []).length === 0).map((p) => p.where);
      throw new Error(`${(err as Error).message}; without data: ${empty.join(', ')}\nvariables: ${JSON.stringify([...variables])}\nagent:\n${agent.output().slice(-3000)}\nsimulators:\n${simulators.output().slice(-2000)}`);
    }
    // Each machine the simulators run shows up in the machine variable, so in every per-machine panel.
    expect(variables.get('machine')!.sort()).toEqual(['laser1', 'lathe1', 'molder1', 'molder2', 'press1', 'press2']);

    // What the agent wrote is what the sink's README documents: no field the dashboard could not know of.
    const schema = documentedInfluxSchema();
    for (const row of await influx.query(database, 'SHOW MEASUREMENTS')) expect([...schema.keys()]).toContain(row.name);
    for (const [measurement, m] of schema) {
      for (const row of await influx.query(database, `SHOW FIELD KEYS FROM "${measurement}"`)) expect(isDocumentedField(m, String(row.fieldKey)), `${measurement}.${String(row.fieldKey)}`).toBe(true);
      for (const row of await influx.query(database, `SHOW TAG KEYS FROM "${measurement}"`)) expect(m.tags.has(String(row.tagKey)), `${measurement} tag ${String(row.tagKey)}`).toBe(true);
    }

    simulators.child.kill('SIGTERM');
    agent.child.kill('SIGTERM');
    expect(await simulators.exited).toBe(0);
    expect(await agent.exited).toBe(0);
  });
});
