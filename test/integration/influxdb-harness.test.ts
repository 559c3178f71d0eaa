import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requireInfluxd, startInfluxdb, stopAllInfluxdb, type InfluxdbServer } from '../helpers/influxdb.js';

const hasInfluxd = requireInfluxd();

const DB = 'yieldwatch';
const T0 = Date.UTC(2026, 0, 1); // ms
const ADMIN = { username: 'yw-admin', password: "s3cret 'quoted' \\ pass" };

/** True while a process with this PID exists (and is not a zombie of ours). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed child not yet reaped by Node shows up as a zombie ("Z") for a moment.
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function ping(url: string): Promise<number | string> {
  try {
    return (await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) })).status;
  } catch (err) {
    return (err as Error).name;
  }
}

function rawWrite(server: InfluxdbServer, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/write?db=${DB}&precision=ms`, { method: 'POST', headers, body });
}

const pids = new Set<number>();

describe.skipIf(!hasInfluxd)('InfluxDB test harness (influxd from Debian)', () => {
  afterAll(async () => {
    await stopAllInfluxdb();
    for (const pid of pids) expect(alive(pid), `influxd ${pid} is still running`).toBe(false);
  });

  describe('without auth', () => {
    let server: InfluxdbServer;

    beforeAll(async () => {
      server = await startInfluxdb();
      if (server.pid !== undefined) pids.add(server.pid);
      await server.query('', `CREATE DATABASE ${DB}`);
    });
    afterAll(() => server?.stop());
    beforeEach(({ onTestFailed }) => onTestFailed(() => console.error(`influxd output:\n${server?.output() ?? ''}`)));

    it('listens on 127.0.0.1 and keeps its files in its own temp folder', async () => {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      expect(server.rpcPort).not.toBe(server.port);
      expect(await ping(server.url)).toBe(204);
      const conf = readFileSync(join(server.dataDir, 'influxdb.conf'), 'utf8');
      expect(conf).toContain(`bind-address = "127.0.0.1:${server.rpcPort}"`);
      expect(conf).toContain(`bind-address = "127.0.0.1:${server.port}"`);
      // CREATE DATABASE wrote to meta/, and no _internal database (monitor store disabled).
      expect(existsSync(join(server.dataDir, 'meta', 'meta.db'))).toBe(true);
      const dbs = (await server.query('', 'SHOW DATABASES')).map((r) => r.name);
      expect(dbs).toEqual([DB]);
    });

    it('writes a point with line protocol (POST /write) and reads it back (GET /query)', async () => {
      const res = await rawWrite(server, `kpi,machine=plant1/l1/m01,material=AlMg3 scrap_rate=0.25,good=42i,note="first window" ${T0}`);
      expect(res.status, await res.text()).toBe(204);
      await server.write(DB, [`kpi,machine=plant1/l1/m02,material=AlMg3 scrap_rate=0.5,good=7i,note="x" ${T0 + 60_000}`], { precision: 'ms' });

      const rows = await server.query(DB, `SELECT scrap_rate, good, note FROM kpi GROUP BY machine`, { epoch: 'ms' });
      expect(rows).toEqual([
        { machine: 'plant1/l1/m01', time: T0, scrap_rate: 0.25, good: 42, note: 'first window' },
        { machine: 'plant1/l1/m02', time: T0 + 60_000, scrap_rate: 0.5, good: 7, note: 'x' },
      ]);
      const [first] = await server.query(DB, `SELECT * FROM kpi WHERE machine = 'plant1/l1/m01'`);
      expect(first?.time).toBe('2026-01-01T00:00:00Z');
      expect(existsSync(join(server.dataDir, 'wal', DB))).toBe(true);
    });

    it('reports query errors with the message from InfluxDB', async () => {
      await expect(server.query(DB, 'SELECT FROM')).rejects.toThrow(/400|error parsing query/);
      await expect(server.query('nosuchdb', 'SELECT * FROM kpi')).rejects.toThrow(/database not found/);
    });

    it('keeps its data when stopped and started again on the same port (an outage)', async () => {
      const before = server.pid;
      expect(before).toBeDefined();
      await server.stopProcess();
      expect(server.pid).toBeUndefined();
      expect(alive(before!)).toBe(false);
      expect(await ping(server.url)).not.toBe(204);
      await expect(rawWrite(server, `kpi,machine=m scrap_rate=1 ${T0}`)).rejects.toThrow();

      await server.startProcess();
      const after = server.pid;
      expect(after).toBeDefined();
      expect(after).not.toBe(before);
      pids.add(after!);
      expect(await ping(server.url)).toBe(204);
      const rows = await server.query(DB, 'SELECT count(scrap_rate) AS n FROM kpi', { epoch: 'ms' });
      expect(rows).toEqual([{ time: 0, n: 2 }]);

      // And restart() does both, still on the same port with the data kept.
      await server.write(DB, `kpi,machine=plant1/l1/m03 scrap_rate=0 ${T0 + 120_000}`, { precision: 'ms' });
      await server.restart();
      pids.add(server.pid!);
      expect((await server.query(DB, 'SELECT count(scrap_rate) AS n FROM kpi'))[0]?.n).toBe(3);
      expect(server.output()).toMatch(/Listening on HTTP.*127\.0\.0\.1/);
    });
  });

  describe('with auth', () => {
    let server: InfluxdbServer;

    beforeAll(async () => {
      server = await startInfluxdb({ auth: ADMIN });
      if (server.pid !== undefined) pids.add(server.pid);
      await server.query('', `CREATE DATABASE ${DB}`);
    });
    afterAll(() => server?.stop());
    beforeEach(({ onTestFailed }) => onTestFailed(() => console.error(`influxd output:\n${server?.output() ?? ''}`)));

    it('refuses unauthenticated and wrongly authenticated writes and queries with 401', async () => {
      const anon = await rawWrite(server, `kpi,machine=m01 scrap_rate=0.1 ${T0}`);
      expect(anon.status).toBe(401);
      await anon.arrayBuffer();
      const wrong = await rawWrite(server, `kpi,machine=m01 scrap_rate=0.1 ${T0}`, {
        authorization: `Basic ${Buffer.from(`${ADMIN.username}:nope`).toString('base64')}`,
      });
      expect(wrong.status).toBe(401);
      await wrong.arrayBuffer();
      await expect(server.query(DB, 'SELECT * FROM kpi', { auth: null })).rejects.toThrow(/401/);
      // /ping stays open, which is what readiness checks rely on.
      expect(await ping(server.url)).toBe(204);
    });

    it('accepts authenticated writes (Basic auth and u/p parameters) and keeps the user across a restart', async () => {
      const basic = await rawWrite(server, `kpi,machine=m01 scrap_rate=0.1 ${T0}`, {
        authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`,
      });
      expect(basic.status, await basic.text()).toBe(204);
      const u = new URLSearchParams({ db: DB, precision: 'ms', u: ADMIN.username, p: ADMIN.password });
      const params = await fetch(`${server.url}/write?${u.toString()}`, { method: 'POST', body: `kpi,machine=m02 scrap_rate=0.2 ${T0}` });
      expect(params.status, await params.text()).toBe(204);

      await server.restart();
      pids.add(server.pid!);
      const rows = await server.query(DB, 'SELECT scrap_rate FROM kpi GROUP BY machine', { epoch: 'ms' });
      expect(rows).toEqual([
        { machine: 'm01', time: T0, scrap_rate: 0.1 },
        { machine: 'm02', time: T0, scrap_rate: 0.2 },
      ]);
      const users = await server.query('', 'SHOW USERS');
      expect(users).toEqual([{ user: ADMIN.username, admin: true }]);
    });
  });

  it('stop() ends influxd and removes its folder, and can be called twice', async () => {
    const server = await startInfluxdb();
    const pid = server.pid;
    expect(pid).toBeDefined();
    pids.add(pid!);
    await Promise.all([server.stop(), server.stop()]);
    expect(alive(pid!)).toBe(false);
    expect(existsSync(server.dataDir)).toBe(false);
    await expect(server.startProcess()).rejects.toThrow(/stopped for good/);
  });
});
