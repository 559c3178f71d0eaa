import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../agent/src/config/load.js';
import { packageRoot } from '../../agent/src/core/package-root.js';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { requireInfluxd, startInfluxdb, type InfluxdbServer } from '../helpers/influxdb.js';
import { requireBinary } from '../helpers/require-binary.js';
import { waitFor } from '../helpers/wait.js';

/**
 * docker-compose.yml points the demo agent at InfluxDB by configuration alone (environment
 * overrides of the image's config/demo.yaml). Without Docker images here, the test checks the
 * file with docker-compose itself and then runs the same command with the same environment
 * against a real InfluxDB: the demo's windows must land there.
 */

const ROOT = packageRoot();
const hasCompose = requireBinary('docker-compose');
const hasInfluxd = requireInfluxd();

interface ComposeFile {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; ports?: (string | { target: number })[]; depends_on?: unknown }>;
}

function composeConfig(): ComposeFile {
  // `config` validates and interpolates the file without a Docker daemon.
  const out = execFileSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config'], { encoding: 'utf8', env: { ...process.env, COMPOSE_INTERACTIVE_NO_CLI: '1' } });
  return parse(out) as ComposeFile;
}

describe.skipIf(!hasCompose)('docker-compose.yml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-compose-'));
  let influx: InfluxdbServer | undefined;
  let agent: AgentProcess | undefined;
  afterAll(async () => {
    agent?.child.kill('SIGKILL');
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is valid, and its agent environment turns the demo config into one that forwards to the influxdb service', () => {
    const c = composeConfig();
    expect(Object.keys(c.services).sort()).toEqual(['agent', 'influxdb']);
    const env = c.services.agent!.environment!;
    const { config } = loadConfig(join(ROOT, 'config', 'demo.yaml'), { ...env });
    const sink = config.sinks.find((s) => s.type === 'influxdb')!;
    expect(sink).toBeDefined();
    expect(sink.type).toBe('influxdb');
    const url = new URL(sink.url);
    expect(url.hostname).toBe('influxdb');
    expect(url.port).toBe('8086');
    expect(config.api.host).toBe('0.0.0.0');
    expect(config.agent.dataDir).toBe('/var/lib/yieldwatch');
  });

  it.skipIf(!hasInfluxd)('the same command and environment, pointed at a real InfluxDB, lands the demo windows there', { timeout: 90_000 }, async () => {
    const c = composeConfig();
    influx = await startInfluxdb();
    const env: Record<string, string> = {
      ...c.services.agent!.environment!,
      YIELDWATCH_SINKS__1__URL: influx.url,
      YIELDWATCH_AGENT__DATA_DIR: dir,
      YIELDWATCH_API__HOST: '127.0.0.1',
      YIELDWATCH_API__PORT: '0',
    };
    agent = spawnAgent(c.services.agent!.command!, env);
    const demoMachines = loadConfig(join(ROOT, 'config', 'demo.yaml')).config.machines.length;
    try {
      await waitFor(
        'windows of every demo machine in InfluxDB',
        async () => {
          try {
            const rows = await influx!.query('yieldwatch', 'SELECT COUNT(parts_good) FROM yieldwatch_window GROUP BY site, line, machine');
            return rows.length === demoMachines;
          } catch {
            return false;
          }
        },
        60_000,
        500,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nagent output:\n${agent.output()}`);
    }
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  });
});
