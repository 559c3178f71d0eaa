/** Health of a long-running part: `ok`, `degraded` (works, but something needs attention) or `down`. */
export interface Health {
  status: 'ok' | 'degraded' | 'down';
  reason?: string;
  details?: Record<string, unknown>;
}
