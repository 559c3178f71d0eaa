import { isAbsolute, join, resolve } from 'node:path';
// Types only: node-opcua itself is loaded by start() (it takes a second and prints warnings at import time,
// which an agent without OPC UA sources, or `yieldwatch replay`, must not pay for).
import type {
  ClientMonitoredItemBase,
  ClientMonitoredItemGroup,
  ClientSession,
  BrowsePathResult,
  ClientSubscription,
  DataValue,
  MessageSecurityMode,
  OPCUAClient,
  RelativePath,
  SecurityPolicy,
  StatusCode,
  UserIdentityInfo,
} from 'node-opcua';
import type { Logger } from 'pino';
import { readConfigFile } from '../../core/config-file.js';
import { YieldwatchError } from '../../core/errors.js';
import type { Scheduler, TimerHandle } from '../../core/clock.js';
import type { Health } from '../../core/health.js';
import type { PluginContext, SampleSink, Source, SourceDef } from '../../core/plugin.js';
import type { Sample } from '../../core/sample.js';
import type { SignalName } from '../../core/signals.js';
import type { OpcuaSourceConfig, opcuaSourceSchema } from './config.js';
import { LogThrottle } from '../../observe/log-throttle.js';
import { guarded } from '../../observe/guard.js';

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

/** Reasons a data change is rejected (bounded label set). */
export const REJECT_REASONS = ['bad_status', 'unsupported_type'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** One configured monitored item. */
interface Item {
  machine: string;
  signal: SignalName;
  /** The configured NodeId, or the one `browsePath` resolved to at the last build (undefined: not resolved). */
  nodeId: string | undefined;
  browsePath: string | undefined;
  /** The parsed `browsePath`, ready for TranslateBrowsePathsToNodeIds. */
  relativePath: RelativePath | undefined;
  samplingInterval: number;
  queueSize: number;
}

/** How an item is named in logs and health: its NodeId, or its browse path and what it resolved to. */
function describe(item: Item): string {
  if (item.browsePath === undefined) return `NodeId ${item.nodeId}`;
  return item.nodeId === undefined ? `browse path ${item.browsePath}` : `browse path ${item.browsePath} (${item.nodeId})`;
}


const SINK_ERROR = 'sink_error';
/** Subscription keep-alive: the server sends at least one publish per this many publishing intervals. */
const MAX_KEEPALIVE_COUNT = 10;
const LIFETIME_COUNT = 60;
/** Lower bound of the no-traffic watchdog, so a short publishing interval does not cause needless rebuilds. */
const WATCHDOG_MIN_MS = 5000;
/** How long stop() waits for each of subscription, session and connection to close. */
const STOP_STEP_TIMEOUT_MS = 3000;
/** Refused items (e.g. BadNodeIdUnknown while a restarted server builds its address space) are retried by a rebuild after this, doubling. */
const ITEM_RETRY_MIN_MS = 30_000;
const ITEM_RETRY_MAX_MS = 600_000;
/** Browse paths per TranslateBrowsePathsToNodeIds request. */
const TRANSLATE_CHUNK = 50;

type NodeOpcua = typeof import('node-opcua');

function securityMode(ua: NodeOpcua, mode: OpcuaSourceConfig['securityMode']): MessageSecurityMode {
  return ua.MessageSecurityMode[mode];
}

function securityPolicy(ua: NodeOpcua, policy: OpcuaSourceConfig['securityPolicy']): SecurityPolicy {
  return ua.SecurityPolicy[policy];
}

/** Epoch ms of an OPC UA timestamp, or undefined when absent (null or the OPC UA "min date" of 1601). */
function epochMs(d: Date | null | undefined): number | undefined {
  if (!d) return undefined;
  const t = d.getTime();
  return Number.isFinite(t) && t > 0 ? t : undefined;
}

/** A sample value from a variant value: numbers (Int64 as [high, low] too), strings, LocalizedText, booleans as 0/1. */
export function toSampleValue(v: unknown): number | string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') {
    // node-opcua's (U)Int64: [high, low] 32-bit words.
    return v[0] * 0x1_0000_0000 + (v[1] >>> 0);
  }
  if (v !== null && typeof v === 'object' && 'text' in v) {
    const text = (v as { text?: unknown }).text;
    return typeof text === 'string' ? text : undefined;
  }
  return undefined;
}

function withTimeout<T>(clock: Scheduler, p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: TimerHandle | undefined;
  return Promise.race([
    p,
    new Promise<undefined>((res) => {
      timer = clock.setTimeout(() => res(undefined), ms);
    }),
  ]).finally(() => clock.clearTimer(timer));
}

function pemToDer(pem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  return Buffer.from((m ? m[1]! : pem).replace(/\s+/g, ''), 'base64');
}

class OpcuaSourceImpl implements OpcuaSource {
  readonly type = 'opcua';
  readonly id: string;
  private readonly log: Logger;
  private readonly items: Item[] = [];
  private readonly publishingInterval: number;
  private readonly batch: Sample[] = [];
  private ua: NodeOpcua | undefined;
  private certificateManager: { dispose(): Promise<void> } | undefined;
  private client: OPCUAClient | undefined;
  private session: ClientSession | undefined;
  private subscription: ClientSubscription | undefined;
  private sink: SampleSink | undefined;
  private status: Health = { status: 'down', reason: 'not started' };
  private stopped = true;
  /** Bumped per session build, so callbacks of an older session are ignored. */
  private generation = 0;
  private building = false;
  private lastActivity = 0;
  /** Data changes received, and the count the watchdog saw last. */
  private changes = 0;
  private changesSeen = 0;
  private watchdog: TimerHandle | undefined;
  private settleStart: (() => void) | undefined;
  /** Items the server refused at the last build, by index in `items`. */
  private readonly failedItems = new Map<number, string>();
  /** (machine, signal, nodeId, status) combinations already logged, so a refusal is logged once, not at every rebuild. */
  private readonly loggedNodeErrors = new Set<string>();
  private connectionLost = false;
  /** The refusal of an untrusted server certificate is logged once, not at every retry. */
  private untrustedLogged = false;
  /** True from a lost connection until data or a keep-alive flows again. */
  private restoring = false;
  /** The monitored item groups of the current subscription, with the index in `items` of each member. */
  /** Failed session builds (or initial connects) in a row, for back-off and for logging only the first. */
  private buildFailures = 0;
  private nextBuildAt = 0;
  private retryTimer: TimerHandle | undefined;
  private itemRetryDelay = 0;
  private nextItemRetryAt = Infinity;
  private groups: { group: ClientMonitoredItemGroup; indexes: number[] }[] = [];
  private values = 0;
  private rejected = 0;
  private reconnects = 0;
  private nodeErrors = 0;
  private sinkErrors = 0;
  private readonly byReason: Record<string, number> = Object.create(null) as Record<string, number>;
  private readonly throttle: LogThrottle;

  constructor(
    private readonly config: OpcuaSourceConfig,
    private readonly ctx: PluginContext,
  ) {
    this.id = config.id;
    this.log = ctx.logger;
    this.throttle = new LogThrottle(ctx.clock, config.rejectLogInterval);
    for (const m of config.machines) {
      for (const [signal, s] of Object.entries(m.signals)) {
        if (s === undefined) continue;
        this.items.push({
          machine: m.machine,
          signal: signal as SignalName,
          nodeId: s.nodeId,
          browsePath: s.browsePath,
          relativePath: undefined,
          samplingInterval: s.samplingInterval ?? config.samplingInterval,
          queueSize: s.queueSize ?? config.queueSize,
        });
      }
    }
    this.publishingInterval = Math.min(...this.items.map((i) => i.samplingInterval));
  }

  private get pkiDir(): string {
    return isAbsolute(this.config.pkiDir) ? this.config.pkiDir : resolve(this.ctx.baseDir, this.config.pkiDir);
  }

  async start(sink: SampleSink): Promise<void> {
    if (this.client) return;
    this.sink = sink;
    this.stopped = false;
    const c = this.config;
    const insecure = c.securityMode === 'None';
    const pkiDir = this.pkiDir;
    const ua = (this.ua ??= await import('node-opcua'));
    this.parseBrowsePaths(ua);
    const identity = await this.userIdentity();
    if (this.stopped) return;
    const certificateManager = new ua.OPCUACertificateManager({
      rootFolder: pkiDir,
      // Unknown server certificates land in `rejected/` and are refused until moved to `trusted/` (the library default differs).
      automaticallyAcceptUnknownCertificate: false,
    });
    this.certificateManager = certificateManager;
    this.status = { status: 'down', reason: 'connecting to the server', details: { endpoint: c.endpointUrl } };
    const client = ua.OPCUAClient.create({
      applicationName: 'yieldwatch',
      clientName: `yieldwatch-${this.ctx.agentId}-${c.id}`,
      securityMode: securityMode(ua, c.securityMode),
      // A mode of None only works with the policy None.
      securityPolicy: securityPolicy(ua, insecure ? 'None' : c.securityPolicy),
      endpointMustExist: false,
      keepSessionAlive: true,
      clientCertificateManager: certificateManager,
      requestedSessionTimeout: 60_000,
      connectionStrategy: { initialDelay: c.reconnectMin, maxDelay: c.reconnectMax, maxRetry: -1 },
    });
    this.client = client;
    client.on('backoff', (count, delay) => this.guard(() => this.onBackoff(count, delay)));
    client.on('connection_lost', () => this.guard(() => this.onConnectionLost()));
    client.on('connection_reestablished', () => this.guard(() => this.onConnectionReestablished()));
    client.on('after_reconnection', (err) => this.guard(() => this.onAfterReconnection(err ?? undefined)));
    client.on('reconnection_attempt_has_failed', (err, message) =>
      this.guard(() => this.log.debug({ err, message }, 'OPC UA reconnection attempt failed.')),
    );
    const started = new Promise<void>((res) => (this.settleStart = res));
    void this.run(client, identity);
    this.watchdog = this.ctx.clock.setInterval(() => this.guard(() => this.checkTraffic()), Math.max(1000, this.publishingInterval));
    // Resolves at the first verdict (subscribed, or the first failed attempt): a server that is down must not hold up the agent.
    await started;
  }

  private async run(client: OPCUAClient, identity: UserIdentityInfo): Promise<void> {
    try {
      // With maxRetry -1 this only returns once connected (node-opcua retries with back-off, emitting 'backoff').
      await client.connect(this.config.endpointUrl);
    } catch (err) {
      if (this.stopped || client !== this.client) return;
      const delay = this.failed();
      const untrusted = /BadCertificateUntrusted/.test((err as Error).message);
      const reason = untrusted
        ? `the server certificate is not trusted (it is in ${join(this.pkiDir, 'rejected')}); check its fingerprint, then run: yieldwatch opcua trust ${this.config.endpointUrl} --config <file>`
        : `cannot connect: ${(err as Error).message}`;
      this.status = { status: 'down', reason, details: { endpoint: this.config.endpointUrl, failedAttempts: this.buildFailures, nextAttemptInMs: delay } };
      if (this.buildFailures === 1 || (untrusted && !this.untrustedLogged)) {
        this.untrustedLogged ||= untrusted;
        this.log.error({ err, endpoint: this.config.endpointUrl, retryInMs: delay }, untrusted ? `Refused the OPC UA server: ${reason}.` : 'Cannot connect to the OPC UA server; retrying with back-off.');
      }
      else this.log.debug({ err, endpoint: this.config.endpointUrl, retryInMs: delay }, 'OPC UA connection attempt failed.');
      this.settle();
      this.retryTimer = this.ctx.clock.setTimeout(() => void this.run(client, identity), delay);
      return;
    }
    if (this.stopped || client !== this.client) return;
    this.log.info({ endpoint: this.config.endpointUrl, securityMode: this.config.securityMode }, 'Connected to the OPC UA server.');
    await this.build(identity);
  }

  /** Creates a session, one subscription and every monitored item; retries on failure while started. */
  private async build(identity?: UserIdentityInfo): Promise<void> {
    const client = this.client;
    if (!client || this.stopped || this.building) return;
    this.building = true;
    const gen = ++this.generation;
    try {
      identity ??= await this.userIdentity();
      await this.closeSession();
      if (this.stopped || gen !== this.generation) return;
      this.status = { status: 'down', reason: 'creating the session', details: { endpoint: this.config.endpointUrl } };
      const session = await client.createSession(identity);
      if (this.stopped || gen !== this.generation) {
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
      if (this.stopped || gen !== this.generation) return;
      this.failedItems.clear();
      await this.resolveBrowsePaths(session);
      if (this.stopped || gen !== this.generation) return;
      this.subscription = subscription;
      subscription.on('keepalive', () => {
        this.lastActivity = this.ctx.clock.now();
        if (this.restoring) this.guard(() => this.markFlowing());
      });
      subscription.on('terminated', () => this.guard(() => this.log.debug({ endpoint: this.config.endpointUrl }, 'OPC UA subscription terminated.')));
      subscription.on('internal_error', (err: Error) => this.guard(() => this.log.warn({ err }, 'OPC UA subscription internal error.')));
      await this.monitorAll(subscription);
      if (this.stopped || gen !== this.generation) return;
      this.lastActivity = this.ctx.clock.now();
      this.connectionLost = false;
      this.restoring = false;
      this.buildFailures = 0;
      this.scheduleItemRetry();
      this.updateHealth();
      this.log.info(
        { endpoint: this.config.endpointUrl, items: this.items.length, refused: this.failedItems.size, publishingIntervalMs: this.publishingInterval },
        'Subscribed to the OPC UA server.',
      );
    } catch (err) {
      if (this.stopped || gen !== this.generation) return;
      const delay = this.failed();
      const reason = `session or subscription failed: ${(err as Error).message}`;
      this.status = { status: 'down', reason, details: { endpoint: this.config.endpointUrl, failedAttempts: this.buildFailures, nextAttemptInMs: delay } };
      const fields = { err, endpoint: this.config.endpointUrl, user: this.userName(), retryInMs: delay };
      const user = this.userName();
      if (this.buildFailures === 1) {
        this.log.error(fields, `Cannot create the OPC UA session or subscription on ${this.config.endpointUrl}${user === undefined ? '' : ` as user "${user}"`}; retrying with back-off.`);
      } else this.log.debug(fields, 'OPC UA session attempt failed.');
      this.lastActivity = 0;
      // Retried when the back-off has passed; while node-opcua is re-creating the channel the watchdog retries instead.
      this.ctx.clock.clearTimer(this.retryTimer);
      this.retryTimer = this.ctx.clock.setTimeout(() => this.guard(() => {
        const c = this.client as (OPCUAClient & { isReconnecting?: boolean }) | undefined;
        if (c !== undefined && c.isReconnecting !== true) void this.build();
      }), delay);
    } finally {
      this.building = false;
      this.settle();
    }
  }

  /** Monitors every item, one group per (sampling interval, queue size); refused items are logged once and counted. */
  private async monitorAll(subscription: ClientSubscription): Promise<void> {
    const ua = this.ua!;
    this.groups = [];
    const groups = new Map<string, number[]>();
    this.items.forEach((item, i) => {
      // Unresolved browse paths are already in failedItems; a later rebuild retries them.
      if (item.nodeId === undefined) return;
      const key = `${item.samplingInterval}/${item.queueSize}`;
      const list = groups.get(key);
      if (list) list.push(i);
      else groups.set(key, [i]);
    });
    for (const indexes of groups.values()) {
      const first = this.items[indexes[0]!]!;
      const group = ua.ClientMonitoredItemGroup.create(
        subscription,
        indexes.map((i) => ({ nodeId: this.items[i]!.nodeId!, attributeId: ua.AttributeIds.Value })),
        { samplingInterval: first.samplingInterval, queueSize: first.queueSize, discardOldest: true },
        ua.TimestampsToReturn.Both,
      );
      group.on('changed', (_mi: ClientMonitoredItemBase, dv: DataValue, index: number) => this.onChange(indexes[index]!, dv));
      await new Promise<void>((res, rej) => {
        group.once('initialized', () => res());
        group.once('terminated', (err?: Error) => (err ? rej(err) : res()));
      });
      this.groups.push({ group, indexes });
      group.monitoredItems.forEach((mi, k) => {
        if (!mi.statusCode.isGood()) this.onItemRefused(indexes[k]!, mi.statusCode.name);
      });
    }
  }

  /** Checks every browse path's syntax once, before the first connect; a bad one is a config error naming its key. */
  private parseBrowsePaths(ua: NodeOpcua): void {
    this.config.machines.forEach((m, j) => {
      for (const item of this.items) {
        if (item.machine !== m.machine || item.browsePath === undefined || item.relativePath !== undefined) continue;
        try {
          item.relativePath = ua.makeRelativePath(item.browsePath);
        } catch (err) {
          throw new YieldwatchError(
            'YW_ERR_CONFIG_INVALID',
            `OPC UA source "${this.id}": machines[${j}].signals.${item.signal}.browsePath: "${item.browsePath}" is not an OPC UA browse path (${(err as Error).message}); expected e.g. "/Objects/1:Machines/1:press1/1:GoodCount"`,
            { cause: err },
          );
        }
      }
    });
  }

  /**
   * Translates every browse path to its NodeId on `session` (one call). An unresolved path is a refused
   * item, retried by a later rebuild. Returns true when some item now has a different NodeId than before.
   */
  private async resolveBrowsePaths(session: ClientSession, markRefused = true): Promise<boolean> {
    const ua = this.ua!;
    const indexes = this.items.flatMap((it, i) => (it.relativePath === undefined ? [] : [i]));
    if (indexes.length === 0) return false;
    // In chunks: servers cap the paths per request (MaxNodesPerTranslateBrowsePathsToNodeIds), often at 100 or more.
    const results: BrowsePathResult[] = [];
    for (let k = 0; k < indexes.length; k += TRANSLATE_CHUNK) {
      const chunk = indexes.slice(k, k + TRANSLATE_CHUNK);
      results.push(...(await session.translateBrowsePath(chunk.map((i) => new ua.BrowsePath({ startingNode: ua.resolveNodeId('RootFolder'), relativePath: this.items[i]!.relativePath })))));
    }
    let changed = false;
    indexes.forEach((index, k) => {
      const r = results[k];
      const item = this.items[index]!;
      const target = r !== undefined && r.statusCode.isGood() ? r.targets?.[0]?.targetId : undefined;
      const nodeId = target === undefined ? undefined : target.toString();
      if (nodeId !== item.nodeId) changed = true;
      if (!markRefused) return;
      item.nodeId = nodeId;
      if (nodeId === undefined) this.onItemRefused(index, r?.statusCode.name ?? 'BadNoMatch');
    });
    return changed;
  }

  /**
   * After node-opcua restored the session on its own, a browse path may now lead elsewhere (a restarted
   * server that numbers its nodes anew): resolve again and rebuild the subscription when a target moved.
   */
  private async reResolveBrowsePaths(): Promise<void> {
    const session = this.session;
    if (session === undefined || this.building || !this.items.some((it) => it.relativePath !== undefined)) return;
    const gen = this.generation;
    try {
      const changed = await this.resolveBrowsePaths(session, false);
      if (!changed || this.stopped || gen !== this.generation) return;
      this.log.info({ endpoint: this.config.endpointUrl }, 'A browse path resolves to a different NodeId after the reconnect; re-creating the subscription.');
      this.reconnects++;
      void this.build();
    } catch (err) {
      this.log.debug({ err, endpoint: this.config.endpointUrl }, 'Could not re-resolve the OPC UA browse paths; the item retry will.');
    }
  }

  private onItemRefused(index: number, status: string): void {
    const item = this.items[index]!;
    this.nodeErrors++;
    this.failedItems.set(index, status);
    const key = `${index}/${item.nodeId ?? ''}/${status}`;
    if (this.loggedNodeErrors.has(key)) return;
    this.loggedNodeErrors.add(key);
    this.log.error(
      { machine: item.machine, signal: item.signal, nodeId: item.nodeId, browsePath: item.browsePath, status, endpoint: this.config.endpointUrl },
      `OPC UA server refused ${describe(item)} (machine ${item.machine}, signal ${item.signal}): ${status}; the other signals keep working.`,
    );
  }

  /** While some items are refused, plans a rebuild that retries them (30 s doubling to 10 min); none when all are monitored. */
  private scheduleItemRetry(): void {
    if (this.failedItems.size === 0) {
      this.itemRetryDelay = 0;
      this.nextItemRetryAt = Infinity;
      return;
    }
    this.itemRetryDelay = this.itemRetryDelay === 0 ? Math.max(ITEM_RETRY_MIN_MS, this.config.reconnectMax) : Math.min(this.itemRetryDelay * 2, ITEM_RETRY_MAX_MS);
    this.nextItemRetryAt = this.ctx.clock.now() + this.itemRetryDelay;
  }

  private updateHealth(): void {
    const details: Record<string, unknown> = { endpoint: this.config.endpointUrl, items: this.items.length };
    if (this.failedItems.size === 0) {
      this.status = { status: 'ok', details };
      return;
    }
    const refused = [...this.failedItems].map(([i, status]) => {
      const it = this.items[i]!;
      return `${it.machine} ${it.signal} ${describe(it)}: ${status}`;
    });
    this.status = {
      status: this.failedItems.size === this.items.length ? 'down' : 'degraded',
      reason: `the server refused ${refused.length} of ${this.items.length} monitored items: ${refused.join('; ')}`,
      details: { ...details, refused },
    };
  }

  /** Hot path: one data change of one item. */
  private onChange(index: number, dv: DataValue): void {
    // Counted, not timed: the watchdog turns "changes since my last look" into an activity time.
    this.changes++;
    if (this.restoring) this.markFlowing();
    const sink = this.sink;
    if (sink === undefined) return;
    const item = this.items[index];
    if (item === undefined) return;
    try {
      if (!dv.statusCode.isGood()) {
        this.rejectValue('bad_status', item, dv.statusCode.name);
        sink.reject('bad_status', item.machine);
        return;
      }
      const value = toSampleValue(dv.value?.value);
      if (value === undefined) {
        this.rejectValue('unsupported_type', item, String(dv.value?.dataType));
        sink.reject('unsupported_type', item.machine);
        return;
      }
      const batch = this.batch;
      batch.push({ machine: item.machine, signal: item.signal, value, ts: epochMs(dv.sourceTimestamp) ?? epochMs(dv.serverTimestamp), source: this.id });
      this.values++;
      sink.samples(batch);
    } catch (err) {
      this.sinkErrors++;
      if (this.throttle.due(SINK_ERROR)) {
        this.log.error({ err, machine: item.machine, signal: item.signal, count: this.throttle.take(SINK_ERROR) }, 'An OPC UA value could not be handed to the pipeline and was dropped; this is a bug.');
      }
    } finally {
      this.batch.length = 0;
    }
  }

  private rejectValue(reason: RejectReason, item: Item, detail: string): void {
    this.rejected++;
    this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
    if (this.throttle.due(reason)) {
      this.log.warn(
        { reason, machine: item.machine, signal: item.signal, nodeId: item.nodeId, browsePath: item.browsePath, detail, count: this.throttle.take(reason) },
        `Rejected an OPC UA value (${reason}); further "${reason}" rejections are counted and logged at most once per rejectLogInterval.`,
      );
    }
  }



  private onBackoff(count: number, delay: number): void {
    this.reconnects++;
    if (!this.connectionLost && this.status.status !== 'down') return;
    this.status = { status: 'down', reason: 'cannot reach the server; retrying', details: { endpoint: this.config.endpointUrl, failedAttempts: count, nextAttemptInMs: delay } };
    if (count <= 1) this.log.warn({ endpoint: this.config.endpointUrl, retryInMs: delay }, 'Cannot connect to the OPC UA server; retrying with back-off.');
    else this.log.debug({ endpoint: this.config.endpointUrl, retryInMs: delay, failedAttempts: count }, 'OPC UA connection attempt failed.');
    this.settle();
  }

  private onConnectionLost(): void {
    if (this.stopped) return;
    this.connectionLost = true;
    this.restoring = true;
    this.reconnects++;
    this.status = { status: 'down', reason: 'connection to the server lost; reconnecting', details: { endpoint: this.config.endpointUrl } };
    this.log.warn({ endpoint: this.config.endpointUrl }, 'Lost the connection to the OPC UA server; reconnecting with back-off.');
  }

  private onConnectionReestablished(): void {
    if (this.stopped) return;
    // node-opcua emits this after it has repaired the session; health is only touched if data is not flowing yet.
    if (this.restoring) this.status = { status: 'degraded', reason: 'reconnected; restoring the session and subscription', details: { endpoint: this.config.endpointUrl } };
    this.log.info({ endpoint: this.config.endpointUrl }, 'Reconnected to the OPC UA server.');
  }

  /** A new secure channel is up; node-opcua now reactivates the session, or creates a new one and re-creates the subscription. */
  private onAfterReconnection(err: Error | undefined): void {
    if (this.stopped) return;
    this.log.debug({ err, endpoint: this.config.endpointUrl }, 'OPC UA secure channel re-established; restoring the session.');
  }

  private onSessionRestored(session: ClientSession): void {
    if (this.stopped || session !== this.session) return;
    this.log.info({ endpoint: this.config.endpointUrl }, 'OPC UA session and subscription restored.');
    this.markFlowing();
  }

  /** Data or a keep-alive arrived after an outage (or the session was restored): re-read item statuses and report health. */
  private markFlowing(): void {
    this.restoring = false;
    this.connectionLost = false;
    this.lastActivity = this.ctx.clock.now();
    // After a server restart the re-created items may be refused (BadNodeIdUnknown while the server builds its address space).
    const stillFailing = new Map<number, string>();
    // Unresolved browse paths have no monitored item; they stay refused until a rebuild resolves them.
    for (const [i, st] of this.failedItems) if (this.items[i]!.nodeId === undefined) stillFailing.set(i, st);
    for (const { group, indexes } of this.groups) {
      group.monitoredItems.forEach((mi, k) => {
        const index = indexes[k]!;
        if (mi.statusCode.isGood()) return;
        if (this.failedItems.has(index)) stillFailing.set(index, this.failedItems.get(index)!);
        else {
          this.onItemRefused(index, mi.statusCode.name);
          stillFailing.set(index, mi.statusCode.name);
        }
      });
    }
    this.failedItems.clear();
    for (const [i, st] of stillFailing) this.failedItems.set(i, st);
    this.scheduleItemRetry();
    this.updateHealth();
    void this.reResolveBrowsePaths();
  }

  private onSessionClosed(session: ClientSession, code: StatusCode): void {
    if (this.stopped || session !== this.session) return;
    this.log.warn({ endpoint: this.config.endpointUrl, status: code?.name }, 'The OPC UA session was closed; creating a new one.');
    this.status = { status: 'down', reason: `session closed: ${code?.name ?? 'unknown'}`, details: { endpoint: this.config.endpointUrl } };
    this.session = undefined;
    this.subscription = undefined;
    this.reconnects++;
    void this.build();
  }

  private onKeepaliveFailure(session: ClientSession): void {
    if (this.stopped || session !== this.session) return;
    this.status = { status: 'degraded', reason: 'session keep-alive failed; waiting for the connection to recover', details: { endpoint: this.config.endpointUrl } };
  }

  /**
   * The safety net behind node-opcua's own repair: when the connection is up but neither data nor a
   * subscription keep-alive has arrived for three keep-alive periods, the session and subscription are rebuilt.
   */
  private checkTraffic(): void {
    const client = this.client as (OPCUAClient & { isReconnecting?: boolean }) | undefined;
    // While node-opcua re-creates the secure channel it is in charge; once the channel is up, silence means its repair did not work.
    if (this.stopped || !client || this.building || client.isReconnecting === true) return;
    if (this.generation === 0) return; // still connecting for the first time
    if (this.ctx.clock.now() < this.nextBuildAt) return;
    if (this.ctx.clock.now() >= this.nextItemRetryAt) {
      this.log.debug({ endpoint: this.config.endpointUrl, refused: this.failedItems.size }, 'Retrying the refused OPC UA items by re-creating the subscription.');
      this.nextItemRetryAt = Infinity;
      void this.build();
      return;
    }
    if (this.changes !== this.changesSeen) {
      this.changesSeen = this.changes;
      this.lastActivity = this.ctx.clock.now();
    }
    const silentFor = this.ctx.clock.now() - this.lastActivity;
    const limit = Math.max(WATCHDOG_MIN_MS, 3 * MAX_KEEPALIVE_COUNT * this.publishingInterval);
    if (silentFor < limit) return;
    this.log.warn({ endpoint: this.config.endpointUrl, silentForMs: this.lastActivity > 0 ? silentFor : undefined }, 'No data or keep-alive from the OPC UA subscription; re-creating the session and subscription.');
    this.status = { status: 'degraded', reason: 'no data or keep-alive from the subscription; re-creating it', details: { endpoint: this.config.endpointUrl } };
    this.reconnects++;
    void this.build();
  }

  private async closeSession(): Promise<void> {
    const subscription = this.subscription;
    const session = this.session;
    this.subscription = undefined;
    this.session = undefined;
    if (subscription) await withTimeout(this.ctx.clock, subscription.terminate().catch(() => undefined), STOP_STEP_TIMEOUT_MS);
    if (session) {
      session.removeAllListeners();
      await withTimeout(this.ctx.clock, session.close(true).catch(() => undefined), STOP_STEP_TIMEOUT_MS);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    this.settle();
    this.ctx.clock.clearTimer(this.watchdog);
    this.ctx.clock.clearTimer(this.retryTimer);
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
        await withTimeout(this.ctx.clock, client.disconnect(), STOP_STEP_TIMEOUT_MS);
      } catch (err) {
        this.log.debug({ err }, 'The OPC UA client did not disconnect cleanly.');
      }
      client.removeAllListeners();
    }
    const cm = this.certificateManager;
    this.certificateManager = undefined;
    if (cm) await withTimeout(this.ctx.clock, cm.dispose().catch(() => undefined), STOP_STEP_TIMEOUT_MS);
    this.sink = undefined;
    this.status = { status: 'down', reason: 'stopped' };
  }

  health(): Health {
    return this.status;
  }

  counters(): OpcuaCounters {
    return { values: this.values, rejected: this.rejected, reconnects: this.reconnects, node_errors: this.nodeErrors, sink_errors: this.sinkErrors };
  }

  rejectedByReason(): Readonly<Record<string, number>> {
    return { ...this.byReason };
  }

  private async userIdentity(): Promise<UserIdentityInfo> {
    const { UserTokenType } = this.ua!;
    const u = this.config.userIdentity;
    if (u.type === 'anonymous') return { type: UserTokenType.Anonymous };
    if (u.type === 'userName') return { type: UserTokenType.UserName, userName: u.userName, password: u.password };
    const cert = await this.readFileFor('user certificate', u.certificateFile);
    const key = await this.readFileFor('user private key', u.privateKeyFile);
    const text = cert.toString('latin1');
    return {
      type: UserTokenType.Certificate,
      certificateData: text.includes('-----BEGIN') ? pemToDer(text) : cert,
      privateKey: key.toString('utf8'),
    };
  }

  private readFileFor(what: string, file: string): Promise<Buffer> {
    return readConfigFile(this.ctx, `OPC UA source "${this.id}"`, what, file);
  }

  /** Counts a failed attempt and returns the back-off before the next one. */
  private failed(): number {
    this.buildFailures++;
    const delay = Math.min(this.config.reconnectMin * 2 ** Math.min(this.buildFailures - 1, 20), this.config.reconnectMax);
    this.nextBuildAt = this.ctx.clock.now() + delay;
    return delay;
  }

  private userName(): string | undefined {
    const u = this.config.userIdentity;
    return u.type === 'userName' ? u.userName : undefined;
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

/** The `opcua` source: one session and subscription per server, every configured NodeId monitored. */
export const opcuaSource = {
  type: 'opcua',
  config: () => import('./config.js').then((m) => m.opcuaSourceSchema),
  create(config: OpcuaSourceConfig, ctx: PluginContext): OpcuaSource {
    return new OpcuaSourceImpl(config, ctx);
  },
} satisfies SourceDef<typeof opcuaSourceSchema>;
