/**
 * The bench broker: Debian's Mosquitto on a free 127.0.0.1 port with a config and log in a temp
 * folder, started fresh for every measured run (so no session or queue carries over) and stopped
 * by its PID.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port.js';
import { findBinary } from '../helpers/require-binary.js';
import { accepts, exited } from '../helpers/mosquitto.js';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface BenchBroker {
  url: string;
  port: number;
  pid: number;
  /** The last lines of the broker's log (errors and warnings only). */
  log(): string;
  /** SIGTERM by PID (SIGKILL after 5 s), then removes the temp folder; safe to call twice. */
  stop(): Promise<void>;
}

/** Path of the mosquitto executable, or undefined when it is not installed. */
export function mosquittoBinary(): string | undefined {
  return findBinary('mosquitto');
}

/** "mosquitto version 2.0.11", from `mosquitto -h`. */
export function mosquittoVersion(bin: string): string {
  const out = spawnSync(bin, ['-h'], { encoding: 'utf8' });
  const line = `${out.stdout ?? ''}${out.stderr ?? ''}`.split('\n').find((l) => /version/i.test(l));
  return line?.trim() ?? 'unknown version';
}

/**
 * Starts `mosquitto -c <tmp>/mosquitto.conf`: loopback listener, anonymous, no persistence.
 * `maxQueuedMessages` is Mosquitto's per-client queue (default 1000), which for QoS 0 bounds the
 * packets waiting for a slow subscriber's socket; beyond it Mosquitto drops QoS 0 messages.
 */
export async function startBroker(bin: string, maxQueuedMessages: number): Promise<BenchBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'yw-bench-mosquitto-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  const logFile = join(dir, 'mosquitto.log');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    `log_dest file ${logFile}`,
    'log_type error',
    'log_type warning',
    `max_queued_messages ${maxQueuedMessages}`,
  ];
  // Started as root, mosquitto drops to the "mosquitto" user, which cannot write our 0700 temp folder.
  if (process.getuid?.() === 0) lines.push('user root');
  writeFileSync(conf, `${lines.join('\n')}\n`);

  const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  });
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  const deadline = Date.now() + START_TIMEOUT_MS;
  let up = false;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await accepts(port)) {
      up = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!up || child.pid === undefined) {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    await exited(child);
    cleanup();
    throw new Error(`mosquitto did not accept connections on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms (exit ${String(child.exitCode)}): ${stderr.trim()}`);
  }
  const pid = child.pid;

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      }, STOP_TIMEOUT_MS);
      await exited(child);
      clearTimeout(timer);
    }
    cleanup();
  };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    pid,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n').trim();
      } catch {
        return '';
      }
    },
    stop: () => (stopping ??= stop()),
  };
}
