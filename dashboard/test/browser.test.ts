/**
 * The dashboard in a real browser: Debian's headless Chromium driven by playwright-core, against
 * the demo as `npm start` runs it (simulated machines, embedded broker, the agent).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserFile } from '../../agent/src/api/auth/users.js';
import { spawnAgent, type AgentProcess } from '../../test/helpers/agent-process.js';
import { accessibilityProblems } from '../../test/helpers/axe.js';
import { requireBinary } from '../../test/helpers/require-binary.js';
import { waitFor } from '../../test/helpers/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = requireBinary('chromium');

/** Screenshots for people to look at (CI keeps them as artifacts). */
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');

describe.skipIf(!hasChromium)('the dashboard in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-browser-'));
  let demo: AgentProcess;
  let browser: Browser;
  let url = '';
  beforeAll(async () => {
    // A demo with a user: the dashboard asks for a login.
    await new UserFile(join(dir, 'data', 'users.json')).add('Anna', 'operator', 'correct horse battery', new Date());
    // press2's worn die spikes every minute instead of every five, so its alert comes within the test.
    demo = spawnAgent(['demo'], {
      YIELDWATCH_AGENT__DATADIR: join(dir, 'data'),
      YIELDWATCH_API__PORT: '0',
      YIELDWATCH_DEMO__BROKER__PORT: '0',
      YIELDWATCH_DEMO__MACHINES__1__SPIKE__EVERY: '1m',
      YIELDWATCH_DEMO__MACHINES__1__SPIKE__LENGTH: '30s',
      // Live data only: the demo's history (demo.history) is tested on its own.
      YIELDWATCH_DEMO__HISTORY: '0s',
    });
    url = await waitFor('the demo to print its URL', () => /Open the dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(demo.output())?.[1], 30_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    mkdirSync(SHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    demo?.child.kill('SIGINT');
    await demo?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('log in; the overview fills with the live simulated machines, in English and in Dutch, with no request to another host and no console error', { timeout: 90_000 }, async () => {
    const page = await browser.newPage({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
    const hosts = new Set<string>();
    const problems: string[] = [];
    page.on('request', (r) => hosts.add(new URL(r.url()).host));
    page.on('console', (m) => {
      // Chromium logs every failed response too; those are judged by the response listener.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('response', (r) => {
      // The session probe before the login and the wrong password answer 401 by design.
      const expected = r.status() === 401 && (r.url().endsWith('/api/v1/session') || r.url().endsWith('/api/v1/login'));
      if (r.status() >= 400 && !expected) problems.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${url}/`);
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await page.getByLabel('User name').fill('Anna');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password.' }).waitFor();
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Plant overview' }).waitFor();
    expect(await page.locator('.who').textContent()).toContain('Anna (operator)');
    // Eight demo machines as tiles; each shows a yield once its first window with production is in.
    const tiles = page.locator('li.tile');
    await waitFor('eight tiles', async () => (await tiles.count()) === 8, 20_000, 200);
    await waitFor('a yield on every tile', async () => (await page.locator('li.tile dd.yield').allTextContents()).filter((t) => /\d/.test(t)).length === 8, 60_000, 500);
    const press1 = page.locator('li.tile[data-machine="demo/line1/press1"]');
    expect(await press1.locator('dd.yield').textContent()).toMatch(/^\d{1,3}\.\d%$/);
    // Held against the demo's targets, which the tile prints; the yield is coloured by where it stands.
    expect(await press1.locator('.target').textContent()).toBe('target yield ≥ 95.0% · target scrap ≤ 5.0%');
    expect(await press1.locator('dd.yield').getAttribute('class')).toMatch(/yield (met|near|missed)/);
    await expect.poll(() => page.locator('p.live').textContent()).toContain('Live');
    // The last hours as a sparkline, told in words too (the demo runs since minutes: its current hour so far).
    expect(await press1.locator('svg.sparkline').getAttribute('aria-label')).toMatch(/^Yield over the last 12 hours, hour by hour: from \d{1,3}\.\d% to \d{1,3}\.\d%$/);
    await page.screenshot({ path: join(SHOTS, 'overview-en.png'), fullPage: true });
    expect(await accessibilityProblems(page), 'overview').toEqual([]);

    // A bin of rejects recorded by hand (as the floor screen will), with the session's CSRF token.
    const status = await page.evaluate(async (machine) => {
      const session = (await (await fetch('/api/v1/session')).json()) as { csrf: string };
      const r = await fetch('/api/v1/entries', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf }, body: JSON.stringify({ machine, parts: 7, reason: 'crack', comment: 'bin at the press' }) });
      return r.status;
    }, 'demo/line1/press1');
    expect(status).toBe(201);

    // A machine: its chart, zoomed by dragging across it, in a URL that can be shared.
    await press1.getByRole('link', { name: 'press1' }).click();
    await page.getByRole('heading', { name: 'press1' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/machines/demo/line1/press1');
    await page.getByRole('button', { name: 'Last hour' }).click();
    const chart = page.getByRole('img', { name: 'Yield, scrap rate and material efficiency over time' });
    await chart.locator('canvas').waitFor();
    expect(await page.locator('section[aria-labelledby="h-entries"] td').filter({ hasText: 'bin at the press' }).count()).toBe(1);
    // Once its window is emitted, the entry is in the Pareto as manual scrap (the view reads again on a new range).
    await waitFor(
      'the manual cracks in the Pareto',
      async () => {
        await page.getByRole('button', { name: 'Last hour' }).click();
        return (await page.locator('table.pareto tr[data-reason="crack"]').allTextContents()).join('').includes('7 recorded by hand');
      },
      40_000,
      2000,
    );
    await page.screenshot({ path: join(SHOTS, 'machine-en.png'), fullPage: true });
    expect(await accessibilityProblems(page), 'machine').toEqual([]);
    // The shift picker: the demo site's current shift sets the range to its start.
    const shiftPick = page.getByLabel('Shift');
    await waitFor('the shifts of the last week', async () => (await shiftPick.locator('option').count()) > 1, 10_000, 200);
    const current = await shiftPick.locator('option').nth(1).getAttribute('value');
    await shiftPick.selectOption(current!);
    await waitFor('the shift in the URL', () => new URL(page.url()).searchParams.get('from') === current, 5000);
    await page.getByRole('button', { name: 'Last hour' }).click();
    await waitFor('the last hour in the URL', () => new URL(page.url()).searchParams.get('from') !== current, 5000);
    const before = new URL(page.url()).searchParams;
    // The new range draws the chart anew: its plot area has a box once that is done (null while it is replaced).
    const box = await waitFor('the chart of the last hour', async () => (await chart.locator('.u-over').boundingBox()) ?? undefined, 10_000, 100);
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await waitFor('the zoomed range in the URL', () => new URL(page.url()).searchParams.get('from') !== before.get('from'), 5000);
    const zoomed = new URL(page.url()).searchParams;
    expect(Number(zoomed.get('from'))).toBeGreaterThan(Number(before.get('from')));
    expect(Number(zoomed.get('to')) - Number(zoomed.get('from'))).toBeLessThan(Number(before.get('to')) - Number(before.get('from')));
    await page.getByRole('navigation').getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Plant overview' }).waitFor();

    // The language switch: Dutch, remembered across a reload.
    await page.getByRole('button', { name: 'Nederlands' }).click();
    await page.getByRole('heading', { name: 'Fabrieksoverzicht' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Fabrieksoverzicht' }).waitFor();
    expect(await page.getAttribute('html', 'lang')).toBe('nl');
    expect(await press1.locator('dt').first().textContent()).toBe('Opbrengst');
    await page.screenshot({ path: join(SHOTS, 'overview-nl.png'), fullPage: true });

    expect([...hosts]).toEqual([new URL(url).host]);
    // The status page (still in Dutch): what an installer checks first.
    await page.getByRole('navigation').getByRole('link', { name: 'Status' }).click();
    await page.getByRole('heading', { name: 'Doorsturen' }).waitFor();
    expect(await page.locator('dl.facts').textContent()).toMatch(/Versie0\.\d+\.\d+/);
    expect(await page.locator('table').last().textContent()).toContain('(mqtt)');
    await page.screenshot({ path: join(SHOTS, 'status-nl.png'), fullPage: true });
    expect(await accessibilityProblems(page), 'status').toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the API docs page shows every route, served offline, with no console error', { timeout: 30_000 }, async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    const hosts = new Set<string>();
    page.on('request', (r) => hosts.add(new URL(r.url()).host));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.goto(`${url}/api/docs/`);
    await page.locator('.opblock').first().waitFor();
    expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(17);
    expect(await page.getByText('/api/v1/entries/{id}').count()).toBeGreaterThan(0);
    expect([...hosts]).toEqual([new URL(url).host]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the floor screen: the spiking press blinks with its alert in plain words, one tap acknowledges it, three taps record scrap', { timeout: 150_000 }, async () => {
    const page = await browser.newPage({ locale: 'en-GB', viewport: { width: 1920, height: 1080 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${url}/floor/demo/line1`);
    await page.getByLabel('User name').fill('Anna');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Line line1' }).waitFor();
    await waitFor('the three machines of line 1', async () => (await page.locator('li.floor-tile').count()) === 3, 20_000, 200);
    const press2 = page.locator('li.floor-tile[data-machine="demo/line1/press2"]');
    await press2.locator('.alarm-text').waitFor({ timeout: 120_000 });
    expect(await press2.getAttribute('class')).toContain('alarm');
    expect(await press2.getByRole('alert').textContent()).toMatch(/Too much scrap: \d+\.\d% of the last \d+ parts \(limit \d+\.\d%\)\. Check the machine\./);
    await page.screenshot({ path: join(SHOTS, 'floor-alarm.png') });
    expect(await accessibilityProblems(page), 'floor').toEqual([]);
    const alertId = (await press2.locator('.alarm-text').getAttribute('data-alert'))!;
    await press2.getByRole('button', { name: 'Seen it — acknowledge' }).click();
    await press2.getByText('Acknowledged.').waitFor();
    // Acknowledged by the logged-in operator (the tile then says so, until the spike is over and the alert ends).
    const acked = await page.evaluate(async (id) => (await (await fetch(`/api/v1/alerts/${encodeURIComponent(id)}`)).json()) as { acknowledged_by: string }, alertId);
    expect(acked.acknowledged_by).toBe('Anna');

    // Three taps: record, reason, count.
    const press1 = page.locator('li.floor-tile[data-machine="demo/line1/press1"]');
    await press1.getByRole('button', { name: 'Record scrap' }).click();
    await press1.getByRole('button', { name: 'Burr' }).click();
    await press1.getByRole('button', { name: '5 parts', exact: true }).click();
    await press1.getByText('5 scrap parts recorded.').waitFor();
    const entries = await page.evaluate(async () => (await (await fetch('/api/v1/entries?machine=demo/line1/press1')).json()) as { items: { parts: number; reason: string; by: string }[] });
    expect(entries.items.map((e) => [e.parts, e.reason, e.by])).toContainEqual([5, 'burr', 'Anna']);
    await page.screenshot({ path: join(SHOTS, 'floor-acknowledged.png') });

    // The alert's own page, as a Teams or Slack message links it: the trail shows who acknowledged.
    await page.goto(`${url}/alerts/${encodeURIComponent(alertId)}`);
    await page.getByRole('heading', { name: /demo\/line1\/press2/ }).waitFor();
    // One alert for the spike, with every check (rule) that saw it listed inside.
    expect(await page.locator('ul.rule-hits li').count()).toBeGreaterThan(0);
    await waitFor('the acknowledgement in the trail', async () => (await page.locator('ul.history li').allTextContents()).some((l) => l.includes('acknowledged · Anna')), 10_000, 200);
    await page.getByRole('navigation').getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    // Open while the spike lasts, ended once it is over: either way in the list.
    await waitFor(
      'press2 in the list of alerts',
      async () => {
        for (const filter of ['Open', 'Ended']) {
          await page.getByRole('group', { name: 'Show' }).getByRole('button', { name: filter }).click();
          await page.waitForTimeout(300);
          if ((await page.locator('table tbody tr').allTextContents()).some((r) => r.includes('demo/line1/press2'))) return true;
        }
        return false;
      },
      15_000,
      200,
    );

    // Sustainability: the loss by destination (ESRS E5-5), the method version and every factor with its source.
    await page.getByRole('navigation').getByRole('link', { name: 'Sustainability' }).click();
    await page.getByRole('heading', { name: 'Scrap by destination (ESRS E5-5)' }).waitFor();
    await waitFor('destinations of this month', async () => (await page.locator('tr[data-destination]').count()) > 0, 20_000, 500);
    expect(await page.getByText('KPI method yieldwatch-kpi/2').count()).toBe(1);
    expect((await page.locator('table').last().textContent()) ?? '').toMatch(/AlMg3.*kg CO₂e\/kg.*\(20\d\d\)/);
    // Each table downloads as CSV: exact numbers, one row per period and destination.
    const csvLink = page.getByRole('link', { name: /Download “Scrap by destination \(ESRS E5-5\)” as CSV/ });
    const csv = await page.evaluate(async (href) => {
      const r = await fetch(href);
      return { type: r.headers.get('content-type'), text: await r.text() };
    }, (await csvLink.getAttribute('href'))!);
    expect(csv.type).toBe('text/csv; charset=utf-8');
    expect(csv.text.split('\r\n')[0]).toMatch(/^period,period_start,period_end,destination,.*scrap_kg/);
    await page.screenshot({ path: join(SHOTS, 'sustainability-en.png'), fullPage: true });
    expect(await accessibilityProblems(page), 'sustainability').toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
