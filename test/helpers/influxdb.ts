import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { findBinary, requireBinary } from './require-binary.js';

/*
 * A private InfluxDB 1.x per test file, from Debian's `influxdb` package (`influxd`, 1.6.7 on
 * bookworm). startInfluxdb() writes a config into a fresh temp folder (meta/, data/ and wal/ in
 * it), binds HTTP and the RPC (backup) port to free 127.0.0.1 ports, turns off reporting, the
 * _internal monitor database, subscriptions, continuous queries and every other listener, and
 * waits for GET /ping. `{ auth }` turns on auth-enabled and creates that admin user. query() and
 * write() talk HTTP (/query, /write) with the admin user by default; stopProcess()/startProcess()
 * or restart() simulate an outage on the same port with the data kept; output() is the tail of
 * influxd's log for failure messages. Call stop() (or stopAllInfluxdb()) in afterAll; a
 * forgotten influxd is still SIGKILLed when the test process exits or gets SIGTERM.
 *
 *   const hasInfluxd = requireInfluxd(); // skips loudly without influxd, fails on CI (`CI` set)
 *   describe.skipIf(!hasInfluxd)('forwarder', () => {
 *     let influx: InfluxdbServer;
 *     beforeAll(async () => { influx = await startInfluxdb(); await influx.query('', 'CREATE DATABASE kpi'); });
 *     afterAll(() => influx?.stop());
 *     it('...', async () => { await influx.stopProcess(); ...; await influx.startProcess(); ... });
 *   });
 */

export interface InfluxdbAuth {
  username: string;
  password: string;
}

export interface InfluxdbOptions {
  /** Turns on `auth-enabled` and creates this admin user (WITH ALL PRIVILEGES) after the first start. */
  auth?: InfluxdbAuth;
  /** How long to wait for GET /ping to answer 204 (default 20 s). */
  startTimeoutMs?: number;
  /** How long to wait after SIGTERM before SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
}

export type InfluxValue = string | number | boolean | null;
/** One row of a query result: the series' tags plus the columns (`time` first). */
export type InfluxRow = Record<string, InfluxValue>;

export interface InfluxdbQueryOptions {
  /** Timestamps as epoch numbers in this unit instead of RFC 3339 strings. */
  epoch?: 'ns' | 'u' | 'ms' | 's' | 'm' | 'h';
  /** Credentials to send; default the server's admin user (if any); `null` sends none. */
  auth?: InfluxdbAuth | null;
  /** Default GET for SELECT and SHOW (without INTO), POST for everything else. */
  method?: 'GET' | 'POST';
}

export interface InfluxdbWriteOptions {
  precision?: 'ns' | 'u' | 'ms' | 's' | 'm' | 'h';
  /** Retention policy; default the database's default one. */
  rp?: string;
  /** Credentials to send; default the server's admin user (if any); `null` sends none. */
  auth?: InfluxdbAuth | null;
}

/** An InfluxDB started by {@link startInfluxdb}. */
export interface InfluxdbServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The HTTP port (stays the same across restarts). */
  readonly port: number;
  /** The RPC (backup/restore) port, also 127.0.0.1 only. */
  readonly rpcPort: number;
  /** The temp folder holding `influxdb.conf`, `meta/`, `data/` and `wal/`; removed by stop(). */
  readonly dataDir: string;
  /** The admin user, when started with `auth`. */
  readonly auth: InfluxdbAuth | undefined;
  /** PID of the running influxd, or undefined while it is stopped. */
  readonly pid: number | undefined;
  /** Runs InfluxQL against `db` ('' for none) and returns the rows of all series; throws on any error. */
  query(db: string, influxql: string, opts?: InfluxdbQueryOptions): Promise<InfluxRow[]>;
  /** POST /write with line protocol; throws unless InfluxDB answers 204. */
  write(db: string, lines: string | readonly string[], opts?: InfluxdbWriteOptions): Promise<void>;
  /** Stops influxd (SIGTERM by PID, SIGKILL after the timeout) and keeps the folder and ports, for an outage. */
  stopProcess(): Promise<void>;
  /** Starts influxd again on the same ports and folder and waits until it answers /ping. */
  startProcess(): Promise<void>;
  /** stopProcess() then startProcess(). */
  restart(): Promise<void>;
  /** Stops influxd and removes the temp folder; safe to call twice. */
  stop(): Promise<void>;
  /** The last ~20 kB of influxd's stdout and stderr (all runs), for failure messages. */
  output(): string;
}

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_LIMIT = 20_000;
const PING_EVERY_MS = 50;

/**
 * True when `influxd` is installed. When it is missing: on CI (`CI` set) throws, because CI must
 * install Debian's `influxdb` package; elsewhere warns loudly and returns false, so the tests
 * can `describe.skipIf(!hasInfluxd)`. Like {@link requireBinary}, with the right package name.
 */
export function requireInfluxd(): boolean {
  let found: boolean;
  try {
    found = requireBinary('influxd');
  } catch (err) {
    throw new Error('The tests need "influxd", which is not installed; CI must install Debian\'s "influxdb" package (apt-get install influxdb).', { cause: err });
  }
  if (!found) console.warn('!!! influxd comes with Debian\'s "influxdb" package (apt-get install influxdb). !!!\n');
  return found;
}

/** influxd processes this module started in this process and has not seen exit yet. */
const live = new Set<ChildProcess>();
/** Temp folders of servers not stopped for good yet. */
const folders = new Set<string>();
let exitHookInstalled = false;

/** SIGKILLs every influxd still running and removes its folder, synchronously (exit and SIGTERM paths). */
function killAllNow(): void {
  for (const child of live) if (child.pid !== undefined && isRunning(child)) kill(child.pid, 'SIGKILL');
  live.clear();
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  folders.clear();
}

/**
 * Last resort for a test file that did not call stop(): kill our influxd processes when this
 * process exits, and when it is sent SIGTERM (how vitest ends its fork workers, which skips
 * 'exit' handlers). After cleaning up, SIGTERM is raised again for its default effect unless
 * someone else listens for it.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killAllNow);
  process.once('SIGTERM', () => {
    killAllNow();
    if (process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
  });
}

const servers = new Set<InfluxdbServer>();

/** Stops every InfluxDB this module started in this process and has not stopped yet (for afterAll). */
export async function stopAllInfluxdb(): Promise<void> {
  await Promise.all([...servers].map((s) => s.stop()));
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resolves once `child`'s output pipes are drained ('close'), or after `capMs` at most. */
function closed(child: ChildProcess, capMs = 1_000): Promise<void> {
  const drained = (s: ChildProcess['stdout']): boolean => s === null || s.readableEnded || s.destroyed;
  if (!isRunning(child) && drained(child.stdout) && drained(child.stderr)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, capMs);
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** An InfluxQL identifier in double quotes. */
function ident(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** An InfluxQL string literal in single quotes. */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function basicAuth(auth: InfluxdbAuth): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

function configToml(dir: string, httpPort: number, rpcPort: number, authEnabled: boolean): string {
  const s = (v: string): string => JSON.stringify(v); // a JSON string is a valid TOML basic string
  return `# Written by test/helpers/influxdb.ts for one test run: files stay in this folder, ports on 127.0.0.1.
# Upstream 1.x spells it reporting-disabled; Debian's build renamed it reporting-enabled (default false).
# influxd ignores keys it does not know, so both are set.
reporting-disabled = true
reporting-enabled = false
# The RPC service (backup/restore), :8088 on all interfaces by default upstream.
bind-address = ${s(`127.0.0.1:${rpcPort}`)}

[meta]
  dir = ${s(join(dir, 'meta'))}
  retention-autocreate = true

[data]
  dir = ${s(join(dir, 'data'))}
  wal-dir = ${s(join(dir, 'wal'))}
  wal-fsync-delay = "0s"
  query-log-enabled = true

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false

[http]
  enabled = true
  bind-address = ${s(`127.0.0.1:${httpPort}`)}
  auth-enabled = ${String(authEnabled)}
  log-enabled = true
  pprof-enabled = false
  https-enabled = false
  unix-socket-enabled = false

# Only in 1.5/1.6 builds (the Flux precursor), off by default.
[ifql]
  enabled = false

[logging]
  format = "logfmt"
  level = "info"
  suppress-logo = true

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false
`;
}

/** Two distinct free 127.0.0.1 ports. */
async function twoPorts(): Promise<[number, number]> {
  const a = await freePort();
  let b = await freePort();
  while (b === a) b = await freePort();
  return [a, b];
}

/**
 * Starts `influxd run -config <tmp>/influxdb.conf` on free 127.0.0.1 ports and waits until
 * GET /ping answers 204; with `auth`, also creates that admin user. Rejects with influxd's
 * output when it exits early or does not answer in time.
 */
export async function startInfluxdb(opts: InfluxdbOptions = {}): Promise<InfluxdbServer> {
  const bin = findBinary('influxd');
  if (bin === undefined) throw new Error('influxd is not installed (Debian package "influxdb": apt-get install influxdb).');
  const startTimeoutMs = opts.startTimeoutMs ?? START_TIMEOUT_MS;
  const stopTimeoutMs = opts.stopTimeoutMs ?? STOP_TIMEOUT_MS;
  const auth = opts.auth === undefined ? undefined : { ...opts.auth };
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'yw-influxdb-'));
  folders.add(dir);
  for (const sub of ['meta', 'data', 'wal']) mkdirSync(join(dir, sub));
  const conf = join(dir, 'influxdb.conf');
  let [httpPort, rpcPort] = await twoPorts();
  let url = `http://127.0.0.1:${httpPort}`;
  const writeConfig = (): void => writeFileSync(conf, configToml(dir, httpPort, rpcPort, auth !== undefined));
  writeConfig();

  // influxd applies INFLUXDB_* environment variables over the config file; don't inherit any.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INFLUXDB_')));

  let out = '';
  /** Whether the current run's output says a port was taken (only this run's, not earlier ones). */
  let portTaken = false;
  const record = (chunk: Buffer | string): void => {
    const text = chunk.toString();
    if (/address already in use/i.test(text)) portTaken = true;
    out += text;
    if (out.length > OUTPUT_LIMIT * 2) out = out.slice(-OUTPUT_LIMIT);
  };
  const output = (): string => out.slice(-OUTPUT_LIMIT);

  let child: ChildProcess | undefined;
  let removed = false;

  const ping = async (): Promise<number | undefined> => {
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return undefined;
    }
  };

  const terminate = async (): Promise<void> => {
    const c = child;
    if (c === undefined) return;
    if (c.pid !== undefined && isRunning(c)) {
      kill(c.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (c.pid !== undefined && isRunning(c)) {
          record(`\n[influxdb helper] influxd did not exit ${stopTimeoutMs} ms after SIGTERM; SIGKILL\n`);
          kill(c.pid, 'SIGKILL');
        }
      }, stopTimeoutMs);
      await exited(c);
      clearTimeout(timer);
    }
    await closed(c);
    live.delete(c);
    child = undefined;
  };

  /** One attempt to start influxd; rejects (after killing it) when it does not become ready. */
  const launch = async (): Promise<void> => {
    if (removed) throw new Error('This InfluxDB was stopped for good (stop()); start a new one.');
    record(`\n[influxdb helper] starting influxd on ${url} (rpc 127.0.0.1:${rpcPort})\n`);
    portTaken = false;
    if (child !== undefined) live.delete(child);
    const c = spawn(bin, ['run', '-config', conf], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    live.add(c);
    let spawnError: Error | undefined;
    c.once('error', (err) => {
      spawnError = err;
    });
    c.stdout?.on('data', record);
    c.stderr?.on('data', record);
    // A forgotten server must not keep the test process alive; the exit hook then kills it.
    c.unref();
    for (const pipe of [c.stdout, c.stderr]) (pipe as unknown as { unref?: () => void } | null)?.unref?.();
    const deadline = Date.now() + startTimeoutMs;
    let status: number | undefined;
    while (Date.now() < deadline && isRunning(c) && spawnError === undefined) {
      status = await ping();
      if (status === 204) return;
      await new Promise((r) => setTimeout(r, PING_EVERY_MS));
    }
    const why =
      spawnError !== undefined
        ? `could not be started (${spawnError.message})`
        : !isRunning(c)
          ? `exited early (code ${String(c.exitCode)}, signal ${String(c.signalCode)})`
          : `did not answer GET /ping with 204 within ${startTimeoutMs} ms (last status ${String(status)})`;
    await terminate();
    throw new Error(`influxd on ${url} ${why}. Its output:\n${output()}`);
  };

  const createAdmin = async (a: InfluxdbAuth): Promise<void> => {
    // InfluxDB 1.x accepts this one statement without credentials while no admin user exists.
    await runQuery('', `CREATE USER ${ident(a.username)} WITH PASSWORD ${literal(a.password)} WITH ALL PRIVILEGES`, { auth: null, method: 'POST' });
  };

  const runQuery = async (db: string, influxql: string, q: InfluxdbQueryOptions = {}): Promise<InfluxRow[]> => {
    const readOnly = /^\s*(SELECT|SHOW)\b/i.test(influxql) && !/\bINTO\b/i.test(influxql);
    const method = q.method ?? (readOnly ? 'GET' : 'POST');
    const params = new URLSearchParams({ q: influxql });
    if (db !== '') params.set('db', db);
    if (q.epoch !== undefined) params.set('epoch', q.epoch);
    const creds = q.auth === undefined ? auth : (q.auth ?? undefined);
    const headers: Record<string, string> = {};
    if (creds !== undefined) headers.authorization = basicAuth(creds);
    let res: Response;
    if (method === 'GET') {
      res = await fetch(`${url}/query?${params.toString()}`, { headers });
    } else {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      res = await fetch(`${url}/query`, { method: 'POST', headers, body: params.toString() });
    }
    const text = await res.text();
    if (!res.ok) throw new Error(`InfluxDB ${method} /query ${JSON.stringify(influxql)} answered ${res.status}: ${text.trim()}`);
    return parseQueryResponse(influxql, text);
  };

  const write = async (db: string, lines: string | readonly string[], w: InfluxdbWriteOptions = {}): Promise<void> => {
    const params = new URLSearchParams({ db });
    if (w.precision !== undefined) params.set('precision', w.precision);
    if (w.rp !== undefined) params.set('rp', w.rp);
    const creds = w.auth === undefined ? auth : (w.auth ?? undefined);
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (creds !== undefined) headers.authorization = basicAuth(creds);
    const body = typeof lines === 'string' ? lines : lines.join('\n');
    const res = await fetch(`${url}/write?${params.toString()}`, { method: 'POST', headers, body });
    const text = await res.text();
    if (res.status !== 204) throw new Error(`InfluxDB POST /write?db=${db} answered ${res.status}: ${text.trim()}`);
  };

  /**
   * launch() on the same ports, retried (5 tries, a few seconds) while one of them is taken: something
   * else (another test file's freePort() probe) may hold it for a moment during the outage.
   */
  const relaunch = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await launch();
        return;
      } catch (err) {
        if (attempt >= 5 || !portTaken) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };

  // Serialise stop/start/restart/stop calls so that a test cannot interleave them.
  let chain: Promise<void> = Promise.resolve();
  const serial = (op: () => Promise<void>): Promise<void> => {
    const next = chain.then(op);
    chain = next.catch(() => undefined);
    return next;
  };

  // First start: if another process took one of the ports between freePort() and influxd's bind, retry with new ones.
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await launch();
        break;
      } catch (err) {
        if (attempt >= 3 || !portTaken) throw err;
        [httpPort, rpcPort] = await twoPorts();
        url = `http://127.0.0.1:${httpPort}`;
        writeConfig();
      }
    }
    if (auth !== undefined) await createAdmin(auth);
  } catch (err) {
    await terminate();
    removed = true;
    folders.delete(dir);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  const server: InfluxdbServer = {
    url,
    port: httpPort,
    rpcPort,
    dataDir: dir,
    auth,
    get pid() {
      return child !== undefined && isRunning(child) ? child.pid : undefined;
    },
    query: runQuery,
    write,
    stopProcess: () => serial(terminate),
    startProcess: () =>
      serial(async () => {
        if (child !== undefined && isRunning(child)) return;
        await relaunch();
      }),
    restart: () =>
      serial(async () => {
        await terminate();
        await relaunch();
      }),
    stop: () =>
      (stopped ??= serial(async () => {
        try {
          await terminate();
        } finally {
          removed = true;
          servers.delete(server);
          folders.delete(dir);
          rmSync(dir, { recursive: true, force: true });
        }
      })),
    output,
  };
  servers.add(server);
  return server;
}

interface QueryJson {
  error?: string;
  results?: {
    statement_id?: number;
    error?: string;
    series?: { name?: string; tags?: Record<string, string>; columns: string[]; values?: InfluxValue[][] }[];
  }[];
}

/** The rows of every series of every statement; throws when InfluxDB reports an error. */
export function parseQueryResponse(influxql: string, text: string): InfluxRow[] {
  let json: QueryJson;
  try {
    json = JSON.parse(text) as QueryJson;
  } catch {
    throw new Error(`InfluxDB answered ${JSON.stringify(influxql)} with something that is not JSON: ${text.slice(0, 500)}`);
  }
  if (json.error !== undefined) throw new Error(`InfluxDB query ${JSON.stringify(influxql)} failed: ${json.error}`);
  const rows: InfluxRow[] = [];
  for (const result of json.results ?? []) {
    if (result.error !== undefined) throw new Error(`InfluxDB query ${JSON.stringify(influxql)} failed: ${result.error}`);
    for (const series of result.series ?? []) {
      for (const values of series.values ?? []) {
        const row: InfluxRow = { ...series.tags };
        series.columns.forEach((col, i) => {
          row[col] = values[i] ?? null;
        });
        rows.push(row);
      }
    }
  }
  return rows;
}
