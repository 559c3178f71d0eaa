import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { UserFile } from '../../agent/src/api/auth/users.js';
import { spawnAgent } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/wait.js';
import { diffWindows, expectedWindows, loadScenario, scenarioConfig, scenarioMessages } from '../helpers/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'yw-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const p = spawnAgent(args, env);
  const code = await p.exited;
  return { code, output: p.output() };
}

describe('yieldwatch CLI', () => {
  it('replay: recorded messages in, the final value of every window out, counts on stderr', async () => {
    const s = loadScenario('late-dup-skew');
    const config = join(dir, 'replay.yaml');
    const input = join(dir, 'messages.jsonl');
    const output = join(dir, 'windows.jsonl');
    writeFileSync(config, stringify(scenarioConfig(s)));
    // One payload as a string, as recorders that keep the raw bytes write it.
    const lines = scenarioMessages(s).map((m, i) => JSON.stringify(i === 0 ? { ...m, payload: JSON.stringify(m.payload) } : m));
    writeFileSync(input, `${lines.join('\n')}\n`);
    const { code, output: stderr } = await run(['replay', '--config', config, '--input', input, '--output', output]);
    expect(code, stderr).toBe(0);
    const windows = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(diffWindows(windows, expectedWindows(s))).toEqual([]);
    const counts = JSON.parse(stderr.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(counts).toMatchObject({ messages: s.mqtt.length, windows: s.expected.aggregates.length, ...s.expected.stats, rejected: {} });
  });

  it('replay: a broken input line is an error naming the line', async () => {
    const config = join(dir, 'replay.yaml');
    const input = join(dir, 'broken.jsonl');
    writeFileSync(input, '{"arrival": 1, "topic": "a/b", "payload": {}}\n{"topic": "x"}\n');
    const { code, output } = await run(['replay', '--config', config, '--input', input]);
    expect(code).toBe(1);
    expect(output).toMatch(/Replay input line 2 must be/);
    expect(output).toMatch(/YW_ERR_REPLAY_INPUT/);
  });

  it('check-config: exit 0 for a valid file, 1 with the key named for a broken one', async () => {
    expect((await run(['check-config', 'config/demo.yaml'])).code).toBe(0);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'kpi:\n  windowSize: 60 seconds\n');
    const r = await run(['check-config', bad]);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/kpi\.windowSize/);
  });

  it('check-config: a declared signal no source maps is a warning naming the machine and the signal (exit 0); an OPC UA source reading an unlisted machine is an error naming the key (exit 1)', async () => {
    const opcua = (machines: string[]) => ({
      type: 'opcua',
      endpointUrl: 'opc.tcp://127.0.0.1:4840',
      machines: machines.map((machine) => ({ machine, signals: { parts_good: { nodeId: `ns=1;s=${machine}/Good` }, parts_scrap: { nodeId: `ns=1;s=${machine}/Scrap` } } })),
    });
    const raw = {
      machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, material_in_kg: { kind: 'counter' } } },
      machines: [{ path: 'plant1/line1/press1' }, { path: 'plant1/line2/press2' }],
      sources: [
        { type: 'mqtt', url: 'mqtt://127.0.0.1:1883', topics: [{ topic: 'plant1/line1/{machine}/counters', site: 'plant1', line: 'line1', fields: { parts_good: 'good', parts_scrap: 'scrap', material_in_kg: 'kg' }, timestamp: { field: 'ts' } }] },
        opcua(['plant1/line2/press2']),
      ],
    };
    const warned = join(dir, 'unmapped.yaml');
    writeFileSync(warned, stringify(raw));
    const ok = await run(['check-config', warned]);
    expect(ok.code, ok.output).toBe(0);
    expect(ok.output).toMatch(/is valid: 2 machines, 2 sources/);
    expect(ok.output.match(/^warning: .*no source maps.*$/gm)).toEqual([expect.stringMatching(/^warning: plant1\/line2\/press2 declares material_in_kg \(inherited from machineDefaults\.signals\), but no source maps it for this machine/)]);

    const refused = join(dir, 'unknown-machine.yaml');
    writeFileSync(refused, stringify({ ...raw, sources: [raw.sources[0], opcua(['plant1/line2/press2', 'plant1/line3/press3'])] }));
    const bad = await run(['check-config', refused]);
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/sources\[1\]\.machines\[1\]\.machine \(line \d+\): unknown machine "plant1\/line3\/press3"; expected a machine path listed under `machines`/);
  });

  it('check-config: refuses an api.host other machines reach without a user or a token, as start would, naming the key', async () => {
    const data = join(dir, 'open-data');
    const file = join(dir, 'open.yaml');
    const base = { agent: { dataDir: data }, machines: [{ path: 'plant/l1/press', signals: { parts_good: { kind: 'delta' } } }], sources: [] };
    writeFileSync(file, stringify({ ...base, api: { host: '0.0.0.0' } }));
    const open = await run(['check-config', file]);
    expect(open.code).toBe(1);
    expect(open.output).toContain('api.host is "0.0.0.0"');
    expect(open.output).toContain('YW_ERR_API_OPEN');
    expect(open.output).not.toContain('is valid');
    // A user in the users file the agent would read is a login, and so is a token.
    await new UserFile(join(data, 'users.json')).add('admin', 'admin', 'long enough password', new Date());
    expect((await run(['check-config', file])).code).toBe(0);
    rmSync(join(data, 'users.json'));
    writeFileSync(file, stringify({ ...base, api: { host: '0.0.0.0', tokens: [{ name: 'scada', token: '${SCADA_TOKEN}', role: 'viewer' }] } }));
    expect((await run(['check-config', file], { SCADA_TOKEN: 'scada-token-0123456789' })).code).toBe(0);
    // The shipped example listens on this machine only.
    const example = await run(['check-config', 'config/example.yaml'], { MQTT_PASSWORD: 'from-env' });
    expect(example.code, example.output).toBe(0);
  });

  it('check-config: a too-short token is refused naming the key, and its value is not printed', async () => {
    const file = join(dir, 'short-token.yaml');
    writeFileSync(file, stringify({ machines: [{ path: 'plant/l1/press', signals: { parts_good: { kind: 'delta' } } }], sources: [], api: { tokens: [{ name: 'scada', token: '${SCADA_TOKEN}', role: 'viewer' }] } }));
    const r = await run(['check-config', file], { SCADA_TOKEN: 'tok-Qx7' });
    expect(r.code).toBe(1);
    expect(r.output).toContain('api.tokens[0].token');
    expect(r.output).toContain('expected at least 16 characters');
    expect(r.output).not.toContain('tok-Qx7');
  });

  it('an unknown option is a usage error (exit 2), a missing input file a clear error (exit 1)', async () => {
    const r = await run(['replay', '--confg', 'x.yaml']);
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/Unknown option '--confg'/);
    expect(r.output).toMatch(/Usage: yieldwatch/);
    const missing = await run(['replay', '--config', join(dir, 'replay.yaml'), '--input', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/Cannot read the replay input .*nope\.jsonl: ENOENT/);
    expect(missing.output).not.toMatch(/\n\s+at /);
  });

  it('print-schema into a pipe its reader closed early (`| head`) ends quietly with exit 0, not with an EPIPE stack', async () => {
    const p = spawnAgent(['print-schema']);
    // The reader is gone before the first byte: every write meets a closed pipe.
    p.child.stdout!.destroy();
    const code = await p.exited;
    expect(p.output()).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });

  it('an unknown command is a usage error (exit 2)', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/Unknown command "frobnicate"/);
  });
});

describe('the demo (npm start)', () => {
  it('shows live KPIs of the simulated machines on the API, and stops cleanly on SIGINT', { timeout: 150_000 }, async () => {
    const dataDir = join(dir, 'demo-data');
    const p = spawnAgent(['demo'], {
      YIELDWATCH_AGENT__DATADIR: dataDir,
      YIELDWATCH_API__PORT: '0',
      YIELDWATCH_DEMO__BROKER__PORT: '0',
      // Live data only: the demo's history is tested on its own (agent/src/wiring/demo-history.test.ts).
      YIELDWATCH_DEMO__HISTORY: '0s',
    });
    try {
      // Start-up makes the OPC UA server's certificates in a fresh data folder: seconds on a busy CI machine.
      const url = await waitFor('the demo to print its URL', () => /Open the dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(p.output())?.[1], 60_000);
      const machines = (await (await fetch(`${url}/api/v1/machines`)).json()) as { items: { machine: string }[] };
      expect(machines.items.length).toBe(8);
      // Every simulated machine gets windows with production in them. A machine's first window may
      // hold only its baseline (nothing counted yet); windows close after window + lateness (12 s).
      const items = await waitFor(
        'windows with production from every demo machine, MQTT and OPC UA',
        async () => {
          const r = (await (await fetch(`${url}/api/v1/kpis`)).json()) as { items: Record<string, unknown>[] };
          const producing = new Set(r.items.filter((i) => (i.parts_total as number) > 0).map((i) => i.machine));
          return producing.size === 8 ? r.items : undefined;
        },
        60_000,
        500,
      );
      const produced = items.filter((i) => (i.parts_total as number) > 0);
      expect(produced.length).toBeGreaterThan(0);
      for (const w of produced) {
        expect(w.method).toBe('yieldwatch-kpi/2');
        expect(w.parts_total).toBe((w.parts_good as number) + (w.parts_scrap as number) + (w.parts_rework as number));
        expect(w.yield).toBeCloseTo((w.parts_good as number) / (w.parts_total as number), 12);
        // Every simulated process loses material (trim, chips, sprue): efficiency is below 1.
        expect(w.material_efficiency as number).toBeGreaterThanOrEqual(0);
        expect(w.material_efficiency as number).toBeLessThan(1);
        expect(w.loss_co2e_kg as number).toBeGreaterThan(0);
      }
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      // The daily report of yesterday is made at start, as PDF and CSV in the data folder.
      expect(p.output()).toContain(`Scheduled reports (daily) go to ${join(dataDir, 'reports')}`);
      const [, period, outcome, reason] = await waitFor('the daily report at start', () => /Scheduled report \\"daily\\" of (\d{4}-\d{2}-\d{2}) (made|failed)(?:: ([^.]*))?/.exec(p.output()) ?? undefined, 30_000, 100);
      expect(outcome, reason).toBe('made');
      for (const ext of ['pdf', 'csv']) expect(existsSync(join(dataDir, 'reports', `yieldwatch-daily-site_demo-${period}.${ext}`)), ext).toBe(true);
    } finally {
      p.child.kill('SIGINT');
    }
    expect(await p.exited).toBe(0);
    expect(p.output()).toMatch(/checkpoint saved/);
    // node-opcua's own lines ("12:00:00.000Z :file  :line  text") go into the JSON log, the simulator's too.
    expect(p.output()).not.toMatch(/^\d\d:\d\d:\d\d\.\d{3}Z :/m);
  });

  it('dashboard: the central view needs central.influxdb; with InfluxDB unreachable it still serves and says why it has no numbers (503, status down)', { timeout: 60_000 }, async () => {
    const bare = join(dir, 'no-central.yaml');
    writeFileSync(bare, stringify({ machines: [{ path: 'p/l/m' }] }));
    const missing = await run(['dashboard', '--config', bare]);
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/central\.influxdb/);

    const config = join(dir, 'central.yaml');
    // Port 9 (discard) on loopback: nothing answers there.
    writeFileSync(config, stringify({ agent: { dataDir: join(dir, 'central-data') }, central: { influxdb: { url: 'http://127.0.0.1:9', database: 'plant', timeout: '2s' } }, api: { port: 0 } }));
    const p = spawnAgent(['dashboard', '--config', config]);
    try {
      const url = await waitFor('the central dashboard to print its URL', () => /central dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(p.output())?.[1], 30_000);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      const overview = await fetch(`${url}/api/v1/overview`);
      expect(overview.status).toBe(503);
      expect(((await overview.json()) as { message: string }).message).toMatch(/cannot read InfluxDB: .*127\.0\.0\.1:9/);
      const status = (await (await fetch(`${url}/api/v1/status`)).json()) as { store: { kind: string }; parts: Record<string, { status: string; reason?: string }> };
      expect(status.store.kind).toBe('influxdb');
      expect(status.parts.influxdb).toMatchObject({ status: 'down' });
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
  });
});
