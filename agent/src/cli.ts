#!/usr/bin/env node
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { Agent } from './agent.js';
import { aggregateToJson } from './core/aggregate.js';
import { YieldwatchError } from './core/errors.js';
import { packageRoot } from './core/package-root.js';
import { loadConfigIsolated } from './config/load-isolated.js';
import { configWarnings } from './config/warnings.js';
import { runDemo } from './demo.js';
import { demoEnv } from './wiring/demo-data-dir.js';
import { ROLES, type Role } from './api/auth/roles.js';
import { UserFile } from './api/auth/users.js';
import { createLogger } from './observe/logger.js';
import { parseRecordedLine, replay, type RecordedMessage } from './replay.js';
import { SHUTDOWN_DEADLINE_MS, stopWithin } from './wiring/shutdown.js';

const USAGE = `Usage: yieldwatch <command> [options]

Commands:
  start --config FILE                 run the agent
  demo [--config FILE] [--data-dir DIR]
                                      simulated machines, embedded broker, agent and API (default config: config/demo.yaml);
                                      its store, reports and PKI go to DIR, else agent.dataDir of --config FILE, else
                                      $XDG_STATE_HOME/yieldwatch/demo (~/.local/state/yieldwatch/demo)
  dashboard --config FILE             the central dashboard over the InfluxDB the agents write to (config key central)
  replay --config FILE --input FILE [--output FILE]
                                      run recorded MQTT messages (JSON lines) through the KPI pipeline
  report --config FILE --period PERIOD [--scope SCOPE] [--format pdf|xlsx|csv|json] [--lang en|nl] [--out FILE]
                                      a material-efficiency report of the stored data (agent/src/reports/README.md);
                                      PERIOD: 2026-11, 2026-W45, 2026-Q4, 2026, 2026-11-03, "2026-11-03 early",
                                      2026-11-01..2026-11-15, yesterday, last-week, last-month, …;
                                      SCOPE: all (default), site:SITE, area:SITE/AREA, line:SITE/LINE or
                                      line:SITE/AREA/LINE (as the machine paths have it; or the line's name alone),
                                      machine:PATH, material:NAME, product:NAME, joined by commas
  backfill --config FILE --sink ID --from TIME [--to TIME] [--dry-run] [--give-up-after DURATION]
                                      send the stored windows of [from, to) again to one sink (an InfluxDB added
                                      later gets their history); TIME: 2026-03-01 (midnight UTC, not the site's),
                                      an ISO 8601 instant with Z or an offset (2026-03-01T00:00+01:00), or epoch ms;
                                      --to defaults to now. Resumes an interrupted run
  simulate --config FILE [--broker URL] [--username NAME] [--password-file FILE]
                                      only the simulated machines of the config's demo: section, publishing
                                      to a broker of your own (default: the demo.broker address)
  backup --config FILE --out FILE     one file with the store (SQLite online backup, while the agent runs), the users
                                      file, the OPC UA PKI folders and the config, with a manifest of SHA-256 sums;
                                      it holds private keys and password hashes: keep it secret
  restore --in FILE --data-dir DIR [--pki-dir DIR] [--config-out FILE] [--force]
                                      check a backup (SHA-256 of every member, schema version, integrity_check) and
                                      put it in place: store and users in DIR, PKI in --pki-dir (default DIR/pki), the
                                      config pointed at them in --config-out; refuses targets that are not empty
                                      unless --force (stop the agent first)
  check-config FILE                   validate a config file
  opcua trust ENDPOINT (--config FILE [--source ID] | --pki DIR) [--fingerprint SHA256 | --yes]
                                      show an OPC UA server's certificate and trust it once confirmed
  user add NAME --role viewer|operator|admin --config FILE [--password-stdin]
  user passwd NAME --config FILE [--password-stdin]
  user remove NAME --config FILE
  user list --config FILE             the local users who log in to the dashboard (api.usersFile)
  print-schema                        print the JSON Schema of the config file
`;


/** A new password: from standard input (`--password-stdin`, for scripts), or typed twice at a terminal without echo. */
async function newPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (!process.stdin.isTTY) usageError('without a terminal, give the password on standard input with --password-stdin');
  const first = await askHidden('New password: ');
  const again = await askHidden('Again: ');
  if (first !== again) {
    process.stderr.write('The passwords differ; nothing changed.\n');
    process.exit(1);
  }
  return first;
}

/** Reads a line from the terminal without showing it. */
function askHidden(question: string): Promise<string> {
  process.stdout.write(question);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((done) => {
    let typed = '';
    const onData = (b: Buffer) => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\u0003') process.exit(130);
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stdout.write('\n');
          done(typed);
          return;
        }
        typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Reads a file line by line without holding it in memory (replay inputs can be large). */
function* readLines(file: string): Generator<string> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new YieldwatchError('YW_ERR_REPLAY_INPUT', `Cannot read the replay input ${file}: ${(err as Error).message}`, { cause: err });
  }
  const buf = Buffer.alloc(1 << 20);
  let rest = '';
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const text = rest + buf.toString('utf8', 0, n);
      const lines = text.split('\n');
      rest = lines.pop()!;
      yield* lines;
    }
    if (rest.length > 0) yield rest;
  } finally {
    closeSync(fd);
  }
}

function* recorded(file: string): Generator<RecordedMessage> {
  let n = 0;
  for (const line of readLines(file)) {
    n++;
    if (line.trim() === '') continue;
    yield parseRecordedLine(line, n);
  }
}

function usageError(msg: string): never {
  process.stderr.write(`${msg}\n\n${USAGE}`);
  process.exit(2);
}

/** Ctrl-C or SIGTERM: stop cleanly (checkpoint first); a second one forces the exit. */
function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) {
      process.stderr.write(`${sig} again: exiting without waiting for the shutdown.\n`);
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(`\n${sig} received: saving checkpoint and stopping...\n`);
    stopWithin(stop, SHUTDOWN_DEADLINE_MS).then(
      (how) => {
        if (how === 'late') process.stderr.write(`The shutdown took longer than ${SHUTDOWN_DEADLINE_MS / 1000} s: exiting (what was committed is kept).\n`);
        process.exit(how === 'late' ? 1 : 0);
      },
      (err) => {
        process.stderr.write(`Shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

/**
 * The schema code (zod, yaml) is loaded only by the commands that validate in this process;
 * `start` and `demo` validate in a worker (config/load-isolated.ts) so it never stays resident.
 */
async function loadConfig(file: string) {
  return (await import('./config/load.js')).loadConfig(file);
}

/** The PKI folder `opcua trust` works on: `--pki`, or that of the config's OPC UA source for the endpoint (or `--source`). */
async function opcuaPkiDir(endpointUrl: string, values: { config?: string | undefined; source?: string | undefined; pki?: string | undefined }): Promise<string> {
  if (values.pki !== undefined) return resolve(values.pki);
  if (values.config === undefined) usageError('opcua trust needs --config FILE (to find the source\'s pkiDir) or --pki DIR');
  const { config, baseDir } = await loadConfig(values.config);
  const sources = config.sources.filter((s) => s.type === 'opcua');
  const source = sources.find((s) => (values.source !== undefined ? s.id === values.source : s.endpointUrl === endpointUrl));
  if (source === undefined) {
    const known = sources.map((s) => `${s.id} (${s.endpointUrl})`).join(', ') || 'none';
    usageError(`${values.config} has no OPC UA source ${values.source !== undefined ? `with id "${values.source}"` : `for ${endpointUrl}`}; its OPC UA sources: ${known}. Name one with --source ID, or give --pki DIR.`);
  }
  return isAbsolute(source.pkiDir) ? source.pkiDir : resolve(baseDir, source.pkiDir);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        input: { type: 'string', short: 'i' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
        source: { type: 'string' },
        pki: { type: 'string' },
        fingerprint: { type: 'string' },
        yes: { type: 'boolean', short: 'y' },
        role: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        period: { type: 'string' },
        scope: { type: 'string' },
        format: { type: 'string' },
        lang: { type: 'string' },
        out: { type: 'string' },
        sink: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'dry-run': { type: 'boolean' },
        'give-up-after': { type: 'string' },
        broker: { type: 'string' },
        username: { type: 'string' },
        'password-file': { type: 'string' },
        'data-dir': { type: 'string' },
        in: { type: 'string' },
        'pki-dir': { type: 'string' },
        'config-out': { type: 'string' },
        force: { type: 'boolean' },
      },
    });
  } catch (err) {
    usageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || command === undefined || command === 'help' || command === '--help') {
    process.stdout.write(USAGE);
    return;
  }
  switch (command) {
    case 'start': {
      if (!values.config) usageError('start needs --config FILE');
      const loaded = await loadConfigIsolated(values.config);
      const logger = createLogger({ level: loaded.config.agent.logLevel });
      const agent = new Agent({ ...loaded, logger });
      onSignals(() => agent.stop());
      const url = await agent.start();
      if (url) logger.info({ url }, 'HTTP API listening.');
      return;
    }
    case 'dashboard': {
      if (!values.config) usageError('dashboard needs --config FILE (with central.influxdb: the InfluxDB the agents write to)');
      const loaded = await loadConfigIsolated(values.config);
      const logger = createLogger({ level: loaded.config.agent.logLevel });
      const { CentralDashboard } = await import('./central.js');
      const central = new CentralDashboard({ ...loaded, logger });
      onSignals(() => central.stop());
      const url = await central.start();
      logger.info({ url, influxdb: loaded.config.central?.influxdb.url }, 'Central dashboard listening.');
      process.stdout.write(`yieldwatch central dashboard: ${url}/ (reading ${loaded.config.central?.influxdb.url ?? '?'}, database ${loaded.config.central?.influxdb.database ?? '?'})\n`);
      return;
    }
    case 'demo': {
      const env = demoEnv({ dataDir: values['data-dir'], config: values.config, cwd: process.cwd() }, process.env);
      const loaded = await loadConfigIsolated(values.config ?? join(packageRoot(), 'config', 'demo.yaml'), env);
      const logger = createLogger({ level: loaded.config.agent.logLevel });
      // Signals are handled from the start: Ctrl-C while the demo is still starting also stops it cleanly.
      let demo: Awaited<ReturnType<typeof runDemo>> | undefined;
      let starting: Promise<unknown> = Promise.resolve();
      onSignals(async () => {
        await starting.catch(() => undefined);
        await demo?.stop();
      });
      starting = runDemo(loaded, logger).then((d) => (demo = d));
      await starting;
      if (!demo) return;
      const url = demo.apiUrl ?? '(API disabled)';
      process.stdout.write(
        `\nyieldwatch demo is running: ${loaded.config.machines.length} simulated machines (MQTT broker ${demo.brokerUrl}${demo.opcuaUrl ? `, OPC UA server ${demo.opcuaUrl}` : ''}).\n` +
          `  Open the dashboard: ${url}/   (first windows after ~${Math.round((loaded.config.kpi.windowSize + loaded.config.kpi.allowedLateness) / 1000)} s; the API: ${url}/api/v1/machines)\n` +
          (demo.login !== undefined ? `  Log in as "${demo.login.name}" with the one-time password ${demo.login.password} (change it: yieldwatch user passwd ${demo.login.name})\n` : '') +
          (loaded.config.reports.schedules.length > 0
            ? `  Scheduled reports (${loaded.config.reports.schedules.map((s) => s.id).join(', ')}) go to ${demo.agent.reports.folder}; those that came due while the demo was stopped (up to a week back) are written now.\n`
            : '') +
          `  Data (store, reports, PKI): ${loaded.dataDir}   (elsewhere: yieldwatch demo --data-dir DIR)\n` +
          `  Metrics: ${url}/metrics   Press Ctrl-C to stop.\n\n`,
      );
      return;
    }
    case 'simulate': {
      if (!values.config) usageError('simulate needs --config FILE (its demo: section lists the simulated machines)');
      const demo = (await import('./config/load.js')).loadDemoSection(values.config);
      const logger = createLogger({ level: 'info' });
      const { runSimulate } = await import('./wiring/simulate.js');
      const { url, simulator } = runSimulate(demo, { broker: values.broker, username: values.username, passwordFile: values['password-file'] }, logger);
      onSignals(() => simulator.stop());
      process.stdout.write(`yieldwatch simulate: ${demo.machines.length} simulated machines publishing to ${url} every ${demo.publishInterval / 1000} s on ${demo.topic}\n`);
      return;
    }
    case 'replay': {
      if (!values.config || !values.input) usageError('replay needs --config FILE and --input FILE');
      const { config } = await loadConfig(values.config);
      const res = replay(config, recorded(values.input));
      const out = res.aggregates.map((a) => JSON.stringify(aggregateToJson(a))).join('\n') + (res.aggregates.length ? '\n' : '');
      if (values.output) writeFileSync(values.output, out);
      else process.stdout.write(out);
      const { rejected, byMachine, ...counts } = res.stats;
      const byMachineJson = Object.fromEntries([...byMachine].filter(([, r]) => r.size > 0).map(([m, r]) => [m, Object.fromEntries(r)]));
      process.stderr.write(
        `${JSON.stringify({ messages: res.messages, windows: res.aggregates.length, ...counts, rejected: Object.fromEntries(rejected), by_machine: byMachineJson })}\n`,
      );
      return;
    }
    case 'report': {
      if (!values.config) usageError('report needs --config FILE');
      const loaded = await loadConfig(values.config);
      const { runReportCommand } = await import('./wiring/report.js');
      process.exitCode = await runReportCommand(
        loaded,
        { period: values.period, scope: values.scope, format: values.format, lang: values.lang, out: values.out },
        { stdout: (b) => process.stdout.write(b), stderr: (t) => process.stderr.write(t), tty: process.stderr.isTTY === true, stdoutTty: process.stdout.isTTY === true },
      );
      return;
    }
    case 'backfill': {
      if (!values.config) usageError('backfill needs --config FILE');
      const { backfillSink, backfillTimes, runBackfill } = await import('./wiring/backfill.js');
      const times = backfillTimes({ from: values.from, to: values.to, giveUpAfter: values['give-up-after'] }, Date.now());
      if (typeof times === 'string') usageError(times);
      const loaded = await loadConfigIsolated(values.config);
      const sink = backfillSink(loaded.config, values.config, values.sink);
      if (typeof sink === 'string') usageError(sink);
      // Ctrl-C or SIGTERM: stop after the write in flight, keep what is queued; a second one exits at once.
      const abort = new AbortController();
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.on(sig, () => {
          if (abort.signal.aborted) {
            process.stderr.write(`\n${sig} again: exiting without waiting; what is queued stays queued.\n`);
            process.exit(130);
          }
          abort.abort(sig);
        });
      }
      const code = await runBackfill(loaded, { sink, ...times, dryRun: values['dry-run'] === true }, {
        out: (line) => process.stdout.write(`${line}\n`),
        err: process.stderr,
        tty: process.stderr.isTTY === true,
        signal: abort.signal,
      });
      return process.exit(code);
    }
    case 'backup': {
      if (!values.config || !values.out) usageError('backup needs --config FILE (the agent\'s) and --out FILE');
      const loaded = await loadConfig(values.config);
      const { describeBackup, runBackup } = await import('./wiring/backup.js');
      const manifest = await runBackup({ ...loaded, configFile: values.config, out: values.out });
      process.stdout.write(describeBackup(values.out, manifest));
      return;
    }
    case 'restore': {
      if (!values.in || !values['data-dir']) usageError('restore needs --in FILE and --data-dir DIR');
      const { describeRestore, runRestore } = await import('./wiring/restore.js');
      const restored = await runRestore({ in: values.in, dataDir: values['data-dir'], pkiDir: values['pki-dir'], configOut: values['config-out'], force: values.force === true });
      process.stdout.write(describeRestore(values.in, restored));
      return;
    }
    case 'check-config': {
      const file = positionals[0] ?? values.config;
      if (!file) usageError('check-config needs FILE');
      const { config, dataDir } = await loadConfig(file);
      // As `start` would refuse it, with the users file it would read.
      const { AGENT_API_EXPOSES, openApiError } = await import('./wiring/http-api.js');
      const open = openApiError(config, new UserFile(resolve(dataDir, config.api.usersFile)), AGENT_API_EXPOSES);
      if (open !== undefined) throw new YieldwatchError(open.code, `${file} would not start: ${open.message}`);
      process.stdout.write(`${file} is valid: ${config.machines.length} machines, ${config.sources.length} sources, data folder ${dataDir}\n`);
      for (const w of configWarnings(config)) process.stdout.write(`warning: ${w}\n`);
      return;
    }
    case 'opcua': {
      if (positionals[0] !== 'trust' || positionals[1] === undefined) usageError('opcua needs: trust ENDPOINT');
      const endpointUrl = positionals[1];
      const pkiDir = await opcuaPkiDir(endpointUrl, values);
      // Loaded here: node-opcua is only paid for by the command that needs it.
      const { runTrust } = await import('./sources/opcua/trust.js');
      const rl = process.stdin.isTTY ? createInterface({ input: process.stdin, output: process.stdout }) : undefined;
      try {
        process.exitCode = await runTrust(
          { endpointUrl, pkiDir, fingerprint: values.fingerprint, yes: values.yes },
          { out: (t) => process.stdout.write(t), ask: rl ? (q) => rl.question(q) : undefined },
        );
      } finally {
        rl?.close();
      }
      return;
    }
    case 'user': {
      const [action, name] = positionals;
      if (!values.config) usageError('user needs --config FILE (its agent.dataDir and api.usersFile say where the users are)');
      const { config, dataDir } = await loadConfig(values.config);
      const users = new UserFile(resolve(dataDir, config.api.usersFile));
      if (action === 'list') {
        for (const u of users.list()) process.stdout.write(`${u.name}\t${u.role}\t${u.created_at}\n`);
        return;
      }
      if (name === undefined || !['add', 'passwd', 'remove'].includes(action ?? '')) usageError('user needs: add NAME --role ROLE, passwd NAME, remove NAME or list');
      try {
        if (action === 'remove') users.remove(name);
        else {
          const role = values.role;
          if (action === 'add' && !ROLES.includes(role as Role)) usageError(`user add needs --role ${ROLES.join('|')}`);
          const password = await newPassword(values['password-stdin'] === true);
          if (action === 'add') await users.add(name, role as Role, password, new Date());
          else await users.passwd(name, password);
        }
      } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exit(1);
      }
      // A running agent reads the file again at the next login; sessions already open run on until they end.
      process.stdout.write(`${action === 'add' ? 'added' : action === 'passwd' ? 'password changed for' : 'removed'} ${name} in ${users.path}\n`);
      return;
    }
    case 'print-schema':
      process.stdout.write((await import('./config/generate-docs.js')).renderJsonSchema());
      return;
    default:
      usageError(`Unknown command "${command}".`);
  }
}

// `yieldwatch print-schema | head`: a reader that stops early is not an error, so the command ends
// quietly (exit 0) instead of dying of an unhandled EPIPE with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof YieldwatchError) {
    process.stderr.write(`${err.message}\n[${err.code}]\n`);
  } else {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
