import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../local/http-io.js';
import { isOwnOrigin } from '../../local/request-guard.js';

describe('loopback Host names (PROTOCOL §1)', () => {
  it.each([
    '127.0.0.1',
    '127.0.0.1:8080',
    '127.255.255.254:1',
    'localhost',
    'LOCALHOST:9',
    '[::1]',
    '[::1]:80',
  ])('accepts %s', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    undefined,
    '',
    'evil.example',
    '127.0.0.1.evil.example',
    'evil.localhost',
    'localhost.',
    'localhost:',
    '127.1',
    '127.0.0.01',
    '127.0.0.256',
    '0.0.0.0',
    '[::]',
    '[::ffff:127.0.0.1]',
    '127.0.0.1:80:80',
    ' 127.0.0.1',
  ])('refuses %s', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe("the console's own origin", () => {
  it('is http, a loopback name and the port the request came in on', () => {
    expect(isOwnOrigin('http://127.0.0.1:8080', 8080)).toBe(true);
    expect(isOwnOrigin('http://localhost:8080', 8080)).toBe(true);
    expect(isOwnOrigin('http://[::1]:8080', 8080)).toBe(true);
    expect(isOwnOrigin('http://localhost', 80)).toBe(true);
  });

  it.each([
    ['another port', 'http://127.0.0.1:8081'],
    ['https', 'https://127.0.0.1:8080'],
    ['another site', 'https://evil.example'],
    ['a rebound name on the same port', 'http://evil.example:8080'],
    ['null', 'null'],
    ['a path after the origin', 'http://127.0.0.1:8080/'],
    ['garbage', 'not a url'],
  ])('is not %s', (_name, origin) => {
    expect(isOwnOrigin(origin, 8080)).toBe(false);
  });
});
