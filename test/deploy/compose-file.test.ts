import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../agent/src/core/package-root.js';
import { composeConfig as loadCompose, type ComposeFile, type ComposeService } from '../helpers/compose.js';
import { panelQueries, queryNames, variableQueries } from '../helpers/grafana-dashboard.js';
import { documentedInfluxSchema, isDocumentedField } from '../helpers/influxdb-schema.js';
import { requireBinary } from '../helpers/require-binary.js';

/**
 * docker-compose.yml and deploy/compose/, without a Docker engine: Debian's `docker-compose
 * config` validates the file, and the rules of the stack are checked on its output. The
 * dashboard's queries are checked against the influxdb sink's documented schema here, and
 * against a real InfluxDB the agent filled in compose-stack.test.ts.
 */

const ROOT = packageRoot();
const COMPOSE_DIR = join(ROOT, 'deploy', 'compose');
const DASHBOARD = join(COMPOSE_DIR, 'grafana', 'dashboards', 'yieldwatch.json');
const hasCompose = requireBinary('docker-compose');

/** A volume entry, short (`src:target:ro`, as docker-compose 1.29 prints them) or long syntax. */
function mount(v: NonNullable<ComposeService['volumes']>[number]): { named: boolean; source: string; target: string; readOnly: boolean } {
  if (typeof v !== 'string') return { named: v.type === 'volume', source: v.source ?? '', target: v.target, readOnly: v.read_only === true };
  const [source = '', target = '', mode = ''] = v.split(':');
  return { named: !/^[./~]/.test(source), source, target, readOnly: mode.split(',').includes('ro') };
}

const dependencies = (s: ComposeService): [string, string][] =>
  Array.isArray(s.depends_on) ? s.depends_on.map((d) => [d, 'service_started']) : Object.entries(s.depends_on ?? {}).map(([d, c]) => [d, c.condition]);

describe.skipIf(!hasCompose)('docker-compose.yml', () => {
  // Each `docker-compose config` takes about 2 s: once per profile set.
  const cache = new Map<string, ComposeFile>();
  const composeConfig = (profiles: string[] = []): ComposeFile => cache.get(profiles.join()) ?? cache.set(profiles.join(), loadCompose(profiles)).get(profiles.join())!;
  it('is valid with and without the demo profile, which adds only the simulators', () => {
    const plain = composeConfig();
    const demo = composeConfig(['demo']);
    expect(Object.keys(demo.services).sort()).toEqual(['agent', 'grafana', 'influxdb', 'mosquitto', 'simulators']);
    // docker-compose 1.29 lists profiled services in `config` output too; the profile decides what `up` starts.
    for (const [name, s] of Object.entries(plain.services)) expect(s.profiles ?? [], name).toEqual(name === 'simulators' ? ['demo'] : []);
    expect(demo.services.simulators!.command!.slice(0, 1)).toEqual(['simulate']);
  });

  it('pins every image to an exact version; the others are built from deploy/Dockerfile', () => {
    const { services } = composeConfig(['demo']);
    for (const [name, s] of Object.entries(services)) {
      if (s.image === undefined) {
        expect(s.build?.dockerfile, `${name} has neither an image nor a build`).toBe('deploy/Dockerfile');
        continue;
      }
      // name:MAJOR.MINOR.PATCH (an optional -variant), or a digest: never latest, never 1.8 or 11.
      expect(s.image, name).toMatch(/^[a-z0-9./-]+(:\d+\.\d+\.\d+(-[a-z0-9.]+)?|@sha256:[0-9a-f]{64})$/);
    }
  });

  it('starts each service only after what it needs is healthy, keeps data in named volumes, secrets in files and ports on 127.0.0.1', () => {
    const c = composeConfig(['demo']);
    for (const [name, s] of Object.entries(c.services)) {
      for (const [dep, condition] of dependencies(s)) {
        expect(condition, `${name} → ${dep}`).toBe('service_healthy');
        const check = c.services[dep]!.healthcheck;
        expect(check?.disable !== true && (check?.test?.length ?? 0) > 0, `${dep} needs a health check`).toBe(true);
      }
      for (const p of s.ports ?? []) expect(typeof p === 'string' ? p : p.host_ip, `${name} port`).toMatch(/^127\.0\.0\.1/);
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        // A password or token is only ever named by its file.
        if (/PASSWORD|TOKEN|SECRET/.test(key)) {
          expect(key, `${name} ${key}`).toMatch(/_FILE$/);
          expect(value).toMatch(/^\/run\/secrets\//);
        }
      }
      for (const m of (s.volumes ?? []).map(mount)) {
        // Bind mounts are the stack's own config files, read-only; data lives in named volumes.
        if (m.named) expect(Object.keys(c.volumes ?? {}), `${name} ${m.target}`).toContain(m.source);
        else expect(m.readOnly, `${name} ${m.target}`).toBe(true);
      }
    }
    const volumeOf = (svc: string, target: string) => (c.services[svc]!.volumes ?? []).map(mount).find((m) => m.target === target);
    expect(volumeOf('mosquitto', '/mosquitto/data')?.named).toBe(true);
    expect(volumeOf('influxdb', '/var/lib/influxdb')?.named).toBe(true);
    expect(volumeOf('agent', '/var/lib/yieldwatch')?.named).toBe(true);
    expect(volumeOf('grafana', '/var/lib/grafana')?.named).toBe(true);
    for (const svc of ['agent', 'simulators']) {
      expect(c.services[svc]!.read_only, svc).toBe(true);
      expect([c.services[svc]!.tmpfs].flat(), svc).toContain('/tmp');
    }
    expect(dependencies(c.services.agent!).map(([d]) => d).sort()).toEqual(['influxdb', 'mosquitto']);
    // Every secret a service uses is a file of deploy/compose/secrets (made by init-secrets.sh, gitignored).
    for (const [name, s] of Object.entries(c.secrets ?? {})) expect(s.file, name).toMatch(/\/deploy\/compose\/secrets\/[a-z_]+$/);
    expect(readFileSync(join(ROOT, '.gitignore'), 'utf8')).toMatch(/^deploy\/compose\/secrets\/$/m);
  });

  it('gives Grafana the InfluxDB and database the agent\'s sink writes to', () => {
    const ds = (parse(readFileSync(join(COMPOSE_DIR, 'grafana', 'provisioning', 'datasources', 'yieldwatch.yaml'), 'utf8')) as { datasources: { type: string; url: string; jsonData: { dbName: string; version: string } }[] }).datasources;
    const agent = parse(readFileSync(join(COMPOSE_DIR, 'agent.yaml'), 'utf8')) as { sinks: { type: string; url: string; database: string }[] };
    const sink = agent.sinks.find((s) => s.type === 'influxdb')!;
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ type: 'influxdb', url: sink.url, jsonData: { dbName: sink.database, version: 'InfluxQL' } });
    expect(Object.keys(composeConfig().services)).toContain(new URL(sink.url).hostname);
  });
});

describe('the Grafana dashboard', () => {
  const schema = documentedInfluxSchema();
  const queries = [...panelQueries(DASHBOARD), ...variableQueries(DASHBOARD)];

  it('has panels for yield, scrap rate, loss in kg, € and CO2e, and scrap by reason', () => {
    const all = panelQueries(DASHBOARD).map((q) => q.query).join('\n');
    for (const field of ['parts_good', 'parts_scrap', 'material_loss_kg', 'loss_cost', 'loss_co2e_kg']) expect(all).toContain(`"${field}"`);
    expect(all).toContain('"yieldwatch_window_by_reason"');
  });

  it.each(queries.map((q) => [q.where, q.query] as const))('%s queries only measurements, tags and fields the sink documents', (_where, query) => {
    const names = queryNames(query);
    expect(names.unquoted).toEqual([]);
    const m = schema.get(names.measurement ?? '');
    expect(m, `measurement ${names.measurement} is not in agent/src/sinks/influxdb/README.md`).toBeDefined();
    for (const id of names.identifiers) expect(m!.tags.has(id) || isDocumentedField(m!, id), `"${id}" of ${names.measurement}`).toBe(true);
    for (const re of names.fieldRegexes) {
      // A regex must select a documented family of fields (crm_loss_kg_<element>), not everything.
      expect([...m!.fieldPrefixes].some((p) => re.test(`${p}X`)) && ![...m!.fields].some((f) => re.test(f)), `${re} of ${names.measurement}`).toBe(true);
    }
  });
});
