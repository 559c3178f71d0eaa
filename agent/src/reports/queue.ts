import { YieldwatchError } from '../core/errors.js';

/** More reports were asked for than wait their turn: the caller should try again shortly. */
export class ReportBusyError extends YieldwatchError {
  constructor(waiting: number) {
    super('YW_ERR_REPORT_BUSY', `${waiting} reports are already waiting to be made; try again in a moment`);
  }
}

/**
 * Makes reports one at a time, with at most `maxWaiting` waiting their turn; beyond, a
 * ReportBusyError. Reading and summing a month of a plant holds the event loop for a second or
 * two and a hundred MiB or so: several at once on a Raspberry Pi would stall the dashboard
 * and the pipeline's emissions together, and could run it out of memory.
 */
export function reportQueue(maxWaiting: number): <T>(make: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  // The one being made and the ones waiting.
  let pending = 0;
  return (make) => {
    if (pending > maxWaiting) return Promise.reject(new ReportBusyError(pending - 1));
    pending++;
    const run = tail.then(make).finally(() => pending--);
    tail = run.catch(() => undefined);
    return run;
  };
}
