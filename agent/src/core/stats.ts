/** Counts of the KPI core since start: samples, counter events, data-quality flags and rejections by reason. */
export interface IngestStats {
  samples: number;
  accepted: number;
  baselines: number;
  resets: number;
  rollovers: number;
  stale: number;
  implausible: number;
  rebaselined: number;
  dup: number;
  skewed: number;
  too_late: number;
  rejected: Map<string, number>;
  /**
   * Rejections and data-quality flags (implausible, rebaselined, stale, skewed, too_late, dup) by
   * machine and reason. Machines are the configured paths and `unknown` for any other, so the keys
   * stay bounded by the config.
   */
  byMachine: Map<string, Map<string, number>>;
}

/** Where a counter's rate limit comes from now (agent/src/kpi/README.md, "Rate limits"). */
export type RateLimitSource = 'configured' | 'cycle_time' | 'learned' | 'learning' | 'ceiling' | 'none';

/** The rate limit one counter is held to now. */
export interface CounterRateLimit {
  machine: string;
  signal: string;
  source: RateLimitSource;
  /** The limit in counts per second; null: none. */
  perSecond: number | null;
  /** The highest rate learned so far (counts/s; 0 before any). */
  peak: number;
}

/** The `byMachine` key of input for a machine that is not configured. */
export const UNKNOWN_MACHINE = 'unknown';

/** Counts of the commit path since start. */
export interface CommitStats {
  windowsEmitted: number;
  windowsRevised: number;
  checkpoints: number;
  lastCheckpointMs: number;
  commitErrors: number;
}

/** What the pipeline tells metrics, the API and the agent's logs about itself; read off the hot path. */
export interface PipelineStats {
  ingest: Readonly<IngestStats>;
  commits: Readonly<CommitStats>;
  /** Windows open in memory, not yet emitted. */
  openWindows: number;
  /** Failed commit attempts in a row (the store is reported degraded while above 0). */
  failuresInRow: number;
}

/** What one report schedule did since start: metrics, health and the status read it. */
export interface ReportScheduleStats {
  schedule: string;
  /** Reports made (each recorded once per period, with its files and deliveries). */
  made: number;
  /** Attempts that failed (each tried again with back-off while within the schedule's `catchUp`). */
  failed: number;
  /** Period and time of the last report made. */
  lastPeriod: string | undefined;
  lastMadeAt: number | undefined;
  /** Why the last attempt failed; undefined once no period's report is failing. */
  lastError: string | undefined;
  lastFailedAt: number | undefined;
  /** The next occurrence (epoch ms), when there is one. */
  nextAt: number | undefined;
  /** Periods whose report failed and is tried again, oldest first, with the reason and when (epoch ms). */
  failing: { period: string; error: string | undefined; retryAt: number }[];
}
