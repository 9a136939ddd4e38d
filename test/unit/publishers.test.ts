/**
 * Publish's own check of who may publish where (`core/publishers.ts`), behind the EventBridge
 * rule: an event from a source that is not accepted, or from a bound source to a tenant it is not
 * bound to, is refused and logged, and nobody receives it. Core only, against in-memory ports.
 */
import { describe, expect, it } from 'vitest';
import { ENV, loadConfig } from '../../adapters/config.js';
import type { ConnectionStore, StoredEvent } from '../../core/ports.js';
import { type PublishDeps, publishBatch } from '../../core/publish.js';
import { type PublisherPolicy, publisherRefusal } from '../../core/publishers.js';
import { coreSettings } from '../support/core-settings.js';

const policy: PublisherPolicy = {
  sources: ['billing', 'orders'],
  sourceTenants: { billing: ['acme'] },
};

describe('publisherRefusal', () => {
  it.each([
    ['orders', 'globex', undefined],
    ['orders', undefined, undefined],
    ['billing', 'acme', undefined],
    ['billing', 'globex', 'source is not bound to this tenant'],
    ['billing', undefined, 'source is bound to tenants and the event names none'],
    ['mallory', 'acme', 'source not accepted'],
  ])('from %s to tenant %s: %s', (source, tenant, refusal) => {
    expect(publisherRefusal(policy, source, tenant)).toBe(refusal);
  });

  it('accepts everything without a policy, and binds nothing by inherited keys', () => {
    expect(publisherRefusal(undefined, 'anyone', 'acme')).toBeUndefined();
    expect(publisherRefusal({ sourceTenants: {} }, 'constructor', 'acme')).toBeUndefined();
    expect(publisherRefusal({ sourceTenants: {} }, '__proto__', undefined)).toBeUndefined();
  });
});

describe('publishBatch', () => {
  function deps(publishers: PublisherPolicy) {
    const posted: string[] = [];
    const warnings: Record<string, unknown>[] = [];
    const subscriber = {
      connectionId: 'c-acme',
      identity: { userId: 'alice', roles: [], anonymous: false, tenant: 'acme' },
    };
    const store = {
      audiencePage: async () => ({
        items: [
          subscriber,
          { ...subscriber, connectionId: 'c-globex', identity: { ...subscriber.identity, tenant: 'globex' } },
        ],
      }),
    } as unknown as ConnectionStore;
    const publishDeps: PublishDeps = {
      store,
      history: {
        append: async (parts) =>
          parts.map((part) =>
            part.events.map((e, i): StoredEvent => ({ seq: i + 1, payload: e.render(i + 1) })),
          ),
        current: async () => 0,
        events: async () => [],
        replay: async () => ({ events: [], complete: true, settled: 0, more: false }),
      },
      gateway: {
        post: async (connectionId, data) => {
          posted.push(`${connectionId} ${(JSON.parse(data) as { id: string }).id}`);
          return 'delivered';
        },
        close: async () => 'delivered',
      },
      fanout: { send: async () => {} },
      settings: coreSettings({ publishers }),
      log: { info: () => {}, warn: (_message, extra) => warnings.push(extra), error: () => {} },
    };
    return { publishDeps, posted, warnings };
  }
  const record = (id: string, source: string, tenant?: string) => ({
    key: id,
    event: {
      id,
      source,
      'detail-type': 'x',
      time: '2026-11-21T12:00:00Z',
      detail: { channel: 'orders', data: {}, ...(tenant ? { tenant } : {}) },
    },
  });

  it('delivers what the policy allows, refuses and logs the rest, and delivers none of it', async () => {
    // Prepare
    const { publishDeps, posted, warnings } = deps(policy);
    // Act
    const { report, retry } = await publishBatch(
      [
        record('ok', 'billing', 'acme'),
        record('cross-tenant', 'billing', 'globex'),
        record('no-tenant', 'billing'),
        record('stranger', 'mallory', 'acme'),
      ],
      publishDeps,
    );
    // Assess
    expect(posted).toEqual(['c-acme ok']);
    expect(report).toMatchObject({ events: 1, unauthorizedEvents: 3, deliveries: 1 });
    expect(retry).toEqual([]);
    expect(warnings.map((w) => [w.eventId, w.source, w.tenant, w.reason])).toEqual([
      ['cross-tenant', 'billing', 'globex', 'source is not bound to this tenant'],
      ['no-tenant', 'billing', null, 'source is bound to tenants and the event names none'],
      ['stranger', 'mallory', 'acme', 'source not accepted'],
    ]);
  });

  it('refuses nothing without a policy (the rule is then the only filter)', async () => {
    const { publishDeps, posted } = deps({});
    const { report } = await publishBatch([record('any', 'mallory', 'globex')], publishDeps);
    expect(report.unauthorizedEvents).toBe(0);
    expect(posted).toEqual(['c-globex any']);
  });
});

describe('the publishers configuration (the environment every handler reads)', () => {
  const base = { [ENV.tableName]: 't', [ENV.authSecret]: 'a-secret-of-at-least-thirty-two-bytes!' };

  it('reads the accepted sources and the tenant bindings', () => {
    // Act
    const config = loadConfig({
      ...base,
      [ENV.eventSources]: 'billing, orders',
      [ENV.sourceTenants]: '{"billing":["acme"]}',
    });
    // Assess
    expect(config.publishers).toEqual({
      sources: ['billing', 'orders'],
      sourceTenants: { billing: ['acme'] },
    });
    expect(loadConfig(base).publishers).toEqual({});
  });

  it.each([
    ['{"billing":', /SWITCHBOARD_SOURCE_TENANTS is not valid JSON/],
    ['{"billing":[]}', /a bound source needs at least one tenant/],
    ['{"billing":["ac#me"]}', /tenants are 1-128 characters/],
    ['{"mallory":["acme"]}', /binds "mallory", which SWITCHBOARD_EVENT_SOURCES does not accept/],
  ])('refuses %s with one clear message', (raw, message) => {
    expect(() => loadConfig({ ...base, [ENV.eventSources]: 'billing', [ENV.sourceTenants]: raw })).toThrow(
      message,
    );
  });
});
