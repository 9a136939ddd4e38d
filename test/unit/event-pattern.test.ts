import { describe, expect, it } from 'vitest';
import { matchesEventPattern, switchboardEventPattern } from '../../adapters/event-pattern.js';

const event = (detail: unknown, source = 'orders') => ({ source, 'detail-type': 'x', detail });

describe('the Switchboard rule pattern', () => {
  it('matches entries whose detail has a channel or channels', () => {
    const pattern = switchboardEventPattern();
    expect(matchesEventPattern(pattern, event({ channel: 'a', data: 1 }))).toBe(true);
    expect(matchesEventPattern(pattern, event({ channels: ['a', 'b'] }))).toBe(true);
  });

  it('matches the other addressings of PROTOCOL §6: user, connection_id and broadcast', () => {
    const pattern = switchboardEventPattern();
    expect(matchesEventPattern(pattern, event({ user: 'alice' }))).toBe(true);
    expect(matchesEventPattern(pattern, event({ connection_id: 'L0SM9cOFvHcCIhw=' }))).toBe(true);
    expect(matchesEventPattern(pattern, event({ broadcast: true }))).toBe(true);
  });

  it('ignores entries that are not Switchboard events', () => {
    const pattern = switchboardEventPattern();
    expect(matchesEventPattern(pattern, event({ order: 1 }))).toBe(false);
    expect(matchesEventPattern(pattern, event('plain string'))).toBe(false);
  });

  it('restricts sources when an allow-list is given', () => {
    const pattern = switchboardEventPattern({ sources: ['orders'] });
    expect(matchesEventPattern(pattern, event({ channel: 'a' }, 'orders'))).toBe(true);
    expect(matchesEventPattern(pattern, event({ channel: 'a' }, 'billing'))).toBe(false);
  });

  it('supports prefix matching like EventBridge', () => {
    expect(matchesEventPattern({ source: [{ prefix: 'svc.' }] }, { source: 'svc.orders' })).toBe(true);
    expect(matchesEventPattern({ source: [{ prefix: 'svc.' }] }, { source: 'other' })).toBe(false);
  });
});

describe('sources bound to tenants', () => {
  const tenantEvent = (source: string, tenant?: string) =>
    event({ channel: 'orders', ...(tenant === undefined ? {} : { tenant }) }, source);

  it('lets a bound source reach only its tenants, and never without a tenant', () => {
    // Prepare
    const pattern = switchboardEventPattern({ sourceTenants: { billing: ['acme', 'globex'] } });
    // Act & Assess
    expect(matchesEventPattern(pattern, tenantEvent('billing', 'acme'))).toBe(true);
    expect(matchesEventPattern(pattern, tenantEvent('billing', 'globex'))).toBe(true);
    expect(matchesEventPattern(pattern, tenantEvent('billing', 'initech'))).toBe(false);
    expect(matchesEventPattern(pattern, tenantEvent('billing'))).toBe(false);
  });

  it('leaves unbound sources free when no allow-list is given (anything-but the bound ones)', () => {
    // Prepare
    const pattern = switchboardEventPattern({ sourceTenants: { billing: ['acme'] } });
    // Act & Assess
    expect(pattern.$or).toEqual([
      { source: [{ 'anything-but': ['billing'] }] },
      { source: ['billing'], detail: { tenant: ['acme'] } },
    ]);
    expect(matchesEventPattern(pattern, tenantEvent('orders', 'initech'))).toBe(true);
    expect(matchesEventPattern(pattern, tenantEvent('orders'))).toBe(true);
  });

  it('keeps the allow-list: unlisted sources match nothing, listed unbound ones anything', () => {
    // Prepare
    const pattern = switchboardEventPattern({
      sources: ['billing', 'orders'],
      sourceTenants: { billing: ['acme'] },
    });
    // Act & Assess
    expect(matchesEventPattern(pattern, tenantEvent('orders', 'globex'))).toBe(true);
    expect(matchesEventPattern(pattern, tenantEvent('billing', 'acme'))).toBe(true);
    expect(matchesEventPattern(pattern, tenantEvent('billing', 'globex'))).toBe(false);
    expect(matchesEventPattern(pattern, tenantEvent('mallory', 'acme'))).toBe(false);
  });

  it('merges a single branch into the pattern: EventBridge reads $or only with two branches', () => {
    // Act
    const pattern = switchboardEventPattern({ sources: ['billing'], sourceTenants: { billing: ['acme'] } });
    // Assess
    expect(pattern).not.toHaveProperty('$or');
    expect(pattern).toMatchObject({ source: ['billing'], detail: { tenant: ['acme'] } });
    expect(matchesEventPattern(pattern, tenantEvent('billing', 'acme'))).toBe(true);
    expect(matchesEventPattern(pattern, tenantEvent('billing', 'globex'))).toBe(false);
    expect(matchesEventPattern(pattern, event({ tenant: 'acme' }, 'billing'))).toBe(false);
  });

  it('still requires a channel, channels or broadcast on every branch', () => {
    const pattern = switchboardEventPattern({ sourceTenants: { billing: ['acme'] } });
    expect(matchesEventPattern(pattern, event({ tenant: 'acme' }, 'billing'))).toBe(false);
    expect(matchesEventPattern(pattern, event({ broadcast: true, tenant: 'acme' }, 'billing'))).toBe(true);
  });
});
