import { useContext, useEffect, useState } from 'preact/hooks';
import type { OverviewJson } from '../../agent/src/api/contract.js';
import { getJson } from './api.js';
import { SessionContext } from './context.js';
import { openLive } from './live.js';

/** How often the shift and day sums are read again; the current window comes live. */
const REFRESH_MS = 30_000;
/** The central dashboard has no live stream: it reads everything this often. */
const CENTRAL_REFRESH_MS = 15_000;
/** After a live window or alert, the sums are read again this much later (one read for a burst of windows). */
const SOON_MS = 3_000;

/**
 * Where every machine stands (`/api/v1/overview`), kept live: new windows from the stream replace
 * a machine's current window at once, and the whole overview is read again soon after any event,
 * every 30 s, and when the stream comes back after a drop. `live` says whether the stream is up.
 * The central dashboard (over InfluxDB) has no stream: it reads the overview every 15 s.
 */
export function useOverview(): { data: OverviewJson | undefined; error: string | undefined; live: boolean; reload: () => void } {
  const [data, setData] = useState<OverviewJson | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [live, setLive] = useState(true);
  const [reloads, setReloads] = useState(0);
  const central = useContext(SessionContext)?.central === true;

  useEffect(() => {
    const abort = new AbortController();
    const load = () =>
      getJson<OverviewJson>('/api/v1/overview', abort.signal).then(
        (d) => {
          setData(d);
          setError(undefined);
        },
        (e: Error) => {
          if (!abort.signal.aborted) setError(e.message);
        },
      );
    void load();
    const timer = setInterval(load, central ? CENTRAL_REFRESH_MS : REFRESH_MS);
    if (central) {
      return () => {
        abort.abort();
        clearInterval(timer);
      };
    }
    /** Whether the stream was ever down: its first opening needs no read of its own (the one above is it). */
    let dropped = false;
    let soon: ReturnType<typeof setTimeout> | undefined;
    const reloadSoon = () => {
      soon ??= setTimeout(() => {
        soon = undefined;
        void load();
      }, SOON_MS);
    };
    const close = openLive(
      (e) => {
        reloadSoon();
        if (e.type !== 'window') return;
        const w = e.window;
        setData((d) =>
          d === undefined
            ? d
            : { ...d, items: d.items.map((m) => (m.machine === w.machine && (m.window === null || w.window_start >= m.window.window_start) ? { ...m, window: w, stale: false } : m)) },
        );
      },
      (up) => {
        setLive(up);
        // Back after a drop: what was missed comes with a fresh read.
        if (up && dropped) void load();
        if (!up) dropped = true;
      },
    );
    return () => {
      abort.abort();
      clearInterval(timer);
      clearTimeout(soon);
      close();
    };
  }, [reloads, central]);

  return { data, error, live, reload: () => setReloads((n) => n + 1) };
}
