import { alertChangeToJson, type AlertChange, type AlertRuleHit } from '../../core/alert.js';

const VERB: Record<AlertChange['kind'], string> = {
  fired: 'Scrap alert',
  rule_fired: 'Scrap alert, more severe',
  rule_resolved: 'One rule cleared',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
  late_breach: 'Late breach',
};

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

/** The verb, the machine and the incident's rule with its severity; a rule that joined is named too. */
function title(c: AlertChange): string {
  const joined = c.kind === 'rule_fired' && c.rule !== undefined ? `, ${c.rule} joined` : '';
  return `${VERB[c.kind]}: ${c.alert.machine} (${c.alert.rule}${joined}, ${c.alert.severity})`;
}

/** One rule inside the incident, in a line: what it saw, its limit, when it fired and cleared. */
function ruleLine(h: AlertRuleHit): string {
  const ended = h.resolvedAt === undefined ? 'still above' : `cleared ${new Date(h.resolvedAt).toISOString()}`;
  return `${pct(h.value)} over ${h.parts} parts, limit ${pct(h.threshold)} (${h.severity}); fired ${new Date(h.firedAt).toISOString()}, ${ended}`;
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
  // Every rule that fired on this cause: one incident, one acknowledgement.
  for (const h of a.rules) out.push([`Rule ${h.rule}`, ruleLine(h)]);
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
