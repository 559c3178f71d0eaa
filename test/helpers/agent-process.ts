import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The agent CLI as a child process (`yieldwatch start --config FILE`), output kept for failure messages. */
export interface AgentProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<number | NodeJS.Signals | null>;
}

export function spawnAgent(args: string[], env: NodeJS.ProcessEnv = {}): AgentProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'agent/src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.on('exit', (code, sig) => resolve(sig ?? code)));
  return { child, output: () => out, exited };
}

/**
 * A starter of `yieldwatch start --config <configFile>` for a test that starts the agent again
 * and again (crashes): every process it starts is recorded in `procs`, which the test's cleanup
 * kills.
 */
export function agentStarter(configFile: string, procs: AgentProcess[], env: NodeJS.ProcessEnv = {}): () => AgentProcess {
  return () => {
    const p = spawnAgent(['start', '--config', configFile], env);
    procs.push(p);
    return p;
  };
}

/** True once the agent logged its MQTT source's first connection (needs `logLevel: info`). */
export function mqttConnected(p: AgentProcess): boolean {
  return /Connected to the MQTT broker/.test(p.output());
}
