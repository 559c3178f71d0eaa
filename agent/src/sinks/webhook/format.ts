import { alertChangeToJson, type AlertChange } from '../../core/alert.js';

const VERB: Record<AlertChange['kind'], string> = { fired: 'Scrap alert', acknowledged: 'Acknowledged', resolved: 'Resolved', late_breach: 'Late breach' };

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

function title(c: AlertChange): string {
  return `${VERB[c.kind]}: ${c.alert.machine} (${c.alert.rule}, ${c.alert.severity})`;
}

function facts(c: AlertChange): [string, string][] {
  const a = c.alert;
  const out: [string, string][] = [
    ['Scrap rate', `${pct(a.value)} over ${a.parts} parts`],
    ['Limit', pct(a.threshold)],
    ['Since', new Date(a.startedAt).toISOString()],
  ];
  if (c.kind === 'acknowledged') out.push(['By', `${a.acknowledgedBy ?? c.by}${a.comment ? `: ${a.comment}` : ''}`]);
  if (c.kind === 'resolved' && a.resolvedAt !== undefined) out.push(['Resolved', new Date(a.resolvedAt).toISOString()]);
  return out;
}

/** The `json` body: the change as the API shows it, plus the agent. */
export function jsonBody(c: AlertChange, agentId: string): unknown {
  return { ...alertChangeToJson(c), agent: agentId };
}

/** The dashboard's page of the alert: the link a message opens (the id percent-encoded: it holds / and |). */
export function alertPage(dashboardUrl: string, id: string): string {
  return `${dashboardUrl.replace(/\/+$/, '')}/alerts/${encodeURIComponent(id)}`;
}

/** A Slack incoming-webhook message: `text` for notifications, blocks for the channel. */
export function slackBody(c: AlertChange, dashboardUrl: string | undefined): unknown {
  const lines = facts(c).map(([k, v]) => `*${k}:* ${v}`);
  if (dashboardUrl) lines.push(`<${alertPage(dashboardUrl, c.alert.id)}|Open the alert in the dashboard>`);
  return {
    text: `${title(c)}: ${c.alert.message}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title(c) } },
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
    ],
  };
}

/** A message with an Adaptive Card, as Microsoft Teams Workflows ("Post to a channel when a webhook request is received") take it. */
export function teamsBody(c: AlertChange, dashboardUrl: string | undefined): unknown {
  const card: Record<string, unknown> = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body: [
      { type: 'TextBlock', size: 'Medium', weight: 'Bolder', wrap: true, text: title(c), color: c.kind === 'fired' ? 'Attention' : 'Default' },
      { type: 'TextBlock', wrap: true, text: c.alert.message },
      { type: 'FactSet', facts: facts(c).map(([title, value]) => ({ title, value })) },
    ],
  };
  if (dashboardUrl) card.actions = [{ type: 'Action.OpenUrl', title: 'Open the alert in the dashboard', url: alertPage(dashboardUrl, c.alert.id) }];
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] };
}
