import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificatePurpose, createSelfSignedCertificate, generatePrivateKey, privateKeyToPEM } from 'node-opcua-crypto';
import { pino, type Logger } from 'pino';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent } from '../../../../test/helpers/agent-process.js';
import { CollectingSink, captureLogs } from '../../../../test/helpers/sources.js';
import { waitFor } from '../../../../test/helpers/wait.js';
import { systemClock } from '../../core/clock.js';
import { YieldwatchError } from '../../core/errors.js';
import { simulatedMachineSchema } from '../../simulator/config.js';
import { simulatorNodeId, startOpcuaSimulator, type OpcuaSimulator, type OpcuaSimulatorOptions } from '../../simulator/opcua-server.js';
import { opcuaSourceSchema } from './config.js';
import { opcuaSource, type OpcuaSource } from './index.js';
import { fetchServerCertificate, runTrust, trustCertificate } from './trust.js';

/**
 * SignAndEncrypt, the trust workflow and user identities, against the OPC UA simulator offering
 * only secure endpoints. Each test has its own client PKI folder, as each plant's agent has.
 */

const PRESS = 'demo/line1/press1';
let BASE = '';
let n = 0;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
beforeAll(() => {
  BASE = mkdtempSync(join(tmpdir(), 'yieldwatch-opcua-security-'));
});
afterAll(() => {
  if (BASE !== '') rmSync(BASE, { recursive: true, force: true });
});

function folder(name: string): string {
  const dir = join(BASE, `${name}-${++n}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function secureSim(opts: Partial<OpcuaSimulatorOptions> = {}): Promise<OpcuaSimulator> {
  const s = await startOpcuaSimulator({
    port: 0,
    machines: [simulatedMachineSchema.parse({ path: PRESS, partsPerMinute: 6000 })],
    seed: 5,
    updateInterval: 100,
    logger: pino({ level: 'silent' }),
    pkiDir: folder('server-pki'),
    allowInsecure: false,
    // Updated by tick() only, so a value can be compared with the model's count.
    autoUpdate: false,
    ...opts,
  });
  cleanups.push(() => s.stop());
  return s;
}

function secureSource(endpointUrl: string, pkiDir: string, userIdentity: unknown, logger: Logger = pino({ level: 'silent' })): OpcuaSource {
  const cfg = opcuaSourceSchema.parse({
    type: 'opcua',
    id: 'plc',
    endpointUrl,
    userIdentity,
    pkiDir,
    samplingInterval: '100ms',
    reconnectMin: '200ms',
    reconnectMax: '1s',
    machines: [{ machine: PRESS, signals: { parts_good: { nodeId: simulatorNodeId(PRESS, 'GoodCount') } } }],
  });
  expect(cfg).toMatchObject({ securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256' });
  const src = opcuaSource.create(cfg, { id: 'plc', logger, clock: systemClock, agentId: 'test', isMachine: () => true, baseDir: BASE });
  cleanups.push(() => src.stop());
  return src;
}

function derOf(file: string): Buffer {
  return new X509Certificate(readFileSync(file)).raw;
}

/** The server's own certificate, as the simulator keeps it in its PKI folder. */
function serverCertificate(sim: OpcuaSimulator): Buffer {
  const dir = join(sim.pkiDir, 'own', 'certs');
  const file = readdirSync(dir).find((f) => f.endsWith('.pem'))!;
  return derOf(join(dir, file));
}

async function trustServer(sim: OpcuaSimulator, pkiDir: string): Promise<void> {
  await trustCertificate(await fetchServerCertificate(sim.endpointUrl, pkiDir), pkiDir);
}

describe('opcua security', () => {
  it('an unknown server certificate is refused and lands in rejected/; `opcua trust` moves it to trusted/ once the fingerprint matches, then data flows', async () => {
    const sim = await secureSim();
    const pkiDir = folder('client-pki');
    const log = captureLogs();
    const src = secureSource(sim.endpointUrl, pkiDir, { type: 'anonymous' }, log.logger);
    const sink = new CollectingSink();
    await src.start(sink);

    await waitFor('the certificate in rejected/', () => readdirSync(join(pkiDir, 'rejected')).length > 0, 15_000);
    const rejected = readdirSync(join(pkiDir, 'rejected'));
    expect(rejected).toHaveLength(1);
    expect(derOf(join(pkiDir, 'rejected', rejected[0]!)).equals(serverCertificate(sim))).toBe(true);
    expect(readdirSync(join(pkiDir, 'trusted', 'certs'))).toHaveLength(0);
    await waitFor('health names the cause', () => /not trusted/.test(src.health().reason ?? ''), 5000);
    expect(src.health().status).toBe('down');
    expect(src.health().reason).toContain(`yieldwatch opcua trust ${sim.endpointUrl}`);
    // Refused on every retry, but said once.
    await waitFor('a few retries', () => src.health().details?.failedAttempts as number >= 3, 15_000);
    expect(log.lines.filter((l) => l.level === 50 && /not trusted/.test(String(l.msg)))).toHaveLength(1);
    expect(sink.got).toHaveLength(0);

    const cert = await fetchServerCertificate(sim.endpointUrl, pkiDir);
    expect(cert.state).toBe('rejected');
    expect(cert.der.equals(serverCertificate(sim))).toBe(true);
    expect(cert.sha256).toBe(new X509Certificate(serverCertificate(sim)).fingerprint256);

    // No terminal and no fingerprint: shown, not trusted.
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t) };
    expect(await runTrust({ endpointUrl: sim.endpointUrl, pkiDir }, io)).toBe(2);
    expect(out.join('')).toContain(cert.sha256);
    // A fingerprint that does not match (the wrong server, or someone in between): refused with the real one named.
    const wrong = 'AA:'.repeat(31) + 'AA';
    const refusal = await runTrust({ endpointUrl: sim.endpointUrl, pkiDir, fingerprint: wrong }, io).then(() => undefined, (e: unknown) => e);
    expect(refusal).toBeInstanceOf(YieldwatchError);
    expect((refusal as YieldwatchError).code).toBe('YW_ERR_OPCUA_TRUST');
    expect((refusal as Error).message).toContain(cert.sha256);
    // A person who says no.
    expect(await runTrust({ endpointUrl: sim.endpointUrl, pkiDir }, { ...io, ask: async () => 'n' })).toBe(1);
    expect(readdirSync(join(pkiDir, 'rejected'))).toHaveLength(1);
    expect(sink.got).toHaveLength(0);

    // The fingerprint as an operator copies it from the server's screen: SHA-1, lower case, no colons.
    expect(await runTrust({ endpointUrl: sim.endpointUrl, pkiDir, fingerprint: cert.sha1.replaceAll(':', '').toLowerCase() }, io)).toBe(0);
    expect(readdirSync(join(pkiDir, 'rejected'))).toHaveLength(0);
    const trusted = readdirSync(join(pkiDir, 'trusted', 'certs'));
    expect(trusted).toHaveLength(1);
    expect(derOf(join(pkiDir, 'trusted', 'certs', trusted[0]!)).equals(cert.der)).toBe(true);

    // The running source connects at its next attempt, without a restart.
    sim.tick();
    await waitFor('values over SignAndEncrypt', () => sink.last(PRESS, 'parts_good')?.value === sim.truth()[PRESS]!.parts_good, 20_000);
    await waitFor('health ok', () => src.health().status === 'ok', 5000);
    expect(await runTrust({ endpointUrl: sim.endpointUrl, pkiDir }, io)).toBe(0);
    expect(out.at(-1)).toContain('Already trusted');
  }, 60_000);

  it('`yieldwatch opcua trust` from the CLI: finds the PKI folder from the config, refuses without confirmation, trusts with --fingerprint', async () => {
    const sim = await secureSim();
    const dir = folder('cli');
    const config = join(dir, 'agent.yaml');
    writeFileSync(
      config,
      stringify({
        agent: { id: 'trust-test', dataDir: './data' },
        machines: [{ path: PRESS }],
        sources: [{ type: 'opcua', id: 'line1-plc', endpointUrl: sim.endpointUrl, pkiDir: './pki', machines: [{ machine: PRESS, signals: { parts_good: { nodeId: simulatorNodeId(PRESS, 'GoodCount') } } }] }],
        api: { enabled: false },
      }),
    );
    const run = async (args: string[]) => {
      const p = spawnAgent(['opcua', 'trust', sim.endpointUrl, '--config', config, ...args]);
      return { code: await p.exited, output: p.output() };
    };
    const shown = await run([]);
    expect(shown.code, shown.output).toBe(2);
    const sha256 = new X509Certificate(serverCertificate(sim)).fingerprint256;
    expect(shown.output).toContain(sha256);
    expect(shown.output).toContain('--fingerprint');

    const bad = await run(['--fingerprint', '00'.repeat(32)]);
    expect(bad.code, bad.output).toBe(1);
    expect(bad.output).toContain('[YW_ERR_OPCUA_TRUST]');

    const ok = await run(['--fingerprint', sha256]);
    expect(ok.code, ok.output).toBe(0);
    const trusted = readdirSync(join(dir, 'pki', 'trusted', 'certs'));
    expect(trusted).toHaveLength(1);
    expect(derOf(join(dir, 'pki', 'trusted', 'certs', trusted[0]!)).equals(serverCertificate(sim))).toBe(true);

    const unknown = spawnAgent(['opcua', 'trust', 'opc.tcp://127.0.0.1:1/other', '--config', config]);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toContain(`line1-plc (${sim.endpointUrl})`);
  }, 60_000);

  it('username and password: the right one reads values; a wrong one gives one clear error naming endpoint and user, retries with back-off, never crashes, and never logs the password', async () => {
    const sim = await secureSim({ users: [{ userName: 'yieldwatch', password: 'right-secret' }], allowAnonymous: false });

    const goodPki = folder('client-pki');
    await trustServer(sim, goodPki);
    const good = secureSource(sim.endpointUrl, goodPki, { type: 'userName', userName: 'yieldwatch', password: 'right-secret' });
    const sink = new CollectingSink();
    await good.start(sink);
    sim.tick();
    await waitFor('values with the right password', () => sink.last(PRESS, 'parts_good')?.value === sim.truth()[PRESS]!.parts_good, 15_000);

    const badPki = folder('client-pki');
    await trustServer(sim, badPki);
    const log = captureLogs();
    const bad = secureSource(sim.endpointUrl, badPki, { type: 'userName', userName: 'yieldwatch', password: 'wrong-secret' }, log.logger);
    const badSink = new CollectingSink();
    await bad.start(badSink);
    await waitFor('three failed attempts', () => (bad.health().details?.failedAttempts as number) >= 3, 20_000);
    const health = bad.health();
    expect(health.status).toBe('down');
    expect(health.reason).toMatch(/BadUserAccessDenied|BadIdentityTokenRejected|BadIdentityTokenInvalid/);
    const errors = log.lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ endpoint: sim.endpointUrl, user: 'yieldwatch' });
    expect(String(errors[0]!.msg)).toContain(sim.endpointUrl);
    expect(String(errors[0]!.msg)).toContain('"yieldwatch"');
    // Back-off: the gaps between attempts grow (200 ms, 400 ms, 800 ms, then 1 s).
    const delays = log.lines.filter((l) => typeof l.retryInMs === 'number').map((l) => l.retryInMs as number);
    expect(delays.slice(0, 3)).toEqual([200, 400, 800]);
    expect(JSON.stringify(log.lines)).not.toContain('wrong-secret');
    expect(badSink.got).toHaveLength(0);
    // The other source was not disturbed.
    sim.tick();
    await waitFor('the good source keeps reading', () => sink.last(PRESS, 'parts_good')?.value === sim.truth()[PRESS]!.parts_good, 10_000);
  }, 60_000);

  it('an X.509 user certificate logs in where anonymous is not allowed', async () => {
    const sim = await secureSim({ allowAnonymous: false });
    const pkiDir = folder('client-pki');
    await trustServer(sim, pkiDir);
    const dir = folder('user');
    const key = await generatePrivateKey(2048);
    const { privPem } = await privateKeyToPEM(key);
    const { cert } = await createSelfSignedCertificate({ privateKey: key, subject: '/CN=yieldwatch-agent', purpose: CertificatePurpose.ForUserAuthentication, validity: 30 });
    writeFileSync(join(dir, 'user.pem'), cert);
    writeFileSync(join(dir, 'user.key'), privPem);

    // Anonymous is refused by this server: the certificate is what gets us in.
    const anonLog = captureLogs();
    const anon = secureSource(sim.endpointUrl, pkiDir, { type: 'anonymous' }, anonLog.logger);
    await anon.start(new CollectingSink());
    await waitFor('anonymous refused', () => /session or subscription failed/.test(anon.health().reason ?? ''), 15_000);

    const src = secureSource(sim.endpointUrl, pkiDir, { type: 'certificate', certificateFile: join(dir, 'user.pem'), privateKeyFile: join(dir, 'user.key') });
    const sink = new CollectingSink();
    await src.start(sink);
    sim.tick();
    await waitFor('values with the user certificate', () => sink.last(PRESS, 'parts_good')?.value === sim.truth()[PRESS]!.parts_good, 15_000);
    expect(src.health().status).toBe('ok');
  }, 60_000);
});
