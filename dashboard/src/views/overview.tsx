import type { OverviewItemJson, OverviewPeriodJson } from '../../../agent/src/api/contract.js';
import { useContext } from 'preact/hooks';
import { Sparkline } from '../components/sparkline.js';
import { SessionContext, useLocale } from '../context.js';
import { amount, percent, timeOfDay } from '../format.js';
import { useOverview } from '../use-overview.js';
import { machineHref } from '../links.js';
import { rate } from '../targets.js';

/** The plant at a glance: sites, lines and machines as tiles, kept live from the stream. */
export function Overview() {
  const { t } = useLocale();
  const { data, error, live } = useOverview();
  const central = useContext(SessionContext)?.central === true;

  if (error !== undefined && data === undefined) return <p role="alert">{t('overview.failed', { error })}</p>;
  if (data === undefined) return <p aria-busy="true">{t('overview.loading')}</p>;
  if (data.items.length === 0) return <p>{t('overview.empty')}</p>;

  const sites = group(data.items, (m) => m.site);
  return (
    <section class="overview">
      <h1>{t('overview.title')}</h1>
      <p class={live ? 'live up' : 'live down'} role="status">
        {central ? t('live.polling') : live ? t('live.connected') : t('live.reconnecting')}
      </p>
      {[...sites].map(([site, machines]) => (
        <section class="site" key={site} aria-labelledby={`site-${site}`}>
          <h2 id={`site-${site}`}>{site}</h2>
          {[...group(machines, (m) => m.line)].map(([line, ms]) => (
            <section class="line" key={line} aria-label={`${site} ${line}`}>
              <h3>{line}</h3>
              <ul class="tiles">
                {ms.map((m) => (
                  <Tile key={m.machine} m={m} zone={data.time_zones[m.site] ?? 'UTC'} />
                ))}
              </ul>
            </section>
          ))}
        </section>
      ))}
    </section>
  );
}

function group<T>(items: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of items) out.set(key(x), [...(out.get(key(x)) ?? []), x]);
  return out;
}

function Tile({ m, zone }: { m: OverviewItemJson; zone: string }) {
  const { t, lang } = useLocale();
  const w = m.window;
  const state = m.alerts.length > 0 ? 'alert' : m.stale ? 'stale' : 'ok';
  const band = m.targets?.band ?? 0;
  return (
    <li class={`tile ${state}`} data-machine={m.machine} aria-label={m.name}>
      <h4>
        <a href={machineHref('/machines/', m.machine)}>{m.name}</a>
      </h4>
      {m.stale ? (
        <p class="stale-note">{w === null ? t('tile.staleNever') : t('tile.stale', { time: timeOfDay(lang, w.window_end, zone) })}</p>
      ) : (
        <dl class="now">
          <dt>{t('tile.yield')}</dt>
          <dd class={`yield ${rate(w?.yield as number | undefined, m.targets?.yield, band, true) ?? ''}`}>{percent(lang, w?.yield as number | undefined)}</dd>
          <dt>{t('tile.scrapRate')}</dt>
          <dd class={`scrap ${rate(w?.scrap_rate as number | undefined, m.targets?.scrap_rate, band, false) ?? ''}`}>{percent(lang, w?.scrap_rate as number | undefined)}</dd>
        </dl>
      )}
      <Period label={m.shift === null ? t('tile.noShift') : t('tile.shift', { name: m.shift.period.split(' ').at(-1) ?? '' })} p={m.shift} cls="shift" target={m.targets?.yield} band={band} />
      <Period label={t('tile.day')} p={m.day} cls="day" target={m.targets?.yield} band={band} />
      <Recent m={m} />
      {m.targets !== undefined && (
        <p class="target muted">
          {[m.targets.yield !== undefined ? t('tile.targetYield', { value: percent(lang, m.targets.yield) }) : undefined, m.targets.scrap_rate !== undefined ? t('tile.targetScrap', { value: percent(lang, m.targets.scrap_rate) }) : undefined]
            .filter((x) => x !== undefined)
            .join(' · ')}
        </p>
      )}
      {m.alerts.length > 0 && <p class="alerts">{t('tile.alerts', { count: m.alerts.length })}</p>}
    </li>
  );
}

/** The yield of the last hours, hour by hour, as a sparkline; described in words (first and last hour) for those who cannot see it. */
function Recent({ m }: { m: OverviewItemJson }) {
  const { t, lang } = useLocale();
  const r = m.recent;
  const known = r.yield.map((v, i) => [v, r.t[i]!] as const).filter(([v]) => v !== null);
  if (known.length === 0) return null;
  const [firstV] = known[0]!;
  const [lastV] = known.at(-1)!;
  const label = t('tile.recent', { hours: r.t.length, from: percent(lang, firstV ?? undefined), to: percent(lang, lastV ?? undefined) });
  return <Sparkline values={r.yield} target={m.targets?.yield} label={label} />;
}

function Period({ label, p, cls, target, band }: { label: string; p: OverviewPeriodJson | null; cls: string; target: number | undefined; band: number }) {
  const { t, lang } = useLocale();
  const k = p?.kpis;
  return (
    <p class={`period ${cls}`}>
      <span class="label">{label}</span>{' '}
      {p === null ? null : k === undefined ? (
        <span class="muted">{t('tile.noData')}</span>
      ) : (
        <>
          <span class={`yield ${rate(k.yield, target, band, true) ?? ''}`}>{percent(lang, k.yield)}</span> <span class="muted">{t('tile.parts', { count: amount(lang, k.parts_total) })}</span>
          {k.manual_scrap_parts !== undefined && k.manual_scrap_parts > 0 && <span class="muted"> · {t('tile.manual', { count: amount(lang, k.manual_scrap_parts) })}</span>}
        </>
      )}
    </p>
  );
}
