import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../../agent/src/core/package-root.js';

/** A service of `docker-compose config` output: the keys the deploy tests read. */
export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  secrets?: (string | { source: string })[];
  volumes?: (string | { type: string; source?: string; target: string; read_only?: boolean })[];
  ports?: (string | { target: number; published?: number | string; host_ip?: string })[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  profiles?: string[];
  read_only?: boolean;
  tmpfs?: string[] | string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file: string }>;
}

export const COMPOSE_FILE = join(packageRoot(), 'docker-compose.yml');

/**
 * `docker-compose config` (Debian's docker-compose): validates and interpolates the file without
 * a Docker engine; `profiles` are passed as `--profile`. Throws with its stderr when invalid.
 */
export function composeConfig(profiles: readonly string[] = []): ComposeFile {
  const args = [...profiles.flatMap((p) => ['--profile', p]), '-f', COMPOSE_FILE, 'config'];
  const out = execFileSync('docker-compose', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, COMPOSE_INTERACTIVE_NO_CLI: '1' } });
  return parse(out) as ComposeFile;
}
