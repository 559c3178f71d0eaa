import { useEffect, useState } from 'preact/hooks';
import type { AlertJson, OverviewItemJson, SiteJson } from '../../../agent/src/api/contract.js';
import { ApiError, getJson, postJson } from '../api.js';
import { useLocale, useMayOperate } from '../context.js';
import { percent, timeOfDay } from '../format.js';
import { useOverview } from '../use-overview.js';

/** Parts an operator picks from in one tap: a few, a handful, a bin. */
const QUICK_COUNTS = [1, 2, 5, 10, 25, 50];

/**
 * The operator screen of one line (`/floor/<site>/<line>`), for a TV across the hall or a tablet
 * at the machine: one large tile per machine, the active alert in plain words and blinking,
 * acknowledged with one tap, and scrap recorded in three (record, reason, count).
 */
export function FloorView({ line }: { line: string }) {
  const { t } = useLocale();
  const { data, error, live, reload } = useOverview();
  const [site, setSite] = useState<SiteJson | undefined>();
  useEffect(() => {
    void getJson<{ items: SiteJson[] }>('/api/v1/sites').then((r) => setSite(r.items.find((s) => s.site === line.split('/')[0])));
  }, [line]);
  useEffect(() => {
    document.body.classList.add('floor-mode');
    return () => document.body.classList.remove('floor-mode');
  }, []);
  const machines = (data?.items ?? []).filter((m) => m.machine.slice(0, m.machine.lastIndexOf('/')) === line);
  return (
    <section class="floor">
      <h1>{t('floor.title', { line: line.split('/').slice(1).join('/') || line })}</h1>
      {!live && (
        <p class="banner" role="alert">
          {t('live.reconnecting')}
        </p>
      )}
      {error !== undefined && data === undefined && <p role="alert">{t('overview.failed', { error })}</p>}
      {data !== undefined && machines.length === 0 && <p>{t('floor.noMachines', { line })}</p>}
      <ul class="floor-tiles">
        {machines.map((m) => (
          <FloorTile key={m.machine} m={m} site={site} zone={data?.time_zones[m.site] ?? 'UTC'} onChange={reload} />
        ))}
      </ul>
    </section>
  );
}

function FloorTile({ m, site, zone, onChange }: { m: OverviewItemJson; site: SiteJson | undefined; zone: string; onChange: () => void }) {
  const { t, lang } = useLocale();
  const mayOperate = useMayOperate();
  const [recording, setRecording] = useState<'reason' | { reason: string } | undefined>();
  const [note, setNote] = useState<string | undefined>();
  // One alert per machine, however many checks saw the scrap: one tap acknowledges it.
  const firing = m.alerts.filter((a) => a.state === 'firing');
  const alert: AlertJson | undefined = firing[0] ?? m.alerts[0];
  const w = m.window;
  const act = async (f: () => Promise<unknown>, done: string) => {
    try {
      await f();
      setNote(done);
      onChange();
    } catch (e) {
      setNote(e instanceof ApiError && e.status === 403 ? t('floor.notAllowed') : t('floor.failed'));
    }
  };
  const record = (reason: string, parts: number) => {
    setRecording(undefined);
    void act(() => postJson('/api/v1/entries', { machine: m.machine, parts, ...(reason === '' ? {} : { reason }) }), t('floor.recorded', { count: parts }));
  };
  const reasons = Object.entries(site?.scrap_reasons ?? {});
  return (
    <li class={`floor-tile ${firing.length > 0 ? 'alarm' : alert !== undefined ? 'acked' : m.stale ? 'stale' : 'ok'}`} data-machine={m.machine} aria-label={m.name}>
      <h2>{m.name}</h2>
      {m.stale ? (
        <p class="big stale-note">{w === null ? t('tile.staleNever') : t('tile.stale', { time: timeOfDay(lang, w.window_end, zone) })}</p>
      ) : (
        <p class="big">
          <span class="yield">{percent(lang, w?.yield as number | undefined)}</span> <span class="what">{t('tile.yield')}</span>
        </p>
      )}
      {alert !== undefined && (
        <div class="alarm-text" role={firing.length > 0 ? 'alert' : undefined} data-alert={alert.id}>
          <p>{t('floor.alarm', { value: percent(lang, alert.value), parts: alert.parts, limit: percent(lang, alert.threshold) })}</p>
          {alert.state === 'firing' ? (
            mayOperate && (
              <button type="button" class="ack" onClick={() => void act(() => postJson(`/api/v1/alerts/${encodeURIComponent(alert.id)}/ack`, {}), t('floor.acknowledged'))}>
                {t('floor.ack')}
              </button>
            )
          ) : (
            <p class="muted">{t('floor.ackedBy', { name: alert.acknowledged_by ?? '' })}</p>
          )}
        </div>
      )}
      {mayOperate &&
        (recording === undefined ? (
          <button type="button" class="record" onClick={() => setRecording('reason')}>
            {t('floor.record')}
          </button>
        ) : recording === 'reason' ? (
          <div class="choices" role="group" aria-label={t('floor.whichReason')}>
            {reasons.map(([code, r]) => (
              <button type="button" key={code} onClick={() => setRecording({ reason: code })}>
                {r.label[lang]}
              </button>
            ))}
            <button type="button" onClick={() => setRecording({ reason: '' })}>
              {t('reason.unassigned')}
            </button>
            <button type="button" class="cancel" onClick={() => setRecording(undefined)}>
              {t('floor.cancel')}
            </button>
          </div>
        ) : (
          <div class="choices" role="group" aria-label={t('floor.howMany')}>
            {QUICK_COUNTS.map((n) => (
              <button type="button" key={n} onClick={() => record(recording.reason, n)} aria-label={t('floor.parts', { count: n })}>
                {n}
              </button>
            ))}
            <button type="button" class="cancel" onClick={() => setRecording(undefined)}>
              {t('floor.cancel')}
            </button>
          </div>
        ))}
      {note !== undefined && (
        <p class="note" role="status">
          {note}
        </p>
      )}
    </li>
  );
}
