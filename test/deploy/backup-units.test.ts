/**
 * deploy/systemd/yieldwatch-backup.{service,timer}: units systemd accepts, hardened like the
 * agent's, backing up the config the agent runs with into the folder they make private.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../agent/src/core/package-root.js';
import { requireBinary } from '../helpers/require-binary.js';

const DIR = join(packageRoot(), 'deploy', 'systemd');
const hasAnalyze = requireBinary('systemd-analyze');

describe.skipIf(!hasAnalyze)('deploy/systemd/yieldwatch-backup.service and .timer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-backup-units-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['yieldwatch-backup.service', 'yieldwatch-backup.timer']) copyFileSync(join(DIR, f), join(dir, f));
  const service = readFileSync(join(DIR, 'yieldwatch-backup.service'), 'utf8');

  it('pass systemd-analyze verify with no complaint', () => {
    const r = spawnSync('systemd-analyze', ['verify', join(dir, 'yieldwatch-backup.service'), join(dir, 'yieldwatch-backup.timer')], { encoding: 'utf8' });
    expect({ status: r.status, output: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, output: '' });
  });

  it('the service has an exposure of 2.0 or better, runs as the agent\'s user and backs up the agent\'s config', () => {
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', join(dir, 'yieldwatch-backup.service')], { encoding: 'utf8' });
    expect(Number(/Overall exposure level for yieldwatch-backup\.service: ([\d.]+)/.exec(out)?.[1])).toBeLessThanOrEqual(2.0);
    const agent = readFileSync(join(DIR, 'yieldwatch.service'), 'utf8');
    const config = /^ExecStart=\S+ start --config (\S+)$/m.exec(agent)?.[1];
    expect(config).toBeDefined();
    expect(service).toContain(`yieldwatch backup --config ${config} --out `);
    for (const line of ['User=yieldwatch', 'UMask=0077', 'ProtectSystem=strict']) expect(service.split('\n'), line).toContain(line);
    expect(/^User=(\S+)$/m.exec(agent)?.[1]).toBe('yieldwatch');
  });
});
