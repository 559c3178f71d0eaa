import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../agent/src/core/package-root.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

/** A command's exit code, standard output and all its output; never throws, so a failure shows what the command said. */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; stdout: string; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, out }));
  });
}

/** Every file below `dir` with its size and modification time, to tell whether anything was written there. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p);
        files.set(relative(dir, p), `${s.size}@${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return files;
}

/** The environment of a user who has nothing of ours set: no YIELDWATCH_* and no XDG_STATE_HOME from the machine running the tests. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('YIELDWATCH_') && k !== 'XDG_STATE_HOME' && !k.startsWith('npm_')));
  return { ...env, ...extra };
}

/**
 * better-sqlite3's prebuilt binary for this Node.js, made from the one `npm ci` built for the
 * checkout, in the folder and under the name its installer (prebuild-install) looks for before it
 * downloads (`npm_config_better_sqlite3_local_prebuilds`; deploy/README.md, "What needs a
 * compiler"). Without it the install compiles SQLite from source where GitHub is out of reach:
 * minutes on 2 cores, and what `npm ci` already did.
 */
function localPrebuild(dir: string): string {
  const pkg = join(packageRoot(), 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string };
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
  execFileSync('tar', ['-czf', file, '-C', pkg, 'build/Release/better_sqlite3.node']);
  return dir;
}

// `npm install -g` of the packed tarball, as a user does it: the npm cache is warm after `npm ci`,
// and better-sqlite3's binary comes from a local prebuild, as on a site without a compiler.
describe('the npm package', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'yw-package-'));
  // The installed tree is ~250 MB in ~20,000 files: removing it takes tens of seconds on a busy machine.
  afterAll(() => rmSync(tmp, { recursive: true, force: true }), 300_000);

  it('packs without tests, installs into a fresh prefix, and `yieldwatch demo` serves KPIs from a folder outside the package, writing only to the user\'s state folder', { timeout: 900_000 }, async () => {
    const packed = await run('npm', ['pack', '--pack-destination', tmp, '--json'], { cwd: packageRoot() });
    expect(packed.code, packed.out).toBe(0);
    // prepack's build prints before npm's JSON: the list is the output's last JSON array.
    const [{ filename, files }] = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[$/m))) as [{ filename: string; files: { path: string }[] }];
    const paths = files.map((f) => f.path);
    expect(paths).toContain('bin/yieldwatch.js');
    expect(paths).toContain('dist/agent/src/cli.js');
    expect(paths).toContain('config/demo.yaml');
    expect(paths).toContain('dashboard/src/main.tsx');
    expect(paths.filter((p) => /\.test\.tsx?$|\.test\.js$/.test(p) || p.startsWith('test/') || p.startsWith('agent/') || p.startsWith('data/'))).toEqual([]);

    const prefix = join(tmp, 'prefix');
    const prebuilds = localPrebuild(join(tmp, 'prebuilds'));
    const installed = await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', join(tmp, filename)], {
      cwd: tmp,
      env: cleanEnv({ npm_config_better_sqlite3_local_prebuilds: prebuilds }),
    });
    expect(installed.code, installed.out).toBe(0);
    // Installed from the prebuild, not compiled: no node-gyp build folder beside the binary.
    const sqlite = join(prefix, 'lib', 'node_modules', 'yieldwatch', 'node_modules', 'better-sqlite3');
    expect(existsSync(join(sqlite, 'build', 'Release', 'better_sqlite3.node'))).toBe(true);
    expect(existsSync(join(sqlite, 'build', 'Release', 'obj.target')), installed.out.slice(-3000)).toBe(false);
    const pkg = join(prefix, 'lib', 'node_modules', 'yieldwatch');
    const before = snapshot(pkg);

    const home = join(tmp, 'home');
    const work = join(tmp, 'work');
    mkdirSync(home);
    mkdirSync(work);
    const [api, broker, opcua] = [await freePort(), await freePort(), await freePort()];
    const demo = spawn(join(prefix, 'bin', 'yieldwatch'), ['demo'], {
      cwd: work,
      env: cleanEnv({
        HOME: home,
        YIELDWATCH_API__PORT: String(api),
        YIELDWATCH_DEMO__BROKER__PORT: String(broker),
        YIELDWATCH_DEMO__OPCUA__PORT: String(opcua),
        // Live data only: the demo's history is tested on its own (agent/src/wiring/demo-history.test.ts).
        YIELDWATCH_DEMO__HISTORY: '0s',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    demo.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    demo.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    const exited = new Promise<number | string | null>((resolve) => demo.on('exit', (code, sig) => resolve(sig ?? code)));
    const url = `http://127.0.0.1:${api}`;
    const state = join(home, '.local', 'state', 'yieldwatch', 'demo');
    try {
      // On loopback the demo opens without a login.
      await waitFor(
        'KPI windows with production from the installed demo',
        async () => {
          const r = await fetch(`${url}/api/v1/kpis`).catch(() => undefined);
          if (r?.status !== 200) return undefined;
          const { items } = (await r.json()) as { items: { machine: string; parts_total: number; yield?: number }[] };
          return items.some((w) => w.parts_total > 0 && typeof w.yield === 'number') ? items : undefined;
        },
        120_000,
        500,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\ndemo output:\n${out.slice(-4000)}`);
      });
      expect(out).toContain(`Data (store, reports, PKI): ${state}`);
      // The dashboard is bundled from the package's own dashboard/src at run time.
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('/assets/app.js');
      expect((await fetch(`${url}/assets/app.js`)).status).toBe(200);
    } finally {
      demo.kill('SIGINT');
    }
    expect(await exited, out.slice(-4000)).toBe(0);

    expect(existsSync(join(state, 'yieldwatch.db'))).toBe(true);
    // Nothing in the working folder, nothing in HOME but the state folder, nothing in the package.
    expect(readdirSync(work)).toEqual([]);
    expect([...snapshot(home).keys()].filter((p) => !p.startsWith(join('.local', 'state', 'yieldwatch', 'demo') + '/'))).toEqual([]);
    const after = snapshot(pkg);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p) !== after.get(p));
    expect(changed).toEqual([]);
  });
});
