import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Alert } from '../core/alert.js';
import type { EntryService } from '../core/entries.js';
import type { Health } from '../core/health.js';
import type { ForwarderStatus } from '../core/sink.js';
import type { ApiToken } from './auth/check.js';
import type { Sessions } from './auth/sessions.js';
import type { UserFile } from './auth/users.js';
import type { GuardsJson, MaterialJson, ShiftJson, SiteJson } from './contract.js';
import type { EventHub, StreamLimits } from './events.js';
import type { KpiReader } from './reader.js';
import type { ReportFormat, ReportRequest } from './report-contract.js';

/** What the HTTP API reads, and the few writes it asks for (acknowledgements, manual entries); it never writes the store itself. */
export interface ApiDeps {
  /** Where every view reads: the agent's store, or InfluxDB for the central dashboard. */
  reader: KpiReader;
  /** Who this agent is, for the status page. */
  agent?: { id: string; version: string; startedAt: number };
  registry: Registry;
  /** Health of every long-running part, by name. */
  health: () => Record<string, Health>;
  /** Delivery state of every sink (none when the agent forwards nowhere). */
  sinks?: () => readonly ForwarderStatus[];
  /** What the KPI core kept out or flagged per machine and reason, and each counter's rate limit (`/api/v1/status`). */
  guards?: () => GuardsJson;
  /** Committed windows and alert changes, for `/api/v1/stream`. */
  events?: EventHub;
  /** Most live streams open at once, in all and per token or session (`api.maxStreams`, `api.maxStreamsPerLogin`); default 200 and 20. */
  streamLimits?: StreamLimits;
  /** Acknowledges an open alert (persisted and sent to the channels); undefined when it is not firing. */
  acknowledge?: (id: string, by: string, comment: string | undefined) => Alert | undefined;
  /** The material library with every factor's source (`/api/v1/materials`). */
  materials?: () => MaterialJson[];
  /** The KPI method's version (`/api/v1/materials` names it beside the factors). */
  method?: string;
  /** The sites: time zones and scrap reason labels (`/api/v1/sites`). */
  sites?: () => SiteJson[];
  /** The shifts of a site's calendar that overlap a span (`/api/v1/shifts`); undefined for a site without a calendar. */
  shifts?: (site: string, from: number, to: number) => ShiftJson[] | undefined;
  /**
   * A material-efficiency report in a format (`/api/v1/reports`); absent: 404. A period or scope
   * that does not exist throws an error with `code: 'YW_ERR_REPORT_REQUEST'` (a 400 with its message);
   * too many at once, `code: 'YW_ERR_REPORT_BUSY'` (a 503 with Retry-After).
   */
  reports?: (q: ReportRequest, format: ReportFormat) => Promise<{ body: Buffer; contentType: string; filename: string }>;
  /** Manual scrap entries (`/api/v1/entries`); absent: those routes answer 404. */
  entries?: EntryService;
  /** API tokens, for machines and scripts. */
  tokens?: readonly ApiToken[];
  /** Local users, who log in for a browser session. With neither users nor tokens the API is open. */
  users?: UserFile;
  /** Open browser sessions; a fresh set (12 h) when absent. */
  sessions?: Sessions;
  /** The reverse proxies (addresses or CIDRs) whose `X-Forwarded-*` headers count (client address, https); none: no proxy. */
  trustProxy?: readonly string[];
  /** A login is needed even with no user in the file (the agent listens where others reach it); default: when the file has users at start. */
  alwaysLogin?: boolean;
  logger?: Logger;
}
