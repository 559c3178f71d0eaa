import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from './loopback.js';

describe('a loopback host', () => {
  it('localhost, 127.x and ::1 with or without a port are this machine; anything else is not', () => {
    for (const h of ['localhost', 'localhost:8080', '127.0.0.1', '127.1.2.3:80', '::1', '[::1]', '[::1]:8080']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.5:8080', 'edge-01', '127.0.0.1.evil.example', 'localhost.evil.example:80', '[::]', '']) expect(isLoopbackHost(h), h).toBe(false);
  });
});
