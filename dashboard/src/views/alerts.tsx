import { useEffect, useState } from 'preact/hooks';
import type { AlertDetailJson, AlertEventJson, AlertJson, AlertRuleHitJson, ListJson } from '../../../agent/src/api/contract.js';
import { ApiError, getJson, postJson } from '../api.js';
import { useLocale, useMayOperate, type Locale } from '../context.js';
import { dateTime, percent, timeOfDay } from '../format.js';
import type { MessageKey } from '../i18n.js';
import { useSites } from '../use-sites.js';

const STATES = ['open', 'firing', 'acknowledged', 'resolved'] as const;

/** What an alert is in ISA-18.2's words: unacknowledged, acknowledged, or returned to normal with or without an acknowledgement. */
function stateKey(a: AlertJson): MessageKey {
  if (a.state === 'resolved') return a.acknowledged_at === null ? 'alertState.returnedUnacked' : 'alertState.resolved';
  return a.state === 'firing' ? 'alertState.firing' : 'alertState.acknowledged';
}

/** The checks (rules) that saw the scrap of one alert: what each saw against its limit, how serious, and when. */
function RuleHits({ rules, zone }: { rules: readonly AlertRuleHitJson[]; zone: string }) {
  const { t, lang } = useLocale();
  return (
    <ul class="rule-hits">
      {rules.map((h, i) => (
        <li key={i} class={`sev-${h.severity}`} data-rule={h.rule}>
          {t('alerts.ruleHit', { rule: h.rule, value: percent(lang, h.value), parts: h.parts, limit: percent(lang, h.threshold) })} · {t(`severity.${h.severity}`)} ·{' '}
          {h.resolved_at === null
            ? t('alerts.ruleSince', { time: dateTime(lang, h.fired_at, zone) })
            : t('alerts.ruleEnded', { from: dateTime(lang, h.fired_at, zone), to: timeOfDay(lang, h.resolved_at, zone) })}
        </li>
      ))}
    </ul>
  );
}

/** One line of an alert's trail: when, what (and which check, when it is about one), who. */
function eventText(t: Locale['t'], ev: Pick<AlertEventJson, 'event' | 'rule'>): string {
  return `${t(`alertEvent.${ev.event}` as MessageKey)}${ev.rule !== null ? ` (${ev.rule})` : ''}`;
}

/** The alerts, newest first, filtered by state, with a link to each alert's page: one row per incident, with the checks that saw it. */
export function AlertsView({ go }: { go: (to: string) => void }) {
  const { t, lang } = useLocale();
  const { zoneOf } = useSites();
  const [state, setState] = useState<(typeof STATES)[number]>('open');
  const [items, setItems] = useState<AlertJson[] | undefined>();
  useEffect(() => {
    const abort = new AbortController();
    void getJson<ListJson<AlertJson>>(`/api/v1/alerts?state=${state}&limit=500`, abort.signal).then((r) => setItems(r.items), () => undefined);
    return () => abort.abort();
  }, [state]);
  return (
    <section class="alerts">
      <h1>{t('alerts.title')}</h1>
      <div class="ranges" role="group" aria-label={t('alerts.filter')}>
        {STATES.map((s) => (
          <button type="button" key={s} aria-pressed={state === s} onClick={() => setState(s)}>
            {t(`alerts.state.${s}` as MessageKey)}
          </button>
        ))}
      </div>
      {items === undefined ? null : items.length === 0 ? (
        <p class="muted">{t('alerts.none')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>{t('alerts.started')}</th>
              <th>{t('alerts.machine')}</th>
              <th>{t('alerts.what')}</th>
              <th>{t('alerts.rules')}</th>
              <th>{t('alerts.stateCol')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <tr key={a.id} class={`sev-${a.severity}`}>
                <td>{dateTime(lang, a.started_at, zoneOf(a.machine))}</td>
                <td>{a.machine}</td>
                <td>
                  <a
                    href={`/alerts/${encodeURIComponent(a.id)}`}
                    onClick={(e) => {
                      e.preventDefault();
                      go(`/alerts/${encodeURIComponent(a.id)}`);
                    }}
                  >
                    {t('floor.alarm', { value: percent(lang, a.value), parts: a.parts, limit: percent(lang, a.threshold) })}
                  </a>
                </td>
                <td>
                  <RuleHits rules={a.rules} zone={zoneOf(a.machine)} />
                </td>
                <td>{t(stateKey(a))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** One alert: what happened, the checks that saw it, its audit trail, and the acknowledgement (one for all its checks) with a comment. */
export function AlertView({ id }: { id: string }) {
  const { t, lang } = useLocale();
  const mayOperate = useMayOperate();
  const { zoneOf } = useSites();
  const [alert, setAlert] = useState<AlertDetailJson | null | undefined>();
  const [comment, setComment] = useState('');
  const [note, setNote] = useState<string | undefined>();
  const [reloads, setReloads] = useState(0);
  useEffect(() => {
    void getJson<AlertDetailJson>(`/api/v1/alerts/${encodeURIComponent(id)}`).then(setAlert, () => setAlert(null));
  }, [id, reloads]);
  if (alert === undefined) return null;
  if (alert === null) return <p role="alert">{t('alerts.notFound')}</p>;
  const zone = zoneOf(alert.machine);
  const ack = async (e: Event) => {
    e.preventDefault();
    try {
      await postJson(`/api/v1/alerts/${encodeURIComponent(id)}/ack`, comment === '' ? {} : { comment });
      setNote(t('floor.acknowledged'));
      setReloads((n) => n + 1);
    } catch (err) {
      setNote(err instanceof ApiError && err.status === 403 ? t('floor.notAllowed') : t('floor.failed'));
    }
  };
  return (
    <section class="alert-detail">
      <h1>
        {alert.machine} · {alert.rule}
      </h1>
      <p class="big-text">{t('floor.alarm', { value: percent(lang, alert.value), parts: alert.parts, limit: percent(lang, alert.threshold) })}</p>
      <p>
        <strong>{t(stateKey(alert))}</strong>
        {alert.acknowledged_by !== null ? ` · ${t('floor.ackedBy', { name: alert.acknowledged_by })}` : ''}
        {alert.comment !== null ? ` · “${alert.comment}”` : ''}
      </p>
      {alert.acknowledged_at === null && mayOperate && (
        <form onSubmit={ack} class="ack-form">
          <label>
            {t('alerts.comment')}
            <input value={comment} maxLength={2000} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit">{t('floor.ack')}</button>
        </form>
      )}
      {note !== undefined && <p role="status">{note}</p>}
      <h2>{t('alerts.rules')}</h2>
      <RuleHits rules={alert.rules} zone={zone} />
      <h2>{t('alerts.trail')}</h2>
      <ul class="history">
        {alert.events.map((ev) => (
          <li key={ev.seq}>
            {dateTime(lang, ev.at, zone)} · {eventText(t, ev)} · {ev.by}
          </li>
        ))}
      </ul>
    </section>
  );
}
