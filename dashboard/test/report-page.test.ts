/**
 * The report page in a real browser: Debian's headless Chromium driven by playwright-core,
 * against the demo on a store that already holds a past (finished site days of the simulated
 * machines, through the real pipeline), so that a finished period has a report to preview.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportJson } from '../../agent/src/api/report-contract.js';
import { UserFile } from '../../agent/src/api/auth/users.js';
import { loadConfig } from '../../agent/src/config/load.js';
import { packageRoot } from '../../agent/src/core/package-root.js';
import { addDays, dateIn, formatYmd, lastComplete, labelOf } from '../src/periods.js';
import { spawnAgent, type AgentProcess } from '../../test/helpers/agent-process.js';
import { accessibilityProblems } from '../../test/helpers/axe.js';
import { demoSiteTime, seedDemoSpan } from '../../test/helpers/demo-history.js';
import { requireBinary } from '../../test/helpers/require-binary.js';
import { waitFor } from '../../test/helpers/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = requireBinary('chromium');
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');
const ZONE = 'Europe/Amsterdam';

/**
 * Numbers as the page must show them, written here with Intl rather than taken from the page's
 * own format.ts: percentages with one decimal, amounts rounded, money in its currency (cents
 * below 100).
 */
const LOCALES = { en: 'en-GB', nl: 'nl-NL' } as const;
const percent = (lang: 'en' | 'nl', v: number | undefined) => new Intl.NumberFormat(LOCALES[lang], { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(v!);
const amount = (lang: 'en' | 'nl', v: number, digits = 0) => new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: digits }).format(v);
const moneys = (lang: 'en' | 'nl', m: Record<string, number>) =>
  Object.entries(m)
    .map(([currency, v]) => new Intl.NumberFormat(LOCALES[lang], { style: 'currency', currency, minimumFractionDigits: Math.abs(v) < 100 ? 2 : 0, maximumFractionDigits: Math.abs(v) < 100 ? 2 : 0 }).format(v))
    .join(' + ');

/** The report the API answers for a period and scope, read in the page (with its session). */
function reportJson(page: Page, period: string, scope = 'all'): Promise<ReportJson> {
  return page.evaluate(async (q) => (await (await fetch(`/api/v1/reports?${new URLSearchParams({ ...q, format: 'json' }).toString()}`)).json()) as ReportJson, { period, scope });
}

/** Collects what must not happen on a page: a console error, an uncaught exception, an error response that is not expected. */
function watch(page: Page, expected: (status: number, url: string) => boolean): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    // Chromium logs every failed response too; those are judged by the response listener.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('response', (r) => {
    if (r.status() >= 400 && !expected(r.status(), r.url())) problems.push(`${r.status()} ${r.url()}`);
  });
  return problems;
}

describe.skipIf(!hasChromium)('the report page in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-reports-'));
  const now = Date.now();
  const today = dateIn(ZONE, now);
  const yesterday = formatYmd(addDays(today, -1));
  const dayBefore = formatYmd(addDays(today, -2));
  let demo: AgentProcess;
  let browser: Browser;
  let url = '';
  beforeAll(async () => {
    await new UserFile(join(dir, 'data', 'users.json')).add('Anna', 'operator', 'correct horse battery', new Date());
    // The past: yesterday 10:00-16:00 (an early and a late shift) and an hour the day before, for the comparison.
    const cfg = loadConfig(join(packageRoot(), 'config', 'demo.yaml'), {}).config;
    mkdirSync(join(dir, 'data'), { recursive: true });
    const store = join(dir, 'data', 'yieldwatch.db');
    seedDemoSpan(cfg, store, demoSiteTime(cfg, now, 2, 12), demoSiteTime(cfg, now, 2, 13));
    seedDemoSpan(cfg, store, demoSiteTime(cfg, now, 1, 10), demoSiteTime(cfg, now, 1, 16));
    demo = spawnAgent(['demo'], { YIELDWATCH_AGENT__DATADIR: join(dir, 'data'), YIELDWATCH_API__PORT: '0', YIELDWATCH_DEMO__BROKER__PORT: '0' });
    url = await waitFor('the demo to print its URL', () => /Open the dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(demo.output())?.[1], 30_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    mkdirSync(SHOTS, { recursive: true });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    demo?.child.kill('SIGINT');
    await demo?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  async function login(page: Page, path: string): Promise<void> {
    await page.goto(`${url}${path}`);
    await page.getByLabel('User name').fill('Anna');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  it('previews a finished day as the API reports it, downloads it, speaks Dutch, and says what is wrong with a period', { timeout: 60_000 }, async () => {
    const page = await browser.newPage({ locale: 'en-GB', viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const hosts = new Set<string>();
    page.on('request', (r) => hosts.add(new URL(r.url()).host));
    // The session probe before the login answers 401 by design; the bad range below, 400.
    const problems = watch(page, (status, u) => (status === 401 && u.endsWith('/api/v1/session')) || (status === 400 && u.includes('/api/v1/reports?')));
    await login(page, '/');
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Reports' }).click();
    await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
    // Last month by default, in the site's time.
    await page.getByRole('heading', { name: `Material-efficiency report: all machines, ${lastComplete('month', today)}` }).waitFor();
    expect(new URL(page.url()).searchParams.get('period')).toBe(lastComplete('month', today));

    // Yesterday: the seeded early and late shift, from the day picker.
    await page.getByRole('combobox', { name: 'Kind of period' }).selectOption('day');
    await page.getByLabel('Date').fill(yesterday);
    await page.getByRole('heading', { name: `Material-efficiency report: all machines, ${yesterday}` }).waitFor();
    const r = await reportJson(page, yesterday);
    expect(r.totals.windows).toBeGreaterThan(0);
    const preview = page.locator('article.report-preview');
    expect(await preview.locator('tr[data-figure="yield"] td.now').textContent()).toBe(percent('en', r.totals.yield));
    expect(await preview.locator('tr[data-figure="scrap_rate"] td.now').textContent()).toBe(percent('en', r.totals.scrap_rate));
    // Against the day before (its hour of data) and the demo's targets.
    expect(await preview.locator('tr[data-figure="yield"] th').textContent()).toBe('Yield');
    expect(await preview.locator('table.headline thead th').nth(2).textContent()).toBe(`Previous: ${dayBefore}`);
    expect(await preview.locator('tr[data-figure="yield"] td').nth(3).textContent()).toBe('≥ 95.0%');
    // The opportunity first: its total is the API's, and it names the best shift.
    const lead = (await preview.locator('.opportunity-lead').textContent()) ?? '';
    expect(r.opportunity.total.saved_kg).toBeGreaterThan(0);
    expect(lead).toContain(`lost ${amount('en', r.opportunity.total.saved_kg!, 1)} kg less material: ${moneys('en', r.opportunity.total.saved_cost)}`);
    expect(lead).toContain(`${amount('en', r.opportunity.total.saved_co2e_kg!, 1)} kg CO₂e`);
    expect(lead).toContain(`at its best shift, ${r.opportunity.rows[0]!.best!.period}`);
    expect(await preview.locator('h3').first().textContent()).toBe('What the period could have saved');
    // Six hours of the day: the figures say they cover only the time with data, and the gaps are listed in site time.
    expect(await preview.locator('p.notice').allTextContents()).toContainEqual(expect.stringContaining(`The figures cover only the time with data: ${percent('en', r.data_quality.coverage)} of the period`));
    expect(await preview.locator('ul.gaps').first().textContent()).toContain('00:00 – 10:00');
    await preview.getByRole('img', { name: 'Yield and scrap rate by hour' }).locator('canvas').waitFor();
    expect(await preview.getByRole('heading', { name: 'ESRS E5-5: waste from production' }).count()).toBe(1);
    expect(await preview.locator('code.hash').textContent()).toBe(r.config_hash);
    await page.screenshot({ path: join(SHOTS, 'report-en.png'), fullPage: true });
    expect(await accessibilityProblems(page), 'report page').toEqual([]);

    // The downloads are plain links to the API; the CSV saves with the session's cookie.
    const downloads = page.getByRole('navigation', { name: 'Download the report' }).getByRole('link');
    const hrefs = await downloads.evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    expect(hrefs).toEqual(['pdf', 'xlsx', 'csv', 'json'].map((f) => `/api/v1/reports?period=${yesterday}&scope=all&format=${f}&lang=en&download=1`));
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
    expect(csv.suggestedFilename()).toBe(`yieldwatch-all-${yesterday}.csv`);
    const rows = readFileSync((await csv.path())!, 'utf8').split('\r\n');
    expect(rows[0]).toBe('period,period_start,period_end,scope,section,key,measure,value,unit,method');
    expect(Number(rows.find((l) => l.startsWith(`${yesterday},`) && l.includes(',all,totals,,yield,'))?.split(',')[7])).toBe(r.totals.yield);

    // A line: the scope goes into the URL and the figures are the line's.
    await page.getByRole('combobox', { name: 'Report on' }).selectOption('line');
    await page.getByRole('combobox', { name: 'Line', exact: true }).selectOption('demo/line2');
    await waitFor('the line in the URL', () => new URL(page.url()).searchParams.get('scope') === 'line:demo/line2', 5000);
    const line = await reportJson(page, yesterday, 'line:demo/line2');
    await waitFor('the line\'s yield', async () => (await preview.locator('tr[data-figure="yield"] td.now').textContent()) === percent('en', line.totals.yield), 10_000, 100);
    expect(await preview.locator('tr[data-machine]').count()).toBeGreaterThan(0);
    await page.getByRole('combobox', { name: 'Report on' }).selectOption('all');

    // Dutch: the page, the preview and the files' language.
    await page.getByRole('button', { name: 'Nederlands' }).click();
    await page.getByRole('heading', { name: 'Rapportages', level: 1 }).waitFor();
    await page.getByRole('heading', { name: `Rapport materiaalefficiëntie: alle machines, ${yesterday}` }).waitFor();
    expect(await preview.getAttribute('lang')).toBe('nl');
    expect(await preview.locator('tr[data-figure="yield"] th').textContent()).toBe('Opbrengst');
    expect(await preview.locator('tr[data-figure="yield"] td.now').textContent()).toBe(percent('nl', r.totals.yield));
    expect(await preview.locator('h3').first().textContent()).toBe('Wat de periode had kunnen besparen');
    expect(await page.getByRole('link', { name: 'PDF downloaden' }).getAttribute('href')).toBe(`/api/v1/reports?period=${yesterday}&scope=all&format=pdf&lang=nl&download=1`);
    await page.screenshot({ path: join(SHOTS, 'report-nl.png'), fullPage: true });

    // Dates from-to that end before they start: the API's sentence, and no preview or downloads.
    await page.getByRole('combobox', { name: 'Soort periode' }).selectOption('custom');
    await page.getByLabel('Van', { exact: true }).fill(yesterday);
    await page.getByLabel('Tot en met').fill(dayBefore);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    // Filling in "from" first asks for a range of its own (to the old "to"): the sentence that counts is the one for both dates.
    const sentence = `Geen rapport: "${yesterday}..${dayBefore}" ends before it starts`;
    await waitFor('the API\'s sentence for the range', async () => ((await alert.textContent()) === sentence ? true : undefined), 10_000, 100).catch(async (err: Error) => {
      throw new Error(`${err.message}; the page says: ${await alert.textContent()}`);
    });
    expect(await preview.count()).toBe(0);
    expect(await page.getByRole('navigation', { name: 'Rapport downloaden' }).count()).toBe(0);
    expect(new URL(page.url()).searchParams.get('period')).toBe(`${yesterday}..${dayBefore}`);

    expect([...hosts]).toEqual([new URL(url).host]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the sustainability page shows what this month could have saved, and links its report, with the manual entries and who changed them', { timeout: 60_000 }, async () => {
    const page = await browser.newPage({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
    const problems = watch(page, (status, u) => status === 401 && u.endsWith('/api/v1/session'));
    await login(page, '/sustainability');
    const month = labelOf('month', today);
    await page.getByRole('heading', { name: `What ${month} could have saved` }).waitFor();
    const section = page.locator('section.opportunity');
    await section.locator('.opportunity-lead').waitFor();
    expect(await section.locator('.opportunity-lead').textContent()).toMatch(/^Had every machine scrapped at the rate of its own best shift, \d{4}-\d{2} \(so far\) would have made [\d,]+ fewer scrap parts|nothing to save|nothing to compare/);
    expect(await accessibilityProblems(page), 'sustainability').toEqual([]);

    // A bin recorded by hand a minute ago, then corrected with a reason: the month's report names who and why.
    const entry = await page.evaluate(async () => {
      const session = (await (await fetch('/api/v1/session')).json()) as { csrf: string };
      const headers = { 'content-type': 'application/json', 'x-csrf-token': session.csrf };
      const created = (await (await fetch('/api/v1/entries', { method: 'POST', headers, body: JSON.stringify({ machine: 'demo/line1/press1', time: Date.now() - 60_000, parts: 9, reason: 'crack', comment: 'bin behind the press' }) })).json()) as { id: string };
      const edited = await fetch(`/api/v1/entries/${created.id}`, { method: 'PATCH', headers, body: JSON.stringify({ parts: 6, why: 'three were counted twice' }) });
      return { id: created.id, status: edited.status };
    });
    expect(entry.status).toBe(200);
    await section.getByRole('link', { name: `The full report of ${month}: breakdowns, ESRS E5-4 and E5-5, data quality, downloads` }).click();
    await page.getByRole('heading', { name: `Material-efficiency report: all machines, ${month}` }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/reports');
    expect(new URL(page.url()).searchParams.get('period')).toBe(month);
    expect(await page.getByRole('combobox', { name: 'Month', exact: true }).inputValue()).toBe(month);
    const preview = page.locator('article.report-preview');
    expect(await preview.locator('p.notice').first().textContent()).toMatch(/^The period is not over yet: the figures run up to /);
    const row = preview.locator('table.entries tbody tr').filter({ hasText: 'bin behind the press' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/6.*Anna.*changed .*: three were counted twice/);
    await page.screenshot({ path: join(SHOTS, 'report-month-en.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});
