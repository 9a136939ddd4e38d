import { describe, expect, it } from 'vitest';
import { RecentIds } from '../../client/recent-ids.js';

describe('RecentIds', () => {
  it('accepts an id the first time and refuses it as a duplicate afterwards', () => {
    // Prepare
    const recent = new RecentIds(3);

    // Act
    const first = recent.remember('e1');
    const again = recent.remember('e1');

    // Assess
    expect([first, again]).toEqual([true, false]);
  });

  it('forgets the oldest id once its capacity is exceeded, so memory stays bounded', () => {
    // Prepare
    const recent = new RecentIds(3);
    for (const id of ['e1', 'e2', 'e3', 'e4']) recent.remember(id);

    // Act
    const oldestAgain = recent.remember('e1');
    const newestAgain = recent.remember('e4');

    // Assess
    expect(oldestAgain).toBe(true);
    expect(newestAgain).toBe(false);
    expect(recent.size).toBe(3);
  });

  it('holds at most its capacity after many thousands of ids', () => {
    // Prepare
    const recent = new RecentIds(1000);

    // Act
    for (let index = 0; index < 10_000; index += 1) recent.remember(`e${index}`);

    // Assess
    expect(recent.size).toBe(1000);
    expect(recent.remember('e9999')).toBe(false);
    expect(recent.remember('e8999')).toBe(true);
  });
});
