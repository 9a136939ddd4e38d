/**
 * A stack that admits anonymous connections (SWITCHBOARD_ALLOW_ANONYMOUS=true): a bad token is
 * still refused with 401 (never downgraded to anonymous), and an anonymous connection reads only
 * what `anyone` may read, cannot ask for stats, and cannot refresh itself into a user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeJwt, LeakWatch, nowSeconds, plantedClaims } from '../support/hostile-jwt.js';
import {
  attemptHandshake,
  expectCleanLogs,
  expectStillServing,
  type HandshakeOptions,
  useHostileStack,
} from '../support/hostile-stack.js';
import { TEST_SECRET } from '../support/local-stack.js';
import { TestClient } from '../support/ws-client.js';

const watch = new LeakWatch();
const suite = useHostileStack({ SWITCHBOARD_ALLOW_ANONYMOUS: 'true' });
let anonymous: TestClient;
let anonymousId: string;

const sign = (claims: Record<string, unknown>, secret = TEST_SECRET) =>
  watch.sent(forgeJwt({ alg: 'HS256', typ: 'JWT' }, claims, { hmac: secret }));

beforeAll(async () => {
  anonymous = await TestClient.connect(suite.stack.websocketUrl);
  anonymousId = String((await anonymous.request({ action: 'whoami' })).connectionId);
});

afterAll(async () => {
  await anonymous?.close();
});

describe('a bad token is never downgraded to an anonymous connection', () => {
  it('admits a connection without any token as anonymous (control)', async () => {
    expect(await anonymous.request({ action: 'whoami' })).toMatchObject({
      type: 'connected',
      user: { roles: [] },
      authorizedChannels: ['announcements'],
    });
  });

  it.each<[string, () => HandshakeOptions | string]>([
    ['a garbage token', () => ({ token: 'garbage' })],
    [
      'an expired token',
      () => ({ token: sign(plantedClaims(watch, { iat: nowSeconds() - 600, exp: nowSeconds() - 120 })) }),
    ],
    [
      'alg "none"',
      () => ({ token: watch.sent(forgeJwt({ alg: 'none' }, plantedClaims(watch), { signature: '' })) }),
    ],
    [
      'a token signed with another secret',
      () => ({ token: sign(plantedClaims(watch), 'another-secret-of-at-least-32-bytes-long') }),
    ],
    ['a token without sub', () => ({ token: sign({ exp: nowSeconds() + 60 }) })],
    ['an empty ?token=', () => `${suite.stack.websocketUrl}?token=`],
    ['an empty token- subprotocol', () => ({ protocols: ['token-'] })],
    ['a Basic Authorization header', () => ({ headers: { Authorization: 'Basic dXNlcjpwYXNzd29yZA==' } })],
    [
      'two different valid tokens',
      () => ({ token: sign(plantedClaims(watch)), protocols: [`token-${sign(plantedClaims(watch))}`] }),
    ],
  ])('%s is refused with 401', async (_name, make) => {
    const target = make();
    const outcome =
      typeof target === 'string'
        ? await attemptHandshake(suite.probe, target)
        : await attemptHandshake(suite.probe, suite.stack.websocketUrl, target);
    expect(outcome).toEqual({ status: 401, stored: [] });
    await expectStillServing(anonymous);
  });
});

describe('an anonymous connection', () => {
  it.each([
    ['an ordinary channel', 'general'],
    ['a user channel', 'user:bob'],
    ['its own would-be user channel', 'user:anonymous'],
    ['a system channel', 'system:ops'],
  ])('subscribing to %s gets subscription_failed and stores nothing', async (_name, channel) => {
    expect(await anonymous.request({ action: 'subscribe', channel })).toMatchObject({
      type: 'error',
      code: 'subscription_failed',
      channel,
    });
    await expectStillServing(anonymous);
    expect(await suite.probe.subscriptionsOf(anonymousId)).toEqual({ items: [], channels: [] });
  });

  it('asking for stats gets unauthorized', async () => {
    expect(await anonymous.request({ action: 'stats' })).toMatchObject({
      type: 'error',
      code: 'unauthorized',
    });
    await expectStillServing(anonymous);
  });

  it('refreshing with a valid token of a user gets unauthorized, and it stays anonymous', async () => {
    const token = sign(plantedClaims(watch, { roles: ['admin'] }));
    expect(await anonymous.request({ action: 'refresh', token })).toMatchObject({
      type: 'error',
      code: 'unauthorized',
    });
    expect(await anonymous.request({ action: 'whoami' })).toMatchObject({ user: { roles: [] } });
    expect(await anonymous.request({ action: 'stats' })).toMatchObject({
      type: 'error',
      code: 'unauthorized',
    });
  });

  it('may read announcements (control)', async () => {
    expect(await anonymous.request({ action: 'subscribe', channel: 'announcements' })).toMatchObject({
      type: 'subscribed',
    });
  });
});

describe('afterwards', () => {
  it('the stack still serves, and its logs hold no token and no planted claim', async () => {
    await expectStillServing(anonymous);
    const logs = suite.stack.logs();
    expect(logs).toMatch(/handshake refused/);
    expectCleanLogs(logs, watch);
  });
});
