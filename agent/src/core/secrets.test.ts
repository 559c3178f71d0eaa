import { describe, expect, it } from 'vitest';
import { isSecretPath, redactSecrets, secretValues, urlOrigin } from './secrets.js';

describe('secrets', () => {
  it('knows secret keys wherever they are in a path', () => {
    expect(isSecretPath(['api', 'tokens', 0, 'name'])).toBe(true);
    expect(isSecretPath(['sinks', 1, 'headers', 'X-Anything'])).toBe(true);
    expect(isSecretPath(['sinks', 1, 'auth', 'userName'])).toBe(true);
    expect(isSecretPath(['sources', 0, 'password'])).toBe(true);
    expect(isSecretPath(['reports', 'schedules', 0, 'email', 'smtp', 'password'])).toBe(true);
    expect(isSecretPath(['api', 'host'])).toBe(false);
    expect(isSecretPath(['kpi', 'windowSize'])).toBe(false);
  });

  it('shows a URL by scheme and host only', () => {
    expect(urlOrigin('https://hooks.slack.com/services/T0/B0/XYZ')).toBe('https://hooks.slack.com/…');
    expect(urlOrigin('mqtt://user:pw@broker:1883')).toBe('mqtt://broker:1883/…');
    expect(urlOrigin('http://127.0.0.1:8086')).toBe('http://127.0.0.1:8086');
  });

  it('collects the secret values of a config section, with the secret parts of its URLs', () => {
    const values = secretValues({
      type: 'webhook',
      url: 'https://user:url-pass@hooks.example/services/T0/B0/XYZ?sig=abc',
      secret: 'hmac-secret-0123456789',
      headers: { 'X-Api-Key': 'header-key-1' },
      auth: { type: 'password', userName: 'writer', password: 'influx-pw' },
      timeout: 10_000,
    });
    expect(values.sort()).toEqual(['/services/T0/B0/XYZ?sig=abc', 'header-key-1', 'hmac-secret-0123456789', 'influx-pw', 'url-pass', 'writer'].sort());
  });

  it('redacts credentials an upstream answer echoes, and the configured secrets, then cuts to a bound', () => {
    const cases: [string, string][] = [
      ['401 Unauthorized: Authorization: Bearer abcDEF0123456789 was refused', '401 Unauthorized: Authorization: [redacted] was refused'],
      ['{"error":"bad header","authorization":"Basic dXNlcjpwYXNzd29yZA=="}', '{"error":"bad header","authorization":"[redacted]"}'],
      ['echo: Bearer abcDEF0123456789xyz', 'echo: Bearer [redacted]'],
      ['Token 7Hq3-abcdefgh-99 is not valid', 'Token [redacted] is not valid'],
      ['GET /query?u=writer&p=influx-pw&q=SHOW failed', 'GET /query?u=writer&p=[redacted]&q=SHOW failed'],
      ['POST /x?token=abc123&x=1 password=hunter2', 'POST /x?token=[redacted]&x=1 password=[redacted]'],
      ['{"access_token": "abc.def.ghi", "password":"pw"}', '{"access_token": "[redacted]", "password":"[redacted]"}'],
      ['connect mqtt://edge:broker-pw@10.0.0.5:1883 failed', 'connect mqtt://edge:[redacted]@10.0.0.5:1883 failed'],
      ['Basic authentication failed', 'Basic authentication failed'],
      ['invalid signature for my-configured-secret', 'invalid signature for [redacted]'],
      ['path my%20configured%20secret', 'path [redacted]'],
    ];
    for (const [text, want] of cases) expect(redactSecrets(text, ['my-configured-secret', 'my configured secret'])).toBe(want);
    const long = redactSecrets(`<html>\n  <body>${'x'.repeat(1000)}</body>\n</html>`);
    expect(long.length).toBe(300);
    expect(long.endsWith('…')).toBe(true);
    expect(long).not.toContain('\n');
  });
});
