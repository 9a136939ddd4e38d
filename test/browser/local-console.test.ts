/**
 * The local stack's browser console in real Chromium: the test client page (`/`), which runs the
 * SDK bundled for browsers, and the admin dashboard (`/admin`). Events are published with the real
 * EventBridge client and connections cut with the real Management API client, against the stack
 * `npm start` runs.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardState } from '../../local/console/dashboard-state.js';
import { localCredentials } from '../support/dynamodb.js';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';
import { launchChromium, saveScreenshot, skipWithoutChromium } from './chromium.js';

const WAIT_MS = 10_000;

let stack: RunningStack;
let bus: EventBridgeClient;
let management: ApiGatewayManagementApiClient;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Uncaught errors and console errors of every page, by page. */
const pageErrors = new Map<Page, string[]>();

async function newPage(viewport = { width: 1280, height: 860 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return page;
}

/** Opens the test page, connects with `token` (pasted, or minted with the page's form) and subscribes. */
async function openTestPage(
  login: { readonly token: string } | { readonly mint: string },
  channels: readonly string[],
): Promise<Page> {
  const page = await newPage();
  await page.goto(`${stack.baseUrl}/`);
  if ('token' in login) {
    await page.fill('#token', login.token);
  } else {
    await page.click('#mint summary');
    await page.fill('#mint-sub', login.mint);
    await page.click('#mint-button');
    await page.locator('#log li', { hasText: `minted a local token for ${login.mint}` }).waitFor();
  }
  await page.click('#connect');
  await page.locator('[data-testid="state"][data-state="open"]').waitFor({ timeout: WAIT_MS });
  for (const channel of channels) {
    await page.fill('#channel', channel);
    await page.press('#channel', 'Enter');
    await page
      .locator(`#channels li[data-channel="${channel}"][data-status="subscribed"]`)
      .waitFor({ timeout: WAIT_MS });
  }
  await page.locator('[data-testid="connection-id"]:not(:empty)').waitFor({ timeout: WAIT_MS });
  return page;
}

function eventItem(page: Page, eventId: string) {
  return page.locator(`#events li[data-event-id="${eventId}"]`);
}

async function connectionIdOf(page: Page): Promise<string> {
  return (await page.textContent('[data-testid="connection-id"]'))?.trim() ?? '';
}

async function openDashboard(token: string): Promise<Page> {
  const page = await newPage({ width: 1400, height: 900 });
  await page.goto(`${stack.baseUrl}/admin`);
  await page.fill('#admin-token', token);
  await page.click('#open');
  return page;
}

function adminApi(path: string, token?: string): Promise<Response> {
  return fetch(`${stack.baseUrl}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
}

describe.skipIf(skipWithoutChromium)('the local console in Chromium', () => {
  beforeAll(async () => {
    // First, so that a required but missing Chromium fails before anything else starts.
    browser = await launchChromium();
    stack = await startStack();
    bus = eventBridge(stack.baseUrl);
    management = new ApiGatewayManagementApiClient({
      endpoint: `${stack.baseUrl}/ws`,
      region: 'local',
      credentials: localCredentials,
    });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    bus?.destroy();
    management?.destroy();
    await stack?.stop();
  });

  it('connects the test page, subscribes, and shows an event published through EventBridge', async () => {
    // Prepare
    const page = await openTestPage({ token: await tokenFor({ sub: 'alice' }) }, ['news']);
    // Act
    const id = await publish(
      bus,
      { channel: 'news', data: { headline: 'Switchboard ships a test page' } },
      { Source: 'newsroom', DetailType: 'story_published' },
    );
    // Assess
    const item = eventItem(page, id);
    await item.waitFor({ timeout: WAIT_MS });
    expect(await item.getAttribute('data-channel')).toBe('news');
    expect(await item.getAttribute('data-event-type')).toBe('story_published');
    const text = await item.textContent();
    expect(text).toContain(id);
    expect(text).toContain('seq 1');
    expect(text).toContain('"headline": "Switchboard ships a test page"');
    expect(await page.textContent('#user')).toContain('alice');
    expect(pageErrors.get(page)).toEqual([]);
  });

  it('sends a ping on the SDK connection and shows the pong', async () => {
    // Prepare
    const page = await openTestPage({ token: await tokenFor({ sub: 'paula' }) }, []);
    // Act
    await page.click('#ping');
    // Assess
    await page.locator('[data-testid="ping-result"]', { hasText: /pong in \d+ ms/ }).waitFor();
    expect(pageErrors.get(page)).toEqual([]);
  });

  it('keeps receiving events across a server-side disconnect: the SDK reconnects and resubscribes', async () => {
    // Prepare: a token minted by the page itself (POST /local/token)
    const page = await openTestPage({ mint: 'bob' }, ['orders', 'announcements']);
    const before = await publish(bus, { channel: 'orders', data: { order: 1, status: 'paid' } });
    await eventItem(page, before).waitFor({ timeout: WAIT_MS });
    const firstConnection = await connectionIdOf(page);
    // Act: API Gateway's DeleteConnection, through the real SDK client
    await management.send(new DeleteConnectionCommand({ ConnectionId: firstConnection }));
    await page.locator('#log li', { hasText: 'reconnecting (attempt 1)' }).waitFor({ timeout: WAIT_MS });
    await page
      .locator('#log li', { hasText: 'reconnected; channels resubscribed' })
      .waitFor({ timeout: WAIT_MS });
    await page
      .locator('#channels li[data-channel="orders"][data-status="subscribed"]')
      .waitFor({ timeout: WAIT_MS });
    await page.waitForFunction(
      (previous) => {
        const shown = document.querySelector('[data-testid="connection-id"]')?.textContent ?? '';
        return shown !== '' && shown !== previous;
      },
      firstConnection,
      { timeout: WAIT_MS },
    );
    const after = await publish(
      bus,
      { channel: 'orders', data: { order: 2, status: 'shipped' } },
      { DetailType: 'order_shipped' },
    );
    await publish(
      bus,
      { channel: 'announcements', data: { text: 'Maintenance at 22:00 UTC' } },
      { DetailType: 'notice' },
    );
    // Assess
    await eventItem(page, after).waitFor({ timeout: WAIT_MS });
    expect(await eventItem(page, after).textContent()).toContain('seq 2');
    expect(await eventItem(page, before).count()).toBe(1);
    expect(await page.getAttribute('[data-testid="state"]', 'data-state')).toBe('open');
    await page.locator('#events li[data-channel="announcements"]').waitFor({ timeout: WAIT_MS });
    await page.click('#ping');
    await page.locator('[data-testid="ping-result"]', { hasText: /pong in \d+ ms/ }).waitFor();
    await saveScreenshot(page, 'test-page.png');
    expect(pageErrors.get(page)).toEqual([]);
  });

  it('shows connections and events with delivery counts on the dashboard, to admins only', async () => {
    // Prepare
    const client = await openTestPage({ token: await tokenFor({ sub: 'carol' }) }, ['metrics', 'user:carol']);
    const connectionId = await connectionIdOf(client);
    const delivered = await publish(
      bus,
      { channel: 'metrics', data: { cpu: 0.42 } },
      { Source: 'monitoring', DetailType: 'cpu_sampled' },
    );
    await eventItem(client, delivered).waitFor({ timeout: WAIT_MS });
    const adminToken = await tokenFor({ sub: 'ops', roles: ['admin'] });

    // Act 1: a token without the admin role
    const refused = await openDashboard(await tokenFor({ sub: 'dave' }));
    // Assess 1
    const loginError = refused.locator('[data-testid="login-error"]');
    await loginError.waitFor({ timeout: WAIT_MS });
    expect(await loginError.textContent()).toContain('403');
    expect(await loginError.textContent()).toContain('admin role');
    expect(await refused.isHidden('#dashboard')).toBe(true);

    // Act 2: an admin token
    const dashboard = await openDashboard(adminToken);
    // Assess 2: the connection, its user and subscriptions, and the event with its delivery count
    await dashboard.locator('[data-testid="stream"][data-state="open"]').waitFor({ timeout: WAIT_MS });
    const row = dashboard.locator(`#connections tr[data-connection-id="${connectionId}"]`);
    await row.waitFor({ timeout: WAIT_MS });
    const rowText = await row.textContent();
    expect(rowText).toContain('carol');
    expect(rowText).toContain('metrics');
    expect(rowText).toContain('user:carol');
    expect(await row.getAttribute('data-status')).toBe('open');
    const deliveries = dashboard.locator(
      `#events tr[data-event-id="${delivered}"] [data-testid="deliveries"]`,
    );
    await deliveries.filter({ hasText: /^1$/ }).waitFor({ timeout: WAIT_MS });
    expect(await dashboard.getAttribute(`#events tr[data-event-id="${delivered}"]`, 'data-status')).toBe(
      'published',
    );
    await dashboard.locator('#channels tr[data-channel="metrics"]').waitFor();

    // Act 3: live updates, pushed over the stream while the dashboard is open
    const live = await publish(
      bus,
      { channel: 'metrics', data: { cpu: 0.97 } },
      { DetailType: 'cpu_sampled' },
    );
    // Assess 3
    await dashboard
      .locator(`#events tr[data-event-id="${live}"] [data-testid="deliveries"]`, { hasText: /^1$/ })
      .waitFor({ timeout: WAIT_MS });
    await saveScreenshot(dashboard, 'dashboard.png');
    expect(pageErrors.get(dashboard)).toEqual([]);
    expect(pageErrors.get(refused)?.filter((e) => !e.includes('403'))).toEqual([]);
  });

  it('shows broadcasts and direct messages on the test page and the dashboard like any other event', async () => {
    // Prepare: a page subscribed to the reserved channel `broadcast`, and the dashboard
    const page = await openTestPage({ token: await tokenFor({ sub: 'grace' }) }, ['broadcast']);
    const connectionId = await connectionIdOf(page);
    const dashboard = await openDashboard(await tokenFor({ sub: 'ops', roles: ['admin'] }));
    await dashboard.locator('[data-testid="stream"][data-state="open"]').waitFor({ timeout: WAIT_MS });
    // Act: a broadcast to every connection without a tenant, and a message to this one connection
    const broadcast = await publish(
      bus,
      { broadcast: true, data: { notice: 'all hands at 15:00' } },
      { Source: 'hr', DetailType: 'all_hands' },
    );
    const direct = await publish(
      bus,
      { connection_id: connectionId, data: { command: 'reload' } },
      { Source: 'agent-hub', DetailType: 'command' },
    );
    // Assess: the page shows the broadcast once, numbered, on channel broadcast
    const item = eventItem(page, broadcast);
    await item.waitFor({ timeout: WAIT_MS });
    expect(await item.getAttribute('data-channel')).toBe('broadcast');
    expect(await item.getAttribute('data-event-type')).toBe('all_hands');
    expect(await item.textContent()).toContain('"notice": "all hands at 15:00"');
    expect(await item.textContent()).toMatch(/seq \d+/);
    expect(await eventItem(page, broadcast).count()).toBe(1);
    // The message to this connection arrives without a subscription, unnumbered
    const directItem = eventItem(page, direct);
    await directItem.waitFor({ timeout: WAIT_MS });
    expect(await directItem.getAttribute('data-channel')).toBe(`connection:${connectionId}`);
    expect(await directItem.textContent()).toContain('"command": "reload"');
    expect(await directItem.textContent()).not.toMatch(/seq \d+/);
    // The dashboard names where each went and counts the deliveries to this connection
    const broadcastRow = dashboard.locator(`#events tr[data-event-id="${broadcast}"]`);
    await broadcastRow.waitFor({ timeout: WAIT_MS });
    expect(await broadcastRow.textContent()).toContain('broadcast');
    await broadcastRow
      .locator('[data-testid="deliveries"]')
      .filter({ hasText: /^[1-9]\d*$/ })
      .waitFor({ timeout: WAIT_MS });
    const directRow = dashboard.locator(`#events tr[data-event-id="${direct}"]`);
    await directRow.waitFor({ timeout: WAIT_MS });
    expect(await directRow.textContent()).toContain(`connection:${connectionId}`);
    await directRow.locator('[data-testid="deliveries"]', { hasText: /^1$/ }).waitFor({ timeout: WAIT_MS });
    expect(await directRow.getAttribute('data-status')).toBe('published');
    expect(pageErrors.get(page)).toEqual([]);
    expect(pageErrors.get(dashboard)).toEqual([]);
  });

  it('lets two pages in one room publish to each other, with the sender shown, and refuses a channel outside the policy', async () => {
    // Prepare
    const alice = await openTestPage({ token: await tokenFor({ sub: 'alice' }) }, ['room:42']);
    const bob = await openTestPage({ token: await tokenFor({ sub: 'bob' }) }, ['room:42']);
    const publishFrom = async (page: Page, channel: string, text: string): Promise<string> => {
      await page.fill('#publish-channel', channel);
      await page.fill('#publish-type', 'chat_message');
      await page.fill('#publish-data', JSON.stringify({ text }));
      await page.click('#publish');
      const result = page.locator('[data-testid="publish-result"]', { hasText: /^(Published|Refused)/ });
      await result.waitFor({ timeout: WAIT_MS });
      const shown = (await result.textContent()) ?? '';
      await page.evaluate(() => {
        const node = document.querySelector('[data-testid="publish-result"]');
        if (node) node.textContent = '';
      });
      return shown;
    };
    // Act
    const fromAlice = (await publishFrom(alice, 'room:42', 'hi bob')).replace('Published ', '');
    const fromBob = (await publishFrom(bob, 'room:42', 'hi alice')).replace('Published ', '');
    const refused = await publishFrom(bob, 'news', 'not a room');
    // Assess: each page shows both messages, each with its sender
    for (const page of [alice, bob]) {
      for (const [id, sender, text] of [
        [fromAlice, 'alice', 'hi bob'],
        [fromBob, 'bob', 'hi alice'],
      ] as const) {
        const item = eventItem(page, id);
        await item.waitFor({ timeout: WAIT_MS });
        expect(await item.getAttribute('data-channel')).toBe('room:42');
        expect(await item.getAttribute('data-event-type')).toBe('chat_message');
        expect(await item.locator('[data-testid="sender"]').textContent()).toBe(`from ${sender}`);
        expect(await item.textContent()).toContain(`"text": "${text}"`);
      }
    }
    expect(refused).toMatch(/^Refused: unauthorized/);
    expect(await bob.getAttribute('[data-testid="state"]', 'data-state')).toBe('open');
    // The dashboard lists client publishes beside PutEvents entries, with their deliveries
    const dashboard = await openDashboard(await tokenFor({ sub: 'ops', roles: ['admin'] }));
    const row = dashboard.locator(`#events tr[data-event-id="${fromAlice}"]`);
    await row.locator('[data-testid="deliveries"]', { hasText: /^2$/ }).waitFor({ timeout: WAIT_MS });
    expect(await row.textContent()).toContain('switchboard.client');
    expect(pageErrors.get(alice)).toEqual([]);
    expect(pageErrors.get(bob)).toEqual([]);
  });

  it('shows who is in a room on both pages and on the dashboard, live as people join and leave', async () => {
    // Prepare: alice first, then bob joins the same room
    const room = 'room:presence';
    const members = (page: Page) =>
      page.locator(`#channels li[data-channel="${room}"] [data-testid="members"]`);
    const alice = await openTestPage({ token: await tokenFor({ sub: 'alice' }) }, [room]);
    await members(alice).filter({ hasText: '1 here: alice' }).waitFor({ timeout: WAIT_MS });
    // Act 1
    const bob = await openTestPage({ token: await tokenFor({ sub: 'bob' }) }, [room]);
    // Assess 1: bob's page asked presence; alice's page heard bob's join
    await members(bob).filter({ hasText: '2 here: alice, bob' }).waitFor({ timeout: WAIT_MS });
    await members(alice).filter({ hasText: '2 here: alice, bob' }).waitFor({ timeout: WAIT_MS });
    const dashboard = await openDashboard(await tokenFor({ sub: 'ops', roles: ['admin'] }));
    await dashboard
      .locator(`#channels tr[data-channel="${room}"] [data-testid="presence"]`, { hasText: '2: alice, bob' })
      .waitFor({ timeout: WAIT_MS });
    // Act 2: bob closes the connection
    await bob.click('#disconnect');
    // Assess 2
    await members(alice).filter({ hasText: '1 here: alice' }).waitFor({ timeout: WAIT_MS });
    await alice.locator('#log li', { hasText: `bob left ${room}` }).waitFor({ timeout: WAIT_MS });
    await dashboard
      .locator(`#channels tr[data-channel="${room}"] [data-testid="presence"]`, { hasText: /^1: alice$/ })
      .waitFor({ timeout: WAIT_MS });
    expect(pageErrors.get(alice)).toEqual([]);
    expect(pageErrors.get(dashboard)).toEqual([]);
  });

  it('answers the dashboard API with 401 without a token, 403 without the admin role, and the state to admins', async () => {
    // Prepare
    const client = await openTestPage({ token: await tokenFor({ sub: 'erin' }) }, ['weather']);
    const connectionId = await connectionIdOf(client);
    const id = await publish(bus, { channel: 'weather', data: { rain: true } });
    await eventItem(client, id).waitFor({ timeout: WAIT_MS });
    // Act
    const anonymous = await adminApi('/admin/api/state');
    const user = await adminApi('/admin/api/state', await tokenFor({ sub: 'erin' }));
    const forged = await adminApi('/admin/api/state', `${await tokenFor({ sub: 'ops', roles: ['admin'] })}x`);
    const admin = await adminApi('/admin/api/state', await tokenFor({ sub: 'ops', roles: ['admin'] }));
    const stream = await adminApi('/admin/api/stream', await tokenFor({ sub: 'erin' }));
    // Assess
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(await anonymous.json()).toMatchObject({ success: false, error: { code: 'unauthorized' } });
    expect(user.status).toBe(403);
    expect(await user.json()).toMatchObject({ success: false, error: { code: 'forbidden' } });
    expect(forged.status).toBe(401);
    expect(stream.status).toBe(403);
    expect(admin.status).toBe(200);
    const state = (await admin.json()) as DashboardState;
    expect(state.connections).toContainEqual(
      expect.objectContaining({ connectionId, userId: 'erin', status: 'open', channels: ['weather'] }),
    );
    expect(state.channels).toContainEqual({ channel: 'weather', subscribers: 1 });
    // A delivery is counted once the frame is posted; the page has shown it, so it was.
    expect(state.events).toContainEqual(
      expect.objectContaining({ id, channels: ['weather'], deliveries: 1 }),
    );
  });

  it('signs the dashboard out when its token expires, as the stream ends with it', async () => {
    // Prepare
    const token = await tokenFor({ sub: 'ops', roles: ['admin'], ttlSeconds: 3 });
    // Act
    const dashboard = await openDashboard(token);
    await dashboard.locator('[data-testid="stream"][data-state="open"]').waitFor({ timeout: WAIT_MS });
    // Assess
    await dashboard
      .locator('[data-testid="login-error"]', { hasText: 'token expired' })
      .waitFor({ timeout: WAIT_MS });
    expect(await dashboard.isHidden('#dashboard')).toBe(true);
    expect(await dashboard.textContent('[data-testid="stream"]')).toBe('signed out');
  });

  it("publishes from the dashboard's form through PutEvents, and the test page receives it", async () => {
    // Prepare
    const client = await openTestPage({ token: await tokenFor({ sub: 'frank' }) }, ['deploys']);
    const dashboard = await openDashboard(await tokenFor({ sub: 'ops', roles: ['admin'] }));
    await dashboard.locator('[data-testid="stream"][data-state="open"]').waitFor({ timeout: WAIT_MS });
    // Act
    await dashboard.fill('#publish-channels', 'deploys');
    await dashboard.fill('#publish-type', 'deploy_finished');
    await dashboard.fill('#publish-data', '{"service":"api","version":"1.4.2"}');
    await dashboard.click('#publish-button');
    // Assess
    const result = dashboard.locator('[data-testid="publish-result"]', { hasText: /^Published / });
    await result.waitFor({ timeout: WAIT_MS });
    const id = ((await result.textContent()) ?? '').replace('Published ', '').trim();
    await eventItem(client, id).waitFor({ timeout: WAIT_MS });
    expect(await eventItem(client, id).getAttribute('data-event-type')).toBe('deploy_finished');
    expect(await eventItem(client, id).textContent()).toContain('"version": "1.4.2"');
    await dashboard
      .locator(`#events tr[data-event-id="${id}"] [data-testid="deliveries"]`, { hasText: /^1$/ })
      .waitFor({ timeout: WAIT_MS });
    expect(pageErrors.get(dashboard)).toEqual([]);
  });
});
