import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { findBinary } from './require-binary.js';

/** A Mosquitto broker running as a child process for one test file. */
export interface Mosquitto {
  url: string;
  port: number;
  /** Folder of the config, the persistence file and the log. */
  dir: string;
  /** Kills the broker by PID and removes its folder; safe to call twice. */
  stop(): Promise<void>;
  /** Stops the broker (SIGTERM, so it saves its persistence file) and starts it again on the same port. */
  restart(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** True once something accepts TCP connections on 127.0.0.1:`port`. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts Debian's `mosquitto -c <tmpdir>/mosquitto.conf` on a free 127.0.0.1 port, with
 * `persistence true` in a temp folder, and waits until it accepts connections.
 */
export async function startMosquitto(): Promise<Mosquitto> {
  const bin = findBinary('mosquitto');
  if (bin === undefined) throw new Error('mosquitto is not installed (apt-get install mosquitto).');
  const dir = mkdtempSync(join(tmpdir(), 'yw-mosquitto-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence true',
    `persistence_location ${dir}/`,
    `log_dest file ${join(dir, 'mosquitto.log')}`,
    'log_type error',
    'log_type warning',
    'log_type notice',
    // The default of 1000 queued messages per offline client is below what some tests queue.
    'max_queued_messages 100000',
  ];
  // Started as root, mosquitto drops to the "mosquitto" user, which cannot write our 0700 temp folder.
  if (process.getuid?.() === 0) lines.push('user root');
  writeFileSync(conf, `${lines.join('\n')}\n`);

  let child: ChildProcess | undefined;
  let stderr = '';
  const launch = async (): Promise<void> => {
    stderr = '';
    const c = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4000) stderr += d.toString();
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (c.exitCode !== null || c.signalCode !== null) break;
      if (await accepts(port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    c.kill('SIGKILL');
    throw new Error(`mosquitto did not accept connections on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms (exit ${String(c.exitCode)}): ${stderr.trim()}`);
  };

  const terminate = async (): Promise<void> => {
    const c = child;
    if (c === undefined || c.pid === undefined) return;
    if (c.exitCode === null && c.signalCode === null) {
      process.kill(c.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
      }, STOP_TIMEOUT_MS);
      await exited(c);
      clearTimeout(timer);
    }
    child = undefined;
  };

  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    stop: () =>
      (stopped ??= terminate().finally(() => {
        rmSync(dir, { recursive: true, force: true });
      })),
    restart: async () => {
      await terminate();
      await launch();
    },
  };
}
