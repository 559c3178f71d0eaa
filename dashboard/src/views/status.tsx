import { useEffect, useState } from 'preact/hooks';
import type { StatusJson } from '../../../agent/src/api/contract.js';
import { getJson } from '../api.js';
import { useLocale } from '../context.js';
import { amount } from '../format.js';
import type { MessageKey } from '../i18n.js';

/** How often the status is read again. */
const REFRESH_MS = 10_000;

/** What an installer checks first: the agent, its store, every source and part, every sink's delivery. */
export function StatusView() {
  const { t, lang } = useLocale();
  const [s, setS] = useState<StatusJson | undefined>();
  useEffect(() => {
    const load = () => void getJson<StatusJson>('/api/v1/status').then(setS, () => undefined);
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  if (s === undefined) return null;
  const when = (iso: string | null) => (iso === null ? '–' : new Date(iso).toLocaleString(lang === 'nl' ? 'nl-NL' : 'en-GB', { hourCycle: 'h23' }));
  return (
    <section class="status">
      <h1>{t('status.title')}</h1>
      <dl class="facts narrow">
        <dt>{t('status.agent')}</dt>
        <dd>{s.agent.id ?? '–'}</dd>
        <dt>{t('status.version')}</dt>
        <dd>{s.agent.version ?? '–'}</dd>
        <dt>{t('status.started')}</dt>
        <dd>{when(s.agent.started_at)}</dd>
        <dt>{t('status.store')}</dt>
        <dd>
          {s.store.kind === 'influxdb'
            ? t('status.influxdb', { url: s.store.url ?? '' })
            : `${amount(lang, (s.store.size_bytes ?? 0) / 1e6, 1)} MB · ${t('status.windows', { count: amount(lang, s.store.windows ?? 0) })}`}
        </dd>
      </dl>
      <h2>{t('status.parts')}</h2>
      <table>
        <thead>
          <tr>
            <th>{t('status.part')}</th>
            <th>{t('status.state')}</th>
            <th>{t('status.why')}</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(s.parts).map(([name, h]) => (
            <tr key={name} class={`health-${h.status}`}>
              <td>{name}</td>
              <td>{t(`health.${h.status}` as MessageKey)}</td>
              <td>{h.reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>{t('status.sinks')}</h2>
      {s.sinks.length === 0 ? (
        <p class="muted">{t('status.noSinks')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>{t('status.sink')}</th>
              <th>{t('status.state')}</th>
              <th>{t('status.backlog')}</th>
              <th>{t('status.lastSuccess')}</th>
              <th>{t('status.lastError')}</th>
            </tr>
          </thead>
          <tbody>
            {s.sinks.map((k) => (
              <tr key={k.sink} class={`health-${k.status}`}>
                <td>
                  {k.sink} ({k.type})
                </td>
                <td>{t(`health.${k.status}` as MessageKey)}</td>
                <td>
                  {t('status.records', { count: amount(lang, k.backlog_records) })}
                  {k.oldest_record_age_s !== null ? ` · ${t('status.oldest', { seconds: amount(lang, k.oldest_record_age_s) })}` : ''}
                </td>
                <td>{when(k.last_success_at)}</td>
                <td>{k.last_error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
