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
