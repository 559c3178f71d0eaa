import { useState } from 'preact/hooks';
import type { SessionJson } from '../../../agent/src/api/contract.js';
import { ApiError, postJson } from '../api.js';
import { useLocale } from '../context.js';

/** The login form: name and password, for a dashboard whose agent has users. */
export function Login({ onLogin }: { onLogin: (s: SessionJson) => void }) {
  const { t } = useLocale();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      onLogin(await postJson<SessionJson>('/api/v1/login', { name, password }));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 429 ? t('login.tooMany') : err instanceof ApiError && err.status === 401 ? t('login.wrong') : t('login.failed'));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="login">
      <h1>{t('login.title')}</h1>
      <form onSubmit={submit}>
        <label>
          {t('login.name')}
          <input name="name" autocomplete="username" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t('login.password')}
          <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        {error !== undefined && <p role="alert">{error}</p>}
        <button type="submit" disabled={busy}>
          {t('login.submit')}
        </button>
      </form>
    </section>
  );
}
