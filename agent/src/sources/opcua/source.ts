import { isAbsolute, join, resolve } from 'node:path';
// Types only: node-opcua itself is loaded by start() (it takes a second and prints warnings at import time,
// which an agent without OPC UA sources, or `yieldwatch replay`, must not pay for).
import type { ClientSession, ClientSubscription, DataValue, OPCUAClient, StatusCode, UserIdentityInfo } from 'node-opcua';
import type { Logger } from 'pino';
import { Backoff } from '../../core/backoff.js';
import type { Scheduler, TimerHandle } from '../../core/clock.js';
import type { Health } from '../../core/health.js';
import type { PluginContext, SampleSink, Source } from '../../core/plugin.js';
import { guarded } from '../../observe/guard.js';
import { resolveBrowsePaths } from './browse-paths.js';
import { createClient, type CertificateStore } from './client.js';
import type { OpcuaSourceConfig } from './config.js';
import { DataChanges } from './data-changes.js';
import { userIdentity, userNameOf } from './identity.js';
import { itemsOf, parseBrowsePaths, type Item } from './items.js';
import { monitorItems, refusedMonitoredItems, type MonitoredGroup } from './monitor.js';
import { RefusedItems } from './refusals.js';
import { nextState, watched, type SessionEvent, type SessionState } from './session-state.js';
import { TrafficWatch } from './traffic-watch.js';
import { routeNodeOpcuaLogs } from './node-opcua-log.js';

/** Counters of the OPC UA source; a type alias (not an interface) so it stays a `Record<string, number>`. */
export type OpcuaCounters = {
  /** Values delivered to the pipeline. */
  readonly values: number;
  /** Data changes that could not become samples (bad status, unsupported type). */
  readonly rejected: number;
  /** Lost connections, retries after a failed connection attempt (node-opcua 'backoff'), and sessions re-created by the source. */
  readonly reconnects: number;
  /** Monitored items the server refused (e.g. BadNodeIdUnknown), per attempt to create them. */
  readonly node_errors: number;
  /** Data changes the sink threw on (a bug downstream); dropped. */
  readonly sink_errors: number;
};

export interface OpcuaSource extends Source {
  counters(): OpcuaCounters;
  rejectedByReason(): Readonly<Record<string, number>>;
}

type NodeOpcua = typeof import('node-opcua');
type Client = OPCUAClient & { isReconnecting?: boolean };

/** Subscription keep-alive: the server sends at least one publish per this many publishing intervals. */
const MAX_KEEPALIVE_COUNT = 10;
const LIFETIME_COUNT = 60;
/** Lower bound of the no-traffic watchdog, so a short publishing interval does not cause needless rebuilds. */
const WATCHDOG_MIN_MS = 5000;
/** How long stop() waits for each of subscription, session and connection to close. */
const STOP_STEP_TIMEOUT_MS = 3000;

function withTimeout<T>(clock: Scheduler, p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: TimerHandle | undefined;
  return Promise.race([
    p,
    new Promise<undefined>((res) => {
      timer = clock.setTimeout(() => res(undefined), ms);
    }),
  ]).finally(() => clock.clearTimer(timer));
}

/**
 * One OPC UA server: a client, one session and one subscription with every configured item.
 * It drives the session state machine (session-state.ts) from node-opcua's events, its own
 * watchdog and its retry timers, all on the injected clock; the parts do the rest: browse
 * paths, monitored items, refused items, the hot path and the silence check.
 */
export class OpcuaSourceImpl implements OpcuaSource {
  readonly type = 'opcua';
  readonly id: string;
  private readonly log: Logger;
  private readonly clock: Scheduler;
  private readonly endpoint: string;
  private readonly items: Item[];
  private readonly publishingInterval: number;
  private readonly data: DataChanges;
  private readonly refused: RefusedItems;
  private readonly traffic: TrafficWatch;
  /** Failed connects and builds in a row, for the back-off and for logging only the first. */
  private readonly backoff: Backoff;
  private state: SessionState = 'stopped';
  /** Bumped per build and by stop(), so that a build that was overtaken leaves its results alone. */
  private generation = 0;
  private status: Health = { status: 'down', reason: 'not started' };
  private ua: NodeOpcua | undefined;
  private certificates: CertificateStore | undefined;
  private client: Client | undefined;
  private session: ClientSession | undefined;
  private subscription: ClientSubscription | undefined;
  private groups: readonly MonitoredGroup[] = [];
  private watchdog: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  /** The watchdog leaves a failed build alone until its back-off has passed. */
  private nextBuildAt = 0;
  /** Resolves start() at the first verdict. */
  private settleStart: (() => void) | undefined;
  /** The refusal of an untrusted server certificate is logged once, not at every retry. */
  private untrustedLogged = false;
  private reconnects = 0;

  constructor(
    private readonly config: OpcuaSourceConfig,
    private readonly ctx: PluginContext,
  ) {
    this.id = config.id;
    this.log = ctx.logger;
    this.clock = ctx.clock;
    this.endpoint = config.endpointUrl;
    this.items = itemsOf(config);
    this.publishingInterval = Math.min(...this.items.map((i) => i.samplingInterval));
    this.data = new DataChanges(config.id, this.log, ctx.clock, config.rejectLogInterval);
    this.refused = new RefusedItems(this.items, ctx.clock, this.log, this.endpoint, config.reconnectMax);
    this.traffic = new TrafficWatch(ctx.clock, Math.max(WATCHDOG_MIN_MS, 3 * MAX_KEEPALIVE_COUNT * this.publishingInterval));
    this.backoff = new Backoff(config.reconnectMin, config.reconnectMax);
  }

  private get pkiDir(): string {
    return isAbsolute(this.config.pkiDir) ? this.config.pkiDir : resolve(this.ctx.baseDir, this.config.pkiDir);
  }

  /** Applies `event` to the state; false (and no change) when it does not apply there. */
  private to(event: SessionEvent): boolean {
    const next = nextState(this.state, event);
    if (next === undefined) return false;
    this.state = next;
    return true;
  }

  async start(sink: SampleSink): Promise<void> {
    if (this.client !== undefined || !this.to('start')) return;
    this.data.sink = sink;
    const ua = (this.ua ??= await import('node-opcua'));
    routeNodeOpcuaLogs(ua, this.log);
    parseBrowsePaths(ua, this.config, this.items);
    const identity = await userIdentity(ua, this.config, this.ctx);
    if (this.state === 'stopped') return;
    const { client, certificates } = createClient(ua, this.config, this.pkiDir, `yieldwatch-${this.ctx.agentId}-${this.id}`);
    this.client = client;
    this.certificates = certificates;
    this.status = { status: 'down', reason: 'connecting to the server', details: { endpoint: this.endpoint } };
    client.on('backoff', (count, delay) => this.guard(() => this.onBackoff(count, delay)));
    client.on('connection_lost', () => this.guard(() => this.onConnectionLost()));
    client.on('connection_reestablished', () => this.guard(() => this.onConnectionReestablished()));
    client.on('after_reconnection', (err) => this.guard(() => this.log.debug({ err: err ?? undefined, endpoint: this.endpoint }, 'OPC UA secure channel re-established; restoring the session.')));
    client.on('reconnection_attempt_has_failed', (err, message) => this.guard(() => this.log.debug({ err, message }, 'OPC UA reconnection attempt failed.')));
    const started = new Promise<void>((res) => (this.settleStart = res));
    void this.connect(client, identity);
    this.watchdog = this.clock.setInterval(() => this.guard(() => this.checkTraffic()), Math.max(1000, this.publishingInterval));
    // Resolves at the first verdict (subscribed, or the first failed attempt): a server that is down must not hold up the agent.
    await started;
  }

  /** The first connect; node-opcua retries it for ever, so it only fails on what it will not retry (an untrusted certificate). */
  private async connect(client: Client, identity: UserIdentityInfo): Promise<void> {
    try {
      await client.connect(this.endpoint);
    } catch (err) {
      if (client !== this.client) return;
      const delay = this.failed();
      const untrusted = /BadCertificateUntrusted/.test((err as Error).message);
      const reason = untrusted
        ? `the server certificate is not trusted (it is in ${join(this.pkiDir, 'rejected')}); check its fingerprint, then run: yieldwatch opcua trust ${this.endpoint} --config <file>`
        : `cannot connect: ${(err as Error).message}`;
      this.status = { status: 'down', reason, details: { endpoint: this.endpoint, failedAttempts: this.backoff.failuresInRow, nextAttemptInMs: delay } };
      const fields = { err, endpoint: this.endpoint, retryInMs: delay };
      if (this.backoff.failuresInRow === 1 || (untrusted && !this.untrustedLogged)) {
        this.untrustedLogged ||= untrusted;
        this.log.error(fields, untrusted ? `Refused the OPC UA server: ${reason}.` : 'Cannot connect to the OPC UA server; retrying with back-off.');
      } else this.log.debug(fields, 'OPC UA connection attempt failed.');
      this.settle();
      this.retryTimer = this.clock.setTimeout(() => void this.connect(client, identity), delay);
      return;
    }
    if (client !== this.client) return;
    this.log.info({ endpoint: this.endpoint, securityMode: this.config.securityMode }, 'Connected to the OPC UA server.');
    await this.build(identity);
  }

  /** Creates a session, one subscription and every monitored item; a failure is retried after the back-off. */
  private async build(identity?: UserIdentityInfo): Promise<void> {
    const client = this.client;
    const ua = this.ua;
    if (client === undefined || ua === undefined || !this.to('build')) return;
    const gen = ++this.generation;
    try {
      identity ??= await userIdentity(ua, this.config, this.ctx);
      await this.closeSession();
      if (gen !== this.generation) return;
      this.status = { status: 'down', reason: 'creating the session', details: { endpoint: this.endpoint } };
      const session = await client.createSession(identity);
      if (gen !== this.generation) {
        await session.close().catch(() => undefined);
        return;
      }
      this.session = session;
      session.on('session_closed', (code: StatusCode) => this.guard(() => this.onSessionClosed(session, code)));
      session.on('keepalive_failure', () => this.guard(() => this.onKeepaliveFailure(session)));
      session.on('session_restored', () => this.guard(() => this.onSessionRestored(session)));
      const subscription = await session.createSubscription2({
        requestedPublishingInterval: this.publishingInterval,
        requestedLifetimeCount: LIFETIME_COUNT,
        requestedMaxKeepAliveCount: MAX_KEEPALIVE_COUNT,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 1,
      });
      if (gen !== this.generation) return;
      this.refused.clear();
      await resolveBrowsePaths(ua, session, this.items, this.refused);
      if (gen !== this.generation) return;
      this.subscription = subscription;
      subscription.on('keepalive', () => {
        this.traffic.active();
        if (this.state === 'restoring') this.guard(() => this.flowing());
      });
      subscription.on('terminated', () => this.guard(() => this.log.debug({ endpoint: this.endpoint }, 'OPC UA subscription terminated.')));
      subscription.on('internal_error', (err: Error) => this.guard(() => this.log.warn({ err }, 'OPC UA subscription internal error.')));
      this.groups = [];
      this.groups = await monitorItems(ua, subscription, this.items, (index, dv) => this.onChange(index, dv));
      for (const [index, status] of refusedMonitoredItems(this.groups)) this.refused.refuse(index, status);
      if (gen !== this.generation) return;
      this.to('built');
      this.traffic.active();
      this.backoff.reset();
      this.refused.scheduleRetry();
      this.status = this.refused.health();
      this.log.info({ endpoint: this.endpoint, items: this.items.length, refused: this.refused.size, publishingIntervalMs: this.publishingInterval }, 'Subscribed to the OPC UA server.');
    } catch (err) {
      if (gen !== this.generation) return;
      this.to('build_failed');
      const delay = this.failed();
      const reason = `session or subscription failed: ${(err as Error).message}`;
      this.status = { status: 'down', reason, details: { endpoint: this.endpoint, failedAttempts: this.backoff.failuresInRow, nextAttemptInMs: delay } };
      const user = userNameOf(this.config);
      const fields = { err, endpoint: this.endpoint, user, retryInMs: delay };
      if (this.backoff.failuresInRow === 1) {
        this.log.error(fields, `Cannot create the OPC UA session or subscription on ${this.endpoint}${user === undefined ? '' : ` as user "${user}"`}; retrying with back-off.`);
      } else this.log.debug(fields, 'OPC UA session attempt failed.');
      this.traffic.forget();
      // Retried when the back-off has passed; while node-opcua is re-creating the channel the watchdog retries instead.
      this.clock.clearTimer(this.retryTimer);
      this.retryTimer = this.clock.setTimeout(() => this.guard(() => {
        if (this.client !== undefined && this.client.isReconnecting !== true) void this.build();
      }), delay);
    } finally {
      this.settle();
    }
  }

  /** Hot path: one data change of one item. */
  private onChange(index: number, dv: DataValue): void {
    if (this.state === 'restoring') this.flowing();
    const item = this.items[index];
    if (item !== undefined) this.data.accept(item, dv);
  }

  /** Data, a keep-alive or a restored session after an outage: re-read the items' statuses and report health. */
  private flowing(): void {
    if (!this.to('flowing')) return;
    this.traffic.active();
    // After a server restart the re-created items may be refused (BadNodeIdUnknown while the server builds its address space).
    this.refused.reread(refusedMonitoredItems(this.groups));
    this.refused.scheduleRetry();
    this.status = this.refused.health();
    void this.reResolveBrowsePaths();
  }

  /**
   * After node-opcua restored the session on its own, a browse path may now lead elsewhere (a restarted
   * server that numbers its nodes anew): resolve again and rebuild the subscription when a target moved.
   */
  private async reResolveBrowsePaths(): Promise<void> {
    const session = this.session;
    if (session === undefined || this.ua === undefined || this.state === 'building' || !this.items.some((it) => it.relativePath !== undefined)) return;
    const gen = this.generation;
    try {
      const changed = await resolveBrowsePaths(this.ua, session, this.items);
      if (!changed || gen !== this.generation) return;
      this.log.info({ endpoint: this.endpoint }, 'A browse path resolves to a different NodeId after the reconnect; re-creating the subscription.');
      this.reconnects++;
      void this.build();
    } catch (err) {
      this.log.debug({ err, endpoint: this.endpoint }, 'Could not re-resolve the OPC UA browse paths; the item retry will.');
    }
  }

  private onBackoff(count: number, delay: number): void {
    this.reconnects++;
    // While subscribed the client's own retries are not news; they are when the connection was lost or never came up.
    if (this.state !== 'restoring' && this.status.status !== 'down') return;
    this.status = { status: 'down', reason: 'cannot reach the server; retrying', details: { endpoint: this.endpoint, failedAttempts: count, nextAttemptInMs: delay } };
    if (count <= 1) this.log.warn({ endpoint: this.endpoint, retryInMs: delay }, 'Cannot connect to the OPC UA server; retrying with back-off.');
    else this.log.debug({ endpoint: this.endpoint, retryInMs: delay, failedAttempts: count }, 'OPC UA connection attempt failed.');
    this.settle();
  }

  private onConnectionLost(): void {
    if (!this.to('connection_lost')) return;
    this.reconnects++;
    this.status = { status: 'down', reason: 'connection to the server lost; reconnecting', details: { endpoint: this.endpoint } };
    this.log.warn({ endpoint: this.endpoint }, 'Lost the connection to the OPC UA server; reconnecting with back-off.');
  }

  private onConnectionReestablished(): void {
    if (this.state === 'stopped') return;
    // node-opcua emits this after it has repaired the session; health is only touched if data is not flowing yet.
    if (this.state === 'restoring') this.status = { status: 'degraded', reason: 'reconnected; restoring the session and subscription', details: { endpoint: this.endpoint } };
    this.log.info({ endpoint: this.endpoint }, 'Reconnected to the OPC UA server.');
  }

  private onSessionRestored(session: ClientSession): void {
    if (this.state === 'stopped' || session !== this.session) return;
    this.log.info({ endpoint: this.endpoint }, 'OPC UA session and subscription restored.');
    this.flowing();
  }

  private onSessionClosed(session: ClientSession, code: StatusCode): void {
    if (this.state === 'stopped' || session !== this.session) return;
    this.log.warn({ endpoint: this.endpoint, status: code?.name }, 'The OPC UA session was closed; creating a new one.');
    this.status = { status: 'down', reason: `session closed: ${code?.name ?? 'unknown'}`, details: { endpoint: this.endpoint } };
    this.session = undefined;
    this.subscription = undefined;
    this.reconnects++;
    void this.build();
  }

  private onKeepaliveFailure(session: ClientSession): void {
    if (this.state === 'stopped' || session !== this.session) return;
    this.status = { status: 'degraded', reason: 'session keep-alive failed; waiting for the connection to recover', details: { endpoint: this.endpoint } };
  }

  /**
   * The safety net behind node-opcua's own repair, run by the watchdog timer: retries refused items
   * when their time has come, and rebuilds the session and subscription when the connection is up
   * but neither data nor a keep-alive has arrived for three keep-alive periods.
   */
  private checkTraffic(): void {
    // While node-opcua re-creates the secure channel it is in charge; once the channel is up, silence means its repair did not work.
    if (!watched(this.state) || this.client === undefined || this.client.isReconnecting === true) return;
    if (this.clock.now() < this.nextBuildAt) return;
    if (this.refused.takeDueRetry()) {
      this.log.debug({ endpoint: this.endpoint, refused: this.refused.size }, 'Retrying the refused OPC UA items by re-creating the subscription.');
      void this.build();
      return;
    }
    const silentFor = this.traffic.silentFor(this.data.received);
    if (silentFor === undefined) return;
    this.log.warn({ endpoint: this.endpoint, silentForMs: this.traffic.everActive ? silentFor : undefined }, 'No data or keep-alive from the OPC UA subscription; re-creating the session and subscription.');
    this.status = { status: 'degraded', reason: 'no data or keep-alive from the subscription; re-creating it', details: { endpoint: this.endpoint } };
    this.reconnects++;
    void this.build();
  }

  private async closeSession(): Promise<void> {
    const subscription = this.subscription;
    const session = this.session;
    this.subscription = undefined;
    this.session = undefined;
    if (subscription) await withTimeout(this.clock, subscription.terminate().catch(() => undefined), STOP_STEP_TIMEOUT_MS);
    if (session) {
      session.removeAllListeners();
      await withTimeout(this.clock, session.close(true).catch(() => undefined), STOP_STEP_TIMEOUT_MS);
    }
  }

  async stop(): Promise<void> {
    this.to('stop');
    this.generation++;
    this.settle();
    this.clock.clearTimer(this.watchdog);
    this.clock.clearTimer(this.retryTimer);
    this.watchdog = undefined;
    const client = this.client;
    this.client = undefined;
    try {
      await this.closeSession();
    } catch (err) {
      this.log.debug({ err }, 'The OPC UA session did not close cleanly.');
    }
    if (client) {
      try {
        await withTimeout(this.clock, client.disconnect(), STOP_STEP_TIMEOUT_MS);
      } catch (err) {
        this.log.debug({ err }, 'The OPC UA client did not disconnect cleanly.');
      }
      client.removeAllListeners();
    }
    const certificates = this.certificates;
    this.certificates = undefined;
    if (certificates) await withTimeout(this.clock, certificates.dispose().catch(() => undefined), STOP_STEP_TIMEOUT_MS);
    this.data.sink = undefined;
    this.status = { status: 'down', reason: 'stopped' };
  }

  health(): Health {
    return this.status;
  }

  counters(): OpcuaCounters {
    const d = this.data;
    return { values: d.values, rejected: d.rejected, reconnects: this.reconnects, node_errors: this.refused.count, sink_errors: d.sinkErrors };
  }

  rejectedByReason(): Readonly<Record<string, number>> {
    return this.data.rejectedByReason();
  }

  /** Counts a failed connect or build and returns the back-off before the next one. */
  private failed(): number {
    const delay = this.backoff.fail();
    this.nextBuildAt = this.clock.now() + delay;
    return delay;
  }

  private settle(): void {
    const s = this.settleStart;
    this.settleStart = undefined;
    s?.();
  }

  /** Event handlers never throw (see observe/guard.ts). */
  private guard(fn: () => void): void {
    guarded(this.log, 'Unexpected error in the OPC UA source event handler.', fn);
  }
}
