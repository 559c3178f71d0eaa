import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Health } from '../core/health.js';
import { SinkError } from '../core/sink.js';

/** Most of an answer body kept: an error page must not fill memory. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface HttpAnswer {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

export interface PostOptions {
  headers: Record<string, string | number>;
  timeoutMs: number;
  ca?: Buffer | undefined;
  rejectUnauthorized?: boolean | undefined;
  /** Read the whole answer up to this many bytes, and fail beyond (a query's result); default: keep the first 64 KiB (an error page). */
  maxAnswerBytes?: number | undefined;
}

/**
 * One POST with a bounded wait and a bounded answer. A connection or timeout failure is a
 * retryable SinkError; any HTTP answer resolves (the sink decides what its status means).
 */
export function post(url: URL, body: Buffer, o: PostOptions): Promise<HttpAnswer> {
  const https = url.protocol === 'https:';
  const opts: RequestOptions & { ca?: Buffer; rejectUnauthorized?: boolean } = {
    method: 'POST',
    headers: { ...o.headers, 'content-length': body.length },
    timeout: o.timeoutMs,
  };
  if (https) {
    if (o.ca !== undefined) opts.ca = o.ca;
    if (o.rejectUnauthorized !== undefined) opts.rejectUnauthorized = o.rejectUnauthorized;
  }
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (o.maxAnswerBytes !== undefined && size + c.length > o.maxAnswerBytes) {
          req.destroy(new Error(`the answer is larger than ${o.maxAnswerBytes} bytes`));
          return;
        }
        if (o.maxAnswerBytes !== undefined || size < MAX_ANSWER_BYTES) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', (err) => reject(new SinkError('retryable', `reading the answer of ${url.origin} failed: ${err.message}`, { cause: err })));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
    req.on('error', (err) => reject(new SinkError('retryable', `${url.origin}: ${err.message}`, { cause: err })));
    req.end(body);
  });
}

/** Milliseconds of a Retry-After header (seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** What an answer means: 2xx delivered; 408, 429 and 5xx retried; 401, 403, 404 blocked; other 4xx refused (dead letter). */
export function classifyAnswer(status: number, body: string, retryAfterMs: number | undefined): SinkError | undefined {
  if (status >= 200 && status < 300) return undefined;
  const text = body.trim().slice(0, 500);
  const msg = `HTTP ${status}${text ? `: ${text}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) return new SinkError('retryable', msg, { status, retryAfterMs });
  if (status === 401 || status === 403 || status === 404 || status === 410) return new SinkError('blocked', `${msg} (check the webhook URL and its credentials)`, { status });
  if (status >= 400) return new SinkError('malformed', msg, { status });
  return new SinkError('retryable', msg, { status });
}

/** POSTs to a webhook and judges its answer (`classifyAnswer`): the sink's health after it, and the error to throw when it was not accepted. */
export async function postToWebhook(url: URL, body: Buffer, o: PostOptions): Promise<{ health: Health; error: SinkError | undefined }> {
  const res = await post(url, body, o);
  const error = classifyAnswer(res.status, res.body, parseRetryAfter(res.headers['retry-after'], Date.now()));
  return { health: error === undefined ? { status: 'ok' } : { status: error.kind === 'blocked' ? 'down' : 'degraded', reason: error.message }, error };
}
