import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('writes JSON lines and redacts secrets up to three levels deep', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination });
    log.info({ password: 'hunter2', source: { url: 'mqtt://x', password: 's3cret' }, headers: { authorization: 'Bearer abc' } }, 'Connected.');
    log.info({ config: { sources: [{ password: 'p4ss' }] } }, 'Config loaded.');
    log.info({ a: { b: { c: { token: 't0ken' } } }, req: { headers: { authorization: 'Basic xyz' } } }, 'Deep.');
    log.debug({ password: 'never' }, 'Below the level.');
    const text = JSON.stringify(lines);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ msg: 'Connected.', password: '[redacted]', source: { url: 'mqtt://x', password: '[redacted]' } });
    expect(text).not.toMatch(/hunter2|s3cret|Bearer abc|p4ss|never|t0ken|Basic xyz/);
  });

  it('pretty into a given stream, synchronously; messages only when asked', () => {
    let text = '';
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString();
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination, pretty: true, messagesOnly: true });
    log.warn({ password: 'hunter2', pending: 3 }, 'Writing failed.');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: Writing failed\.\n$/);
  });
});
