/**
 * Alert latency (`npm run bench -- --alert-latency`, or this file directly under tsx): from the
 * first spike sample published to the alert arriving on the live stream (SSE), p50 and p99 over
 * repeated spikes, for a window rule (`threshold`) and the `fast` rule.
 *
 * The agent runs as its own process (as in production), reading an aedes broker in this process;
 * two machines make the same 100 parts/s with 2 % scrap, one judged by the window rule only and
 * one by the fast rule only (on one machine both rules would share one alert, and the second to
 * fire would only join it, not notified); every run switches both to 60 % scrap until both
 * alerts fired, then back until both resolved. Windows are short (`--window`, default 2 s,
 * lateness 300 ms) so that many runs fit in a few minutes: a window rule's latency is the wait
 * for its window to close plus the agent's own delay, which is reported separately.
 *
 * Options: --runs N (default 20), --window S (seconds, default 2), --json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { startAedesBroker } from '../helpers/aedes-broker.js';
import { spawnAgent } from '../helpers/agent-process.js';
import { freePort } from '../helpers/free-port.js';
import { openEventStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, window: { type: 'string', default: '2' }, json: { type: 'boolean', default: false }, 'alert-latency': { type: 'boolean', default: false } },
  allowPositionals: true,
});
const RUNS = Number(flags.runs);
const WINDOW_MS = Number(flags.window) * 1000;
const LATENESS_MS = 300;
/** The same parts on two machines: one for each rule, so that each rule opens an alert of its own. */
const MACHINES = ['bench/l1/m1', 'bench/l1/m2'];
const say = (s: string) => process.stderr.write(`${s}\n`);

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'yw-bench-alerts-'));
  const broker = await startAedesBroker();
  const apiPort = await freePort();
  const configFile = join(dir, 'agent.yaml');
  writeFileSync(
    configFile,
    stringify({
      agent: { id: 'latency', dataDir: './data', logLevel: 'warn' },
      kpi: { windowSize: `${WINDOW_MS}ms`, allowedLateness: `${LATENESS_MS}ms` },
      machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
      machines: MACHINES.map((path) => ({ path, partMassKg: 0.1 })),
      sources: [{ type: 'mqtt', id: 'line', url: broker.url, clientId: 'yw-latency', topics: [{ topic: 'bench/{line}/{machine}/c', site: 'bench', fields: { parts_good: 'good', parts_scrap: 'scrap' }, timestamp: { field: 'ts' } }] }],
      alerts: {
        rules: [
          { id: 'window', type: 'threshold', scrapRate: 0.3, minParts: 20, cooldown: '0s' },
          { id: 'fast', type: 'fast', scrapRate: 0.3, parts: 30, cooldown: '0s' },
        ],
        machines: { [MACHINES[0]!]: { fast: { enabled: false } }, [MACHINES[1]!]: { window: { enabled: false } } },
      },
      api: { port: apiPort },
    }),
  );
  const agent = spawnAgent(['start', '--config', configFile]);
  const fired = new Map<string, number>();
  /** Window start of the window that fired the window rule. */
  let firedWindow = 0;
  const resolved = new Set<string>();
  let stream: ReturnType<typeof openEventStream> | undefined;
  const pub = await mqtt.connectAsync(broker.url, { clientId: 'latency-pub' });
  try {
    await waitFor('the API', async () => (await fetch(`http://127.0.0.1:${apiPort}/livez`).catch(() => undefined))?.ok, 30_000, 200);
    stream = openEventStream(`http://127.0.0.1:${apiPort}/api/v1/stream`, (e) => {
      if (e.event !== 'alert') return;
      const alert = e.data.alert as { rule: string; window_start: number | null };
      if (e.data.event === 'fired') fired.set(alert.rule, e.at);
      if (e.data.event === 'fired' && alert.window_start !== null) firedWindow = alert.window_start;
      if (e.data.event === 'resolved') resolved.add(alert.rule);
    });
    // 100 parts/s in messages of 10 parts every 100 ms.
    let good = 0;
    let scrap = 0;
    let spiking = false;
    let firstSpikeAt = 0;
    const tick = () => {
      const bad = spiking ? 6 : Math.random() < 0.2 ? 1 : 0;
      good += 10 - bad;
      scrap += bad;
      const ts = Date.now();
      if (spiking && firstSpikeAt === 0) firstSpikeAt = ts;
      for (const m of MACHINES) void pub.publishAsync(`${m}/c`, JSON.stringify({ good, scrap, ts }), { qos: 1 });
    };
    const timer = setInterval(tick, 100);
    const window: number[] = [];
    const windowAfterClose: number[] = [];
    const fast: number[] = [];
    try {
      await new Promise((r) => setTimeout(r, 3 * WINDOW_MS));
      for (let run = 0; run < RUNS; run++) {
        fired.clear();
        resolved.clear();
        firstSpikeAt = 0;
        // Start each spike at a random point of a window, as real spikes do.
        await new Promise((r) => setTimeout(r, Math.random() * WINDOW_MS));
        spiking = true;
        await waitFor('both alerts', () => fired.has('window') && fired.has('fast'), 5 * WINDOW_MS + 10_000, 5);
        spiking = false;
        const t0 = firstSpikeAt;
        // The window that fired closes at its end plus the lateness; the agent's ticker looks every 250 ms.
        const closeAt = firedWindow + WINDOW_MS + LATENESS_MS;
        window.push(fired.get('window')! - t0);
        windowAfterClose.push(fired.get('window')! - closeAt);
        fast.push(fired.get('fast')! - t0);
        await waitFor('both resolved', () => resolved.has('window') && resolved.has('fast'), 5 * WINDOW_MS + 10_000, 20);
        say(`  run ${run + 1}/${RUNS}: window ${window.at(-1)} ms (${windowAfterClose.at(-1)} ms after close), fast ${fast.at(-1)} ms`);
      }
    } finally {
      clearInterval(timer);
    }
    const cpus = os.cpus();
    const result = {
      machine: `${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} cores, Node ${process.version}, ${os.type()} ${os.arch()}`,
      runs: RUNS,
      windowMs: WINDOW_MS,
      latenessMs: LATENESS_MS,
      windowRule: { p50: quantile(window, 0.5), p99: quantile(window, 0.99) },
      windowRuleAfterClose: { p50: quantile(windowAfterClose, 0.5), p99: quantile(windowAfterClose, 0.99) },
      fastRule: { p50: quantile(fast, 0.5), p99: quantile(fast, 0.99) },
    };
    if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      process.stdout.write(
        [
          `alert latency: first spike sample published → alert on the SSE stream, ${RUNS} spikes, ${WINDOW_MS / 1000} s windows + ${LATENESS_MS} ms lateness, 100 parts/s`,
          `machine: ${result.machine}`,
          `| rule | p50 | p99 |`,
          `|---|---|---|`,
          `| window rule (threshold), from the first spike sample | ${result.windowRule.p50} ms | ${result.windowRule.p99} ms |`,
          `| window rule, after the window that fired closed (its end + lateness) | ${result.windowRuleAfterClose.p50} ms | ${result.windowRuleAfterClose.p99} ms |`,
          `| fast rule (last 30 parts), from the first spike sample | ${result.fastRule.p50} ms | ${result.fastRule.p99} ms |`,
        ].join('\n') + '\n',
      );
    }
  } finally {
    stream?.close();
    await pub.endAsync();
    agent.child.kill('SIGTERM');
    await agent.exited;
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
