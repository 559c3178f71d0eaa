import type { Sample } from '../../core/sample.js';
import { isReasonCode } from '../../core/reasons.js';
import type { SignalName } from '../../core/signals.js';
import type { MqttTopicConfig } from './config.js';

/** Why a message did not become samples; each is a label of `yieldwatch_rejected_total`. */
export type RejectReason =
  | 'unmatched_topic'
  | 'unknown_machine'
  | 'payload_too_large'
  | 'invalid_json'
  | 'not_an_object'
  | 'no_mapped_fields'
  | 'wrong_type'
  | 'invalid_timestamp'
  | 'invalid_seq'
  | 'invalid_reason_code';

export const REJECT_REASONS: readonly RejectReason[] = [
  'unmatched_topic',
  'unknown_machine',
  'payload_too_large',
  'invalid_json',
  'not_an_object',
  'no_mapped_fields',
  'wrong_type',
  'invalid_timestamp',
  'invalid_seq',
  'invalid_reason_code',
];

type Level = 'site' | 'area' | 'line' | 'machine';

interface CompiledTopic {
  /** Per topic level: a literal to match, or the hierarchy level it captures. */
  levels: ({ literal: string } | { capture: Level })[];
  fixed: Partial<Record<Level, string>>;
  /** `kind`: a number, a string, or either (a scrap reason code, which PLCs often write as a number). */
  fields: { signal: SignalName; path: string[]; kind: 'number' | 'string' | 'code' }[];
  ts: { path: string[]; format: 'epoch_ms' | 'epoch_s' | 'iso8601' } | undefined;
  seq: string[] | undefined;
  /** Scrap counters per reason: one field per code, or one object keyed by code. */
  reasonFields: { code: string; path: string[] }[];
  reasonObject: string[] | undefined;
}

interface Route {
  topic: CompiledTopic;
  machine: string;
}

const CONTEXT = new Set(['state', 'scrap_reason', 'material', 'product']);
/** Bound on remembered topics, so random topics cannot grow memory without limit. */
const ROUTE_CACHE_MAX = 10_000;
/** Reason codes remembered per machine for `scrapByReason.object` (the KPI core keeps at most as many counters). */
const REASONS_PER_MACHINE_MAX = 256;

function compile(t: MqttTopicConfig): CompiledTopic {
  const levels = t.topic.split('/').map((seg) => {
    const m = /^\{(site|area|line|machine)\}$/.exec(seg);
    return m ? { capture: m[1] as Level } : { literal: seg };
  });
  const fields = Object.entries(t.fields)
    .map(([signal, field]) => ({
      signal: signal as SignalName,
      path: field!.split('.'),
      kind: signal === 'scrap_reason' ? ('code' as const) : CONTEXT.has(signal) ? ('string' as const) : ('number' as const),
    }))
    // The scrap reason of a message is in force for the scrap it counts, whatever the order of the mapping.
    .sort((a, b) => Number(b.signal === 'scrap_reason') - Number(a.signal === 'scrap_reason'));
  return {
    levels,
    fixed: { site: t.site, area: t.area, line: t.line },
    fields,
    ts: t.timestamp ? { path: t.timestamp.field.split('.'), format: t.timestamp.format } : undefined,
    seq: t.seqField?.split('.'),
    reasonFields: Object.entries(t.scrapByReason?.fields ?? {}).map(([code, field]) => ({ code, path: field.split('.') })),
    reasonObject: t.scrapByReason?.object?.split('.'),
  };
}

function pick(obj: Record<string, unknown>, path: readonly string[]): unknown {
  let v: unknown = obj;
  for (let i = 0; i < path.length; i++) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[path[i]!];
  }
  return v;
}

/**
 * Decodes MQTT messages into samples: topic template → machine path, JSON fields → canonical
 * signals, timestamp and sequence number. Synchronous and I/O-free: the same code serves the
 * live source and replay.
 */
export class MqttMapper {
  private readonly topics: CompiledTopic[];
  private readonly routes = new Map<string, Route | null>();

  constructor(
    topics: readonly MqttTopicConfig[],
    private readonly source: string,
    private readonly isMachine: (path: string) => boolean,
    private readonly maxPayloadBytes: number,
  ) {
    this.topics = topics.map(compile);
  }

  private route(topic: string): Route | RejectReason {
    const cached = this.routes.get(topic);
    if (cached !== undefined) return cached ?? 'unmatched_topic';
    const parts = topic.split('/');
    let found: Route | RejectReason = 'unmatched_topic';
    for (const t of this.topics) {
      if (t.levels.length !== parts.length) continue;
      const cap: Partial<Record<Level, string>> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const l = t.levels[i]!;
        const p = parts[i]!;
        if ('literal' in l) ok = l.literal === p;
        else if (p.length === 0) ok = false;
        else cap[l.capture] = p;
      }
      if (!ok) continue;
      const site = cap.site ?? t.fixed.site;
      const area = cap.area ?? t.fixed.area;
      const line = cap.line ?? t.fixed.line;
      const machine = area === undefined ? `${site}/${line}/${cap.machine}` : `${site}/${area}/${line}/${cap.machine}`;
      found = this.isMachine(machine) ? { topic: t, machine } : 'unknown_machine';
      break;
    }
    if (typeof found !== 'string') {
      if (this.routes.size >= ROUTE_CACHE_MAX) this.routes.clear();
      this.routes.set(topic, found);
    }
    return found;
  }

  /**
   * Appends the samples of one message to `out` and returns undefined, or returns why the
   * message was rejected (then nothing is appended). `machineOf` of a rejection is in `lastMachine`.
   */
  map(topic: string, payload: Buffer | string, out: Sample[]): RejectReason | undefined {
    this.lastMachine = undefined;
    const r = this.route(topic);
    if (typeof r === 'string') return r;
    this.lastMachine = r.machine;
    const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (bytes > this.maxPayloadBytes) return 'payload_too_large';
    let body: unknown;
    try {
      body = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
    } catch {
      return 'invalid_json';
    }
    return this.mapObject(r, body, out);
  }

  /** Like `map`, for a payload already parsed (replay input may hold objects). */
  mapParsed(topic: string, body: unknown, out: Sample[]): RejectReason | undefined {
    this.lastMachine = undefined;
    const r = this.route(topic);
    if (typeof r === 'string') return r;
    this.lastMachine = r.machine;
    return this.mapObject(r, body, out);
  }

  /** Machine of the last mapped message, when its topic named a known one. */
  lastMachine: string | undefined;

  /**
   * The reason codes seen in each machine's `scrapByReason.object` since start. A publisher leaves
   * out reasons that have no scrap yet, so a code that first shows up after the machine's first
   * message was at 0 until then: it gets a 0 reading just before its first value, and the KPI
   * core counts that value in full instead of taking it as a baseline.
   */
  private readonly reasonsSeen = new Map<string, Set<string>>();

  private mapObject(r: Route, body: unknown, out: Sample[]): RejectReason | undefined {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'not_an_object';
    const obj = body as Record<string, unknown>;
    const t = r.topic;
    let ts: number | undefined;
    if (t.ts) {
      const raw = pick(obj, t.ts.path);
      if (raw !== undefined && raw !== null) {
        if (t.ts.format === 'iso8601') {
          if (typeof raw !== 'string') return 'invalid_timestamp';
          ts = Date.parse(raw);
        } else {
          if (typeof raw !== 'number') return 'invalid_timestamp';
          ts = t.ts.format === 'epoch_s' ? raw * 1000 : raw;
        }
        if (!Number.isFinite(ts)) return 'invalid_timestamp';
      }
    }
    let seq: number | undefined;
    if (t.seq) {
      const raw = pick(obj, t.seq);
      if (raw !== undefined && raw !== null) {
        if (typeof raw !== 'number' || !Number.isFinite(raw)) return 'invalid_seq';
        seq = raw;
      }
    }
    const start = out.length;
    for (let i = 0; i < t.fields.length; i++) {
      const f = t.fields[i]!;
      const v = pick(obj, f.path);
      if (v === undefined || v === null) continue;
      const isNumber = typeof v === 'number' && Number.isFinite(v);
      if (f.kind === 'number' ? !isNumber : f.kind === 'string' ? typeof v !== 'string' : !isNumber && typeof v !== 'string') {
        out.length = start;
        return 'wrong_type';
      }
      out.push({ machine: r.machine, signal: f.signal, value: v as number | string, ts, seq, source: this.source });
    }
    for (let i = 0; i < t.reasonFields.length; i++) {
      const f = t.reasonFields[i]!;
      const v = pick(obj, f.path);
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        out.length = start;
        return 'wrong_type';
      }
      out.push({ machine: r.machine, signal: 'parts_scrap', value: v, ts, seq, source: this.source, reason: f.code });
    }
    if (t.reasonObject !== undefined) {
      const byCode = pick(obj, t.reasonObject);
      if (byCode !== undefined && byCode !== null) {
        if (typeof byCode !== 'object' || Array.isArray(byCode)) {
          out.length = start;
          return 'wrong_type';
        }
        let seen = this.reasonsSeen.get(r.machine);
        const first = seen === undefined;
        const reasonsAt = out.length;
        for (const code of Object.keys(byCode)) {
          const v = (byCode as Record<string, unknown>)[code];
          if (v === undefined || v === null) continue;
          if (!isReasonCode(code)) {
            out.length = start;
            return 'invalid_reason_code';
          }
          if (typeof v !== 'number' || !Number.isFinite(v)) {
            out.length = start;
            return 'wrong_type';
          }
          if (!first && !seen!.has(code) && seen!.size < REASONS_PER_MACHINE_MAX) out.push({ machine: r.machine, signal: 'parts_scrap', value: 0, ts, seq, source: this.source, reason: code });
          out.push({ machine: r.machine, signal: 'parts_scrap', value: v, ts, seq, source: this.source, reason: code });
        }
        // Remembered only once the message is accepted as a whole.
        seen ??= new Set();
        for (let i = reasonsAt; i < out.length; i++) if (seen.size < REASONS_PER_MACHINE_MAX) seen.add(out[i]!.reason!);
        this.reasonsSeen.set(r.machine, seen);
      }
    }
    if (out.length === start) return 'no_mapped_fields';
    return undefined;
  }
}
