import { afterEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../client/emitter.js';

interface Events {
  readonly open: { readonly reconnected: boolean };
  readonly closed: undefined;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('Emitter', () => {
  it('calls each listener with the payload until it is removed', () => {
    // Prepare
    const emitter = new Emitter<Events>();
    const seen: boolean[] = [];
    const off = emitter.on('open', ({ reconnected }) => seen.push(reconnected));

    // Act
    emitter.emit('open', { reconnected: false });
    off();
    off();
    emitter.emit('open', { reconnected: true });

    // Assess
    expect(seen).toEqual([false]);
    expect(emitter.has('open')).toBe(false);
  });

  it('registers the same function twice as two listeners', () => {
    // Prepare
    const emitter = new Emitter<Events>();
    const listener = vi.fn();
    const offFirst = emitter.on('closed', listener);
    emitter.on('closed', listener);

    // Act
    offFirst();
    emitter.emit('closed', undefined);

    // Assess
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('keeps calling the other listeners when one throws, and rethrows its error outside the emit', () => {
    // Prepare
    const deferred: Array<() => void> = [];
    vi.stubGlobal('queueMicrotask', (callback: () => void) => deferred.push(callback));
    const emitter = new Emitter<Events>();
    const after = vi.fn();
    emitter.on('closed', () => {
      throw new Error('listener bug');
    });
    emitter.on('closed', after);

    // Act
    emitter.emit('closed', undefined);

    // Assess
    expect(after).toHaveBeenCalledTimes(1);
    expect(deferred).toHaveLength(1);
    expect(() => deferred[0]?.()).toThrow('listener bug');
  });

  it('lets a listener remove itself while the event is being emitted', () => {
    // Prepare
    const emitter = new Emitter<Events>();
    const calls: string[] = [];
    const off = emitter.on('closed', () => {
      calls.push('once');
      off();
    });
    emitter.on('closed', () => calls.push('always'));

    // Act
    emitter.emit('closed', undefined);
    emitter.emit('closed', undefined);

    // Assess
    expect(calls).toEqual(['once', 'always', 'always']);
  });
});
