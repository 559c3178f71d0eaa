import type { Logger } from 'pino';
import type { Aggregate } from '../core/aggregate.js';
import type { AlertChange } from '../core/alert.js';

/** How the agent's own events read in the log: one place for the wording, so the parts stay silent and testable. */
export interface AgentLog {
  started(fields: { machines: number; sources: number; dataDir: string }): void;
  stopped(): void;
  configWarning(text: string): void;
  storeRecovered(r: { damagedFile: string; problem: string; tables: unknown; lostRecords: unknown }): void;
  windowsEmitted(aggregates: readonly Aggregate[]): void;
  alertChanges(changes: readonly AlertChange[]): void;
  commitFailed(err: unknown, failuresInRow: number): void;
  commitRecovered(failures: number): void;
  rebaselined(machine: string): void;
  coreRejections(machine: string, reason: string, count: number, total: number): void;
  pruned(removed: number): void;
  tickFailed(err: unknown): void;
}

/** The agent's log lines, written to `logger`. */
export function agentLog(logger: Logger): AgentLog {
  return {
    started: (fields) => logger.info(fields, 'Agent started.'),
    stopped: () => logger.info('Agent stopped; checkpoint saved.'),
    configWarning: (text) => logger.warn(text),
    storeRecovered: (r) =>
      logger.error(
        { damagedFile: r.damagedFile, problem: r.problem, tables: r.tables, lostRecords: r.lostRecords },
        'The local store file was damaged; a new one was made from its intact part and the damaged file kept beside it. Lost outbox records are counted per sink.',
      ),
    windowsEmitted: (aggs) => logger.debug({ windows: aggs.length }, 'Windows emitted.'),
    alertChanges: (changes) => {
      for (const c of changes) {
        const a = c.alert;
        const fields = { alert: a.id, machine: a.machine, rule: a.rule, severity: a.severity, value: a.value, threshold: a.threshold, by: c.by };
        if (c.kind === 'fired') logger.warn(fields, `Alert: ${a.message}`);
        else if (c.kind === 'late_breach') logger.info(fields, `Late data shows a breach that was not alerted live: ${a.message}`);
        else if (c.kind === 'rule_fired') {
          // The rule that joined, with what it saw: the incident's own values are those of the rule that opened it.
          const hit = a.rules.findLast((h) => h.rule === c.rule);
          const joined = { ...fields, rule: c.rule, incidentRule: a.rule, value: hit?.value, threshold: hit?.threshold };
          const text = `Rule ${c.rule ?? '?'} also sees the scrap on ${a.machine}; it joins the open alert ${a.id}`;
          if (c.notify) logger.warn(joined, `${text}, now ${a.severity}.`);
          else logger.info(joined, `${text}.`);
        } else if (c.kind === 'rule_resolved') logger.info({ ...fields, rule: c.rule, incidentRule: a.rule }, `Rule ${c.rule ?? '?'} cleared on ${a.machine}; alert ${a.id} stays open for its other rules.`);
        else logger.info(fields, `Alert ${c.kind}: ${a.machine} ${a.rule}.`);
      }
    },
    commitFailed: (err, failuresInRow) => {
      // One line per outage (and again every 60 failed retries), not one per retry.
      if (failuresInRow === 1 || failuresInRow % 60 === 0) {
        logger.error({ err, failuresInRow }, 'Cannot write to the local store; windows stay in memory and are retried with back-off.');
      }
    },
    commitRecovered: (failures) => logger.warn({ failures }, 'The local store accepts writes again; the held windows are saved.'),
    rebaselined: (machine) => logger.warn({ machine }, 'A counter jumped implausibly three times in a row; its latest value is the new baseline.'),
    coreRejections: (machine, reason, count, total) =>
      logger.warn(
        { machine, reason, count, total },
        `${count} sample${count === 1 ? ' was' : 's were'} of ${machine} kept out of the KPIs or flagged (${reason}) since the last report; logged at most once a minute per machine and reason, see yieldwatch_machine_rejected_total and /api/v1/status.`,
      ),
    pruned: (removed) => logger.info({ removed }, 'Old windows pruned from the local store.'),
    tickFailed: (err) => logger.error({ err }, 'Tick failed.'),
  };
}
