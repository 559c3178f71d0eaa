import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../agent/src/core/package-root.js';
import { SHUTDOWN_DEADLINE_MS } from '../../agent/src/wiring/shutdown.js';
import { requireBinary } from '../helpers/require-binary.js';

const UNIT = join(packageRoot(), 'deploy', 'systemd', 'yieldwatch.service');
const hasAnalyze = requireBinary('systemd-analyze');

describe.skipIf(!hasAnalyze)('deploy/systemd/yieldwatch.service', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-systemd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const text = readFileSync(UNIT, 'utf8');
  // verify checks that ExecStart's program exists; the installed /usr/bin/yieldwatch is not on this machine.
  const stub = join(dir, 'yieldwatch');
  writeFileSync(stub, '#!/bin/sh\n');
  chmodSync(stub, 0o755);
  const unit = join(dir, 'yieldwatch.service');
  writeFileSync(unit, text.replace('ExecStart=/usr/bin/yieldwatch ', `ExecStart=${stub} `));

  it('passes systemd-analyze verify with no complaint', () => {
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect({ status: r.status, output: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, output: '' });
  });

  it('has an exposure score of 2.0 or better (systemd-analyze security), the hardening the deploy guide states, and stops after the agent\'s own deadline', () => {
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for yieldwatch\.service: ([\d.]+)/.exec(out)?.[1]);
    expect(score).toBeLessThanOrEqual(2.0);
    for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=', 'SystemCallFilter=@system-service', 'Restart=on-failure', 'StateDirectory=yieldwatch']) {
      expect(text.split('\n'), line).toContain(line);
    }
    expect(text).toMatch(/^RestrictAddressFamilies=/m);
    // V8 writes executable memory: this would kill the agent.
    expect(text).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
    const stopSec = Number(/^TimeoutStopSec=(\d+)s$/m.exec(text)?.[1]);
    expect(stopSec * 1000).toBeGreaterThan(SHUTDOWN_DEADLINE_MS);
  });
});
