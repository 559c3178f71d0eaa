/**
 * How long a stop (SIGTERM, Ctrl-C) may take: the sources disconnect, the last commit saves the
 * checkpoint and the sinks stop. Beyond it the process exits anyway (what is committed is safe;
 * QoS 1 messages not acknowledged come again). deploy/systemd/yieldwatch.service waits longer
 * (TimeoutStopSec) before it kills.
 */
export const SHUTDOWN_DEADLINE_MS = 20_000;

/**
 * Runs `stop` and resolves with 'stopped' when it finishes, or 'late' once `deadlineMs` passed
 * first (`stop` is left running; the caller exits). A failed stop rejects.
 */
export function stopWithin(stop: () => Promise<void>, deadlineMs: number): Promise<'stopped' | 'late'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve('late'), deadlineMs);
    // The deadline alone must not keep the process alive.
    timer.unref();
    stop().then(
      () => {
        clearTimeout(timer);
        resolve('stopped');
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
