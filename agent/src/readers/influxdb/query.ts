import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { CentralConfig } from '../../config/schema.js';
import { post } from '../../sinks/http.js';

/** One series of an InfluxQL answer: its tags, its columns (`time` first) and rows. */
export interface InfluxSeries {
  name: string;
  tags: Record<string, string>;
  columns: string[];
  values: (number | string | null)[][];
}

/** A query answer larger than this is refused: a view that needs more must ask for less (30 days of 1-minute windows of one machine are about 30 MB). */
const MAX_ANSWER_BYTES = 128 * 1024 * 1024;

/** InfluxDB understood the request and refused it (a query it cannot parse): our error, not an outage. */
class QueryRefused extends Error {}

/** `"name"` for InfluxQL. */
export function ident(name: string): string {
  return `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** `'value'` for InfluxQL. */
export function literal(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/**
 * InfluxQL over the v1 `/query` API (InfluxDB 1.x, 2.x with a DBRP mapping, 3 Core), with the
 * sink's authentication; the query goes in the form body (not into proxy logs), times as epoch ms.
 */
export class InfluxQuery {
  private readonly base: URL;
  private readonly ca: Buffer | undefined;
  /** What the queries so far did, for health and metrics. */
  readonly stats = { queries: 0, failures: 0, seconds: 0, lastError: undefined as string | undefined, lastOk: true };

  constructor(
    private readonly cfg: CentralConfig['influxdb'],
    baseDir: string,
  ) {
    this.base = new URL(cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`);
    const caFile = cfg.tls.caFile;
    this.ca = caFile === undefined ? undefined : readFileSync(isAbsolute(caFile) ? caFile : resolve(baseDir, caFile));
  }

  get url(): string {
    return this.base.origin;
  }

  /** The series of each statement (`;`-separated), in order; an error of InfluxDB is thrown with its message. */
  async run(q: string): Promise<InfluxSeries[][]> {
    const t0 = performance.now();
    this.stats.queries++;
    try {
      const out = await this.send(q);
      this.stats.lastOk = true;
      return out;
    } catch (err) {
      this.stats.failures++;
      if (err instanceof QueryRefused) throw Object.assign(new Error(`The central dashboard asked InfluxDB something it refused: ${err.message}`, { cause: err }), { statusCode: 500 });
      this.stats.lastOk = false;
      this.stats.lastError = (err as Error).message;
      // The API answers 503 with the reason: the dashboard is up, what it reads is not.
      throw Object.assign(new Error(`The central dashboard cannot read InfluxDB: ${(err as Error).message}`, { cause: err }), { statusCode: 503 });
    } finally {
      this.stats.seconds += (performance.now() - t0) / 1000;
    }
  }

  private async send(q: string): Promise<InfluxSeries[][]> {
    const params = new URLSearchParams({ db: this.cfg.database, epoch: 'ms', q });
    if (this.cfg.retentionPolicy !== undefined) params.set('rp', this.cfg.retentionPolicy);
    const headers: Record<string, string | number> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const auth = this.cfg.auth;
    if (auth.type === 'password') headers.authorization = `Basic ${Buffer.from(`${auth.userName}:${auth.password}`).toString('base64')}`;
    if (auth.type === 'token') headers.authorization = `Token ${auth.token}`;
    const res = await post(new URL('query', this.base), Buffer.from(params.toString()), { headers, timeoutMs: this.cfg.timeout, ca: this.ca, rejectUnauthorized: this.cfg.tls.rejectUnauthorized, maxAnswerBytes: MAX_ANSWER_BYTES });
    let body: { error?: string; results?: { error?: string; partial?: boolean; series?: InfluxSeries[] }[] };
    try {
      body = JSON.parse(res.body) as typeof body;
    } catch {
      throw new Error(`InfluxDB at ${this.base.origin} answered ${res.status} with no JSON: ${res.body.slice(0, 200)}`);
    }
    const error = body.error ?? body.results?.find((r) => r.error !== undefined)?.error;
    if (res.status === 400 || /error parsing query/.test(error ?? '')) throw new QueryRefused(`InfluxDB at ${this.base.origin} answered ${res.status}: ${error ?? res.body.slice(0, 200)}`);
    if (res.status >= 300 || error !== undefined) throw new Error(`InfluxDB at ${this.base.origin} answered ${res.status}: ${error ?? res.body.slice(0, 200)}`);
    // A server with max-row-limit cuts an answer short and says so: sums over part of the windows would be wrong numbers.
    if (body.results?.some((r) => r.partial === true)) throw new Error(`InfluxDB at ${this.base.origin} cut the answer short (partial): raise its max-row-limit, or ask for a shorter span`);
    return (body.results ?? []).map((r) => r.series ?? []);
  }
}

/** Each row of some series as an object of its columns and the series' tags. */
export function* rowsOf(series: readonly InfluxSeries[]): Generator<{ tags: Record<string, string>; row: Record<string, number | string | null> }> {
  for (const s of series) {
    for (const v of s.values) {
      const row: Record<string, number | string | null> = {};
      for (let i = 0; i < s.columns.length; i++) row[s.columns[i]!] = v[i] ?? null;
      yield { tags: s.tags ?? {}, row };
    }
  }
}
