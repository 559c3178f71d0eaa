import { describe, expect, it } from 'vitest';
import { stopWithin } from './shutdown.js';

describe('stopping within the shutdown deadline', () => {
  it('a stop that finishes in time is stopped; one that hangs is late at the deadline; a failed one rejects', async () => {
    expect(await stopWithin(() => new Promise((r) => setTimeout(r, 5)), 1000)).toBe('stopped');
    const t0 = Date.now();
    expect(await stopWithin(() => new Promise<void>(() => undefined), 50)).toBe('late');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    await expect(stopWithin(() => Promise.reject(new Error('store closed twice')), 1000)).rejects.toThrow('store closed twice');
  });
});
