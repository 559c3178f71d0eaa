import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import type { ConfigInput, ReportScheduleConfig } from '../config/schema.js';
import { VirtualClock } from '../core/clock.js';
import { TICK_MS } from '../pipeline/ticker.js';
import { MAX_CHECK_INTERVAL_MS, nextCheckIn, periodSettleMs, ReportSchedule, reportsToMake, retryDelay, RETRY_MAX_MS, scheduledReportFile, scheduleSite, type DueReport, type LookContext } from './schedule.js';

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const at = (s: string) => Date.parse(s);

const SHIFTS = {
  validFrom: '2026-01-01',
  shifts: { early: { start: '06:00', end: '14:00' }, late: { start: '14:00', end: '22:00' }, night: { start: '22:00', end: '06:00' } },
  week: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ['early', 'late', 'night']])),
};

function config(schedules: ConfigInput['reports'] extends infer R ? (R extends { schedules?: infer S } ? S : never) : never, extra: Partial<ConfigInput> = {}) {
  return validateConfig({
    sites: { ams: { timeZone: 'Europe/Amsterdam', shiftCalendar: [SHIFTS] }, ny: { timeZone: 'America/New_York' }, lon: { timeZone: 'Europe/London' } },
    machines: [{ path: 'ams/l1/m1' }, { path: 'ams/l2/m2' }, { path: 'ny/l1/m1' }, { path: 'lon/l1/m1' }, { path: 'nowhere/l1/m1' }],
    reports: { schedules },
    ...extra,
  });
}

/** The schedules of a config, as the agent builds them; `kpi` sets how long after its end a period's windows are in the store. */
function plans(schedules: Parameters<typeof config>[0], kpi: ConfigInput['kpi'] = { windowSize: '60s', allowedLateness: '10s' }): ReportSchedule[] {
  const cfg = config(schedules, { kpi });
  return cfg.reports.schedules.map((sc: ReportScheduleConfig) => new ReportSchedule(sc, scheduleSite(cfg, sc.scope), periodSettleMs(cfg.kpi, TICK_MS)));
}

const dueText = (d: DueReport | undefined) => d && { occurrence: iso(d.occurrence), period: d.period?.label, start: iso(d.period?.start), end: iso(d.period?.end), problem: d.problem };

describe('which occurrence is due and which period it reports', () => {
  it('a daily 06:00 in Amsterdam reports yesterday: 24, 23 and 25 hours around the clock changes, in site time', () => {
    const [daily] = plans([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams' }]);
    // Before 06:00 the occurrence due is the day before's.
    expect(dueText(daily!.dueAt(at('2026-03-28T04:59:59Z')))).toMatchObject({ occurrence: '2026-03-27T05:00:00.000Z', period: '2026-03-26' });
    // Exactly at the occurrence it is due.
    expect(dueText(daily!.dueAt(at('2026-03-28T05:00:00Z')))).toEqual({
      occurrence: '2026-03-28T05:00:00.000Z',
      period: '2026-03-27',
      start: '2026-03-26T23:00:00.000Z',
      end: '2026-03-27T23:00:00.000Z',
      problem: undefined,
    });
    // 29 March: the clocks went forward at 02:00, so 06:00 is 04:00 UTC; 28 March was 24 hours.
    expect(dueText(daily!.dueAt(at('2026-03-29T12:00:00Z')))).toMatchObject({ occurrence: '2026-03-29T04:00:00.000Z', period: '2026-03-28', start: '2026-03-27T23:00:00.000Z', end: '2026-03-28T23:00:00.000Z' });
    // The next day reports 29 March, 23 hours long.
    expect(dueText(daily!.dueAt(at('2026-03-30T04:00:00Z')))).toMatchObject({ period: '2026-03-29', start: '2026-03-28T23:00:00.000Z', end: '2026-03-29T22:00:00.000Z' });
    // 25 October, when the clocks go back, is 25 hours long.
    expect(dueText(daily!.dueAt(at('2026-10-26T06:00:00Z')))).toMatchObject({ occurrence: '2026-10-26T05:00:00.000Z', period: '2026-10-25', start: '2026-10-24T22:00:00.000Z', end: '2026-10-25T23:00:00.000Z' });
    expect(iso(daily!.nextAfter(at('2026-03-28T05:00:00Z')))).toBe('2026-03-29T04:00:00.000Z');
  });

  it('a time the clock skips runs right after the gap; a time that happens twice runs once', () => {
    const [early] = plans([{ id: 'early', cron: '30 2 * * *', scope: 'site:ams' }]);
    expect(iso(early!.nextAfter(at('2026-03-28T12:00:00Z')))).toBe('2026-03-29T01:00:00.000Z');
    expect(dueText(early!.dueAt(at('2026-03-29T01:00:00Z')))).toMatchObject({ occurrence: '2026-03-29T01:00:00.000Z', period: '2026-03-28' });
    // 02:30 happens twice on 25 October: the first one (CEST) is the occurrence, the second is not.
    expect(iso(early!.nextAfter(at('2026-10-24T12:00:00Z')))).toBe('2026-10-25T00:30:00.000Z');
    expect(iso(early!.nextAfter(at('2026-10-25T00:30:00Z')))).toBe('2026-10-26T01:30:00.000Z');
  });

  it('each site runs in its own zone; weeks, months, quarters, years and shifts are the last whole ones before the occurrence', () => {
    const [ny, weekly, monthly, quarterly, yearly, shift] = plans([
      { id: 'ny', cron: '0 6 * * *', scope: 'site:ny' },
      { id: 'weekly', cron: '0 7 * * 1', period: 'last-week', scope: 'site:ams' },
      { id: 'monthly', cron: '0 7 1 * *', period: 'last-month', scope: 'site:ams' },
      { id: 'quarterly', cron: '0 7 1 */3 *', period: 'last-quarter', scope: 'site:ams' },
      { id: 'yearly', cron: '0 7 2 1 *', period: 'last-year', scope: 'site:ams' },
      { id: 'shift', cron: '5 6,14,22 * * *', period: 'last-shift', scope: 'line:ams/l1' },
    ]);
    // 06:00 in New York (EST, UTC-5) reports the New York day before.
    expect(dueText(ny!.dueAt(at('2026-11-10T11:00:00Z')))).toMatchObject({ occurrence: '2026-11-10T11:00:00.000Z', period: '2026-11-09', start: '2026-11-09T05:00:00.000Z', end: '2026-11-10T05:00:00.000Z' });
    expect(dueText(weekly!.dueAt(at('2026-11-10T12:00:00Z')))).toMatchObject({ occurrence: '2026-11-09T06:00:00.000Z', period: '2026-W45' });
    expect(dueText(monthly!.dueAt(at('2026-11-10T12:00:00Z')))).toMatchObject({ occurrence: '2026-11-01T06:00:00.000Z', period: '2026-10', end: '2026-10-31T23:00:00.000Z' });
    expect(dueText(quarterly!.dueAt(at('2026-11-10T12:00:00Z')))).toMatchObject({ occurrence: '2026-10-01T05:00:00.000Z', period: '2026-Q3' });
    expect(dueText(yearly!.dueAt(at('2026-11-10T12:00:00Z')))).toMatchObject({ occurrence: '2026-01-02T06:00:00.000Z', period: '2025' });
    // Five past the end of each shift: that shift (the night shift is the previous day's).
    expect(dueText(shift!.dueAt(at('2026-11-10T05:10:00Z')))).toMatchObject({ occurrence: '2026-11-10T05:05:00.000Z', period: '2026-11-09 night', start: '2026-11-09T21:00:00.000Z', end: '2026-11-10T05:00:00.000Z' });
    expect(dueText(shift!.dueAt(at('2026-11-10T13:05:00Z')))).toMatchObject({ period: '2026-11-10 early' });
  });

  it('the zone comes from the scope\'s site; a scope that names nothing or spans zones runs in UTC and says why its reports fail', () => {
    const cfg = config([]);
    expect(scheduleSite(cfg, 'line:ams/l2')).toMatchObject({ ctx: { timeZone: 'Europe/Amsterdam' }, problem: undefined });
    expect(scheduleSite(cfg, 'line:ams/l2').ctx.calendar?.versions).toHaveLength(1);
    expect(scheduleSite(cfg, 'site:nowhere')).toEqual({ ctx: { timeZone: 'UTC', calendar: undefined }, problem: undefined });
    expect(scheduleSite(cfg, 'all').problem).toMatch(/spans sites in different time zones/);
    expect(scheduleSite(cfg, 'line:gone').problem).toMatch(/unknown line "gone"/);
    const [shiftless] = plans([{ id: 's', cron: '0 7 * * *', period: 'last-shift', scope: 'site:ny' }]);
    expect(shiftless!.dueAt(at('2026-11-10T12:00:00Z'))).toMatchObject({ period: undefined, problem: expect.stringMatching(/no shift that ended/) });
    const [bad] = plans([{ id: 'bad', cron: '0 6 * * *', scope: 'line:gone' }]);
    expect(bad!.dueAt(at('2026-11-10T12:00:00Z'))).toMatchObject({ occurrence: at('2026-11-10T06:00:00Z'), period: undefined, problem: expect.stringMatching(/unknown line/) });
  });

  it('files name the schedule, the scope and the period in characters every file system takes', () => {
    expect(scheduledReportFile('daily', 'site:demo', '2026-11-03', 'pdf')).toBe('yieldwatch-daily-site_demo-2026-11-03.pdf');
    expect(scheduledReportFile('shift.l1', 'line:demo/line1,material:AlMg3', '2026-11-03 early', 'csv')).toBe('yieldwatch-shift.l1-line_demo_line1_material_AlMg3-2026-11-03_early.csv');
  });
});

/** The store's record of a schedule's period, as the loop below keeps it: it outlives a restart. */
interface Recorded {
  made: boolean;
  failures: number;
  start: number;
}
type Records = Map<string, Recorded>;

/** A day already made, as the store would hold it (Amsterdam, CET in November). */
const madeDay = (schedule: string, day: string): [string, Recorded] => [`${schedule} ${day}`, { made: true, failures: 0, start: Date.parse(`${day}T00:00:00+01:00`) }];
const madeOnes = (records: Records) => [...records].filter(([, r]) => r.made).map(([k]) => k).sort();

/**
 * The scheduler's loop on a virtual clock, as `wiring/report-scheduler.ts` runs it: a timer at the
 * next occurrence (at most a minute away), a period becoming ready or a retry, and at each firing
 * the reports to make. `records` is the store's record of (schedule, period); it outlives a
 * restart, the loop's memory (when a report last failed, the last occurrence without a period) does not.
 */
function loop(schedule: ReportSchedule, clock: VirtualClock, records: Records, fail: (due: DueReport) => boolean = () => false) {
  const attempts: { at: string; period: string | undefined }[] = [];
  const failedAt = new Map<string, number>();
  let lastProblem: number | undefined;
  let timer: ReturnType<VirtualClock['setTimeout']> | undefined;
  let checks = 0;
  const context = (): LookContext => {
    const mine = [...records].filter(([k]) => k.startsWith(`${schedule.id} `));
    return {
      runOf: (period) => {
        const r = records.get(`${schedule.id} ${period}`);
        return r && { made: r.made, failures: r.failures, failedAt: failedAt.get(period), error: r.made ? undefined : 'it failed' };
      },
      since: mine.length === 0 ? undefined : Math.min(...mine.map(([, r]) => r.start)),
      lastProblem,
    };
  };
  const check = () => {
    checks++;
    const look = reportsToMake(schedule, clock.now(), context());
    for (const due of look.make) {
      attempts.push({ at: iso(clock.now())!, period: due.period?.label });
      if (due.period === undefined) {
        lastProblem = due.occurrence;
        continue;
      }
      const key = `${schedule.id} ${due.period.label}`;
      const r = records.get(key) ?? { made: false, failures: 0, start: due.period.start };
      if (fail(due)) {
        r.failures++;
        failedAt.set(due.period.label, clock.now());
      } else {
        r.made = true;
      }
      records.set(key, r);
    }
    timer = clock.setTimeout(check, nextCheckIn([schedule], clock.now(), reportsToMake(schedule, clock.now(), context()).wakeAt));
  };
  check();
  return {
    attempts,
    checks: () => checks,
    stop: () => clock.clearTimer(timer),
    /** The pending timer fires now, however late (a process that was suspended). */
    fireLate: () => {
      clock.clearTimer(timer);
      check();
    },
  };
}

describe('the loop on the injected clock: exactly once per schedule and period', () => {
  it('the first start makes the latest due occurrence\'s report; the next occurrence makes the next one, no sooner', () => {
    const [daily] = plans([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams' }]);
    const clock = new VirtualClock(at('2026-11-04T09:12:00Z'));
    const records: Records = new Map();
    const run = loop(daily!, clock, records);
    // A schedule that never ran makes its latest period only, not a backlog of catch-up reports.
    expect(run.attempts).toEqual([{ at: '2026-11-04T09:12:00.000Z', period: '2026-11-03' }]);
    clock.set(at('2026-11-05T04:59:59Z'));
    expect(run.attempts).toHaveLength(1);
    clock.set(at('2026-11-05T05:00:00Z'));
    expect(run.attempts).toEqual([
      { at: '2026-11-04T09:12:00.000Z', period: '2026-11-03' },
      { at: '2026-11-05T05:00:00.000Z', period: '2026-11-04' },
    ]);
    // Between occurrences it looks at most a minute apart (a clock jump is noticed), and makes nothing.
    const checks = run.checks();
    clock.set(at('2026-11-05T07:00:00Z'));
    expect(run.checks() - checks).toBe(120);
    expect(run.attempts).toHaveLength(2);
    run.stop();
  });

  it('a restart after missed occurrences makes each missed period once, oldest first; a second restart makes nothing', () => {
    const [daily] = plans([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams' }]);
    const clock = new VirtualClock(at('2026-11-02T10:00:00Z'));
    const records: Records = new Map();
    const first = loop(daily!, clock, records);
    expect(first.attempts.map((a) => a.period)).toEqual(['2026-11-01']);
    // Down from 2 November noon until 6 November 08:30: the occurrences of the 3rd, 4th, 5th and 6th were missed.
    clock.set(at('2026-11-02T12:00:00Z'));
    first.stop();
    clock.set(at('2026-11-06T07:30:00Z'));
    const second = loop(daily!, clock, records);
    expect(second.attempts).toEqual(['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05'].map((period) => ({ at: '2026-11-06T07:30:00.000Z', period })));
    second.stop();
    const third = loop(daily!, clock, records);
    expect(third.attempts).toEqual([]);
    clock.set(at('2026-11-07T05:00:00Z'));
    expect(third.attempts.map((a) => a.period)).toEqual(['2026-11-06']);
    third.stop();
    expect(madeOnes(records)).toEqual(['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06'].map((d) => `daily ${d}`));
  });

  it('a long pause (the laptop slept, the clock jumped) makes the missed periods when the timer finally fires, at most catchUp before the latest', () => {
    const [daily] = plans([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams', catchUp: 3 }]);
    const clock = new VirtualClock(at('2026-11-02T10:00:00Z'));
    const records: Records = new Map();
    const run = loop(daily!, clock, records);
    // Suspended for a week: no timer fired meanwhile, and the pending one fires once, late.
    run.stop();
    clock.set(at('2026-11-09T10:00:00Z'));
    run.fireLate();
    expect(run.attempts.map((a) => [a.at, a.period])).toEqual([
      ['2026-11-02T10:00:00.000Z', '2026-11-01'],
      ['2026-11-09T10:00:00.000Z', '2026-11-05'],
      ['2026-11-09T10:00:00.000Z', '2026-11-06'],
      ['2026-11-09T10:00:00.000Z', '2026-11-07'],
      ['2026-11-09T10:00:00.000Z', '2026-11-08'],
    ]);
    run.stop();
  });

  it('catch-up follows the occurrences: a weekday cron never makes the periods it does not report', () => {
    const [weekdays] = plans([{ id: 'weekdays', cron: '0 6 * * 1-5', scope: 'site:ams', catchUp: 5 }]);
    // Tuesday 10 November: Monday reports Sunday, and Friday's and Saturday's days are reported by no occurrence.
    const periods = weekdays!.dueSince(at('2026-11-10T12:00:00Z'), 0).map((d) => [d.period?.label, iso(d.occurrence)]);
    expect(periods).toEqual([
      ['2026-11-02', '2026-11-03T05:00:00.000Z'],
      ['2026-11-03', '2026-11-04T05:00:00.000Z'],
      ['2026-11-04', '2026-11-05T05:00:00.000Z'],
      ['2026-11-05', '2026-11-06T05:00:00.000Z'],
      ['2026-11-08', '2026-11-09T05:00:00.000Z'],
      ['2026-11-09', '2026-11-10T05:00:00.000Z'],
    ]);
    // Not before the schedule first ran.
    expect(weekdays!.dueSince(at('2026-11-10T12:00:00Z'), at('2026-11-07T23:00:00Z')).map((d) => d.period?.label)).toEqual(['2026-11-08', '2026-11-09']);
    expect(weekdays!.dueSince(at('2026-11-10T12:00:00Z'), undefined).map((d) => d.period?.label)).toEqual(['2026-11-09']);
  });

  it('a repeated occurrence for a period already made makes nothing: an hourly cron of a daily report makes it once a day', () => {
    const [hourly] = plans([{ id: 'hourly', cron: '0 * * * *', scope: 'site:ams' }]);
    const clock = new VirtualClock(at('2026-11-03T22:30:00Z'));
    const records: Records = new Map([madeDay('hourly', '2026-11-02')]);
    const run = loop(hourly!, clock, records);
    expect(run.attempts).toEqual([]);
    clock.set(at('2026-11-05T22:30:00Z'));
    // Midnight in Amsterdam is 23:00 UTC: the first occurrence of each day makes the day before, once its last window is in (70 s and a tick later).
    expect(run.attempts).toEqual([
      { at: '2026-11-03T23:01:10.250Z', period: '2026-11-03' },
      { at: '2026-11-04T23:01:10.250Z', period: '2026-11-04' },
    ]);
    run.stop();
  });

  it('a failed report is tried again 1 min later, doubling to once an hour (and at once after a restart); later periods are made meanwhile', () => {
    const [daily] = plans([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams' }]);
    const clock = new VirtualClock(at('2026-11-04T09:00:00Z'));
    const records: Records = new Map();
    // The store cannot read 3 November (a damaged page, say) until it is repaired.
    let broken = true;
    const fail = (due: DueReport) => broken && due.period?.label === '2026-11-03';
    const run = loop(daily!, clock, records, fail);
    clock.set(at('2026-11-04T14:00:00Z'));
    expect(run.attempts.map((a) => a.at.slice(11, 16))).toEqual(['09:00', '09:01', '09:03', '09:07', '09:15', '09:31', '10:03', '11:03', '12:03', '13:03']);
    expect(retryDelay(1)).toBe(60_000);
    expect(retryDelay(100)).toBe(RETRY_MAX_MS);
    run.stop();
    // A restart tries it again at once, then waits as long as its failures say.
    const again = loop(daily!, clock, records, fail);
    expect(again.attempts).toEqual([{ at: '2026-11-04T14:00:00.000Z', period: '2026-11-03' }]);
    clock.set(at('2026-11-04T14:59:00Z'));
    expect(again.attempts).toHaveLength(1);
    // The next day's report does not wait for the failing one.
    clock.set(at('2026-11-05T05:00:00Z'));
    expect(madeOnes(records)).toEqual(['daily 2026-11-04']);
    broken = false;
    clock.set(at('2026-11-05T06:00:00Z'));
    expect(madeOnes(records)).toEqual(['daily 2026-11-03', 'daily 2026-11-04']);
    // Ten failures before the restart, one at it, fifteen hourly ones until 05:00.
    expect(records.get('daily 2026-11-03')?.failures).toBe(26);
    const tries = again.attempts.length;
    clock.set(at('2026-11-06T04:00:00Z'));
    expect(again.attempts).toHaveLength(tries);
    again.stop();
  });

  it('a report that keeps failing is given up once it is more than catchUp periods back', () => {
    const [daily] = plans([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams', catchUp: 1 }]);
    const clock = new VirtualClock(at('2026-11-04T09:00:00Z'));
    const records: Records = new Map();
    const run = loop(daily!, clock, records, (due) => due.period?.label === '2026-11-03');
    clock.set(at('2026-11-06T09:00:00Z'));
    const tries = (period: string) => run.attempts.filter((a) => a.period === period).map((a) => a.at);
    // Tried hourly until the occurrence of the 6th (05:00 UTC), which considers only the 5th and the 4th before it.
    expect(tries('2026-11-03').at(-1)).toBe('2026-11-06T04:03:00.000Z');
    expect(madeOnes(records)).toEqual(['daily 2026-11-04', 'daily 2026-11-05']);
    run.stop();
  });

  it('a schedule whose period cannot be told (a scope that names nothing, so it runs in UTC) tries each occurrence once', () => {
    const [bad] = plans([{ id: 'bad', cron: '0 6 * * *', scope: 'line:gone' }]);
    const clock = new VirtualClock(at('2026-11-04T09:00:00Z'));
    const run = loop(bad!, clock, new Map());
    clock.set(at('2026-11-06T09:00:00Z'));
    expect(run.attempts).toEqual([
      { at: '2026-11-04T09:00:00.000Z', period: undefined },
      { at: '2026-11-05T06:00:00.000Z', period: undefined },
      { at: '2026-11-06T06:00:00.000Z', period: undefined },
    ]);
    run.stop();
  });

  it('an occurrence before the period\'s last windows are in the store waits for them: 00:05 with 15-minute windows and 10 minutes\' lateness makes yesterday at 00:25', () => {
    const [early] = plans([{ id: 'early', cron: '5 0 * * *', scope: 'site:ams' }], { windowSize: '15m', allowedLateness: '10m' });
    // The day's last window, 23:45 to midnight (22:45 to 23:00 UTC), is emitted at 00:10; one that held midnight would end at 00:15 at the latest.
    const due = early!.dueAt(at('2026-11-03T23:05:00Z'));
    expect(dueText(due)).toMatchObject({ occurrence: '2026-11-03T23:05:00.000Z', period: '2026-11-03', end: '2026-11-03T23:00:00.000Z' });
    expect(iso(due!.readyAt)).toBe('2026-11-03T23:25:00.250Z');
    const none: LookContext = { runOf: () => undefined, since: undefined, lastProblem: undefined };
    expect(reportsToMake(early!, at('2026-11-03T23:05:00Z'), none)).toMatchObject({ make: [], waiting: due, wakeAt: due!.readyAt });
    expect(nextCheckIn([early!], at('2026-11-03T23:05:00Z'), due!.readyAt)).toBe(MAX_CHECK_INTERVAL_MS);
    expect(nextCheckIn([early!], at('2026-11-03T23:25:00Z'), due!.readyAt)).toBe(250);

    const clock = new VirtualClock(at('2026-11-03T22:00:00Z'));
    const records: Records = new Map([madeDay('early', '2026-11-02')]);
    const run = loop(early!, clock, records);
    clock.set(at('2026-11-03T23:25:00Z'));
    expect(run.attempts).toEqual([]);
    clock.set(at('2026-11-04T23:30:00Z'));
    expect(run.attempts).toEqual([
      { at: '2026-11-03T23:25:00.250Z', period: '2026-11-03' },
      { at: '2026-11-04T23:25:00.250Z', period: '2026-11-04' },
    ]);
    run.stop();
    // An occurrence long after the period's end makes it at once: 06:00 is hours after the last window.
    const [daily] = plans([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams' }], { windowSize: '15m', allowedLateness: '10m' });
    expect(reportsToMake(daily!, at('2026-11-04T05:00:00Z'), none).make.map((d) => d.period?.label)).toEqual(['2026-11-03']);
  });

  it('the next look is at the soonest next occurrence, and never more than a minute away', () => {
    const ps = plans([
      { id: 'a', cron: '0 6 * * *', scope: 'site:ams' },
      { id: 'b', cron: '*/15 * * * * *', scope: 'site:ny' },
    ]);
    expect(nextCheckIn([ps[0]!], at('2026-11-04T04:59:30Z'))).toBe(30_000);
    expect(nextCheckIn([ps[0]!], at('2026-11-04T06:00:00Z'))).toBe(MAX_CHECK_INTERVAL_MS);
    expect(nextCheckIn(ps, at('2026-11-04T04:59:50Z'))).toBe(10_000);
    expect(nextCheckIn([], 0)).toBe(MAX_CHECK_INTERVAL_MS);
  });
});
