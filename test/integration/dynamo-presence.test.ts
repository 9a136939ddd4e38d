/**
 * The presence member entries against DynamoDB Local: a user joins with its first connection and
 * leaves with its last, and each join or leave is announced by one call only, however often the
 * same connection is removed (its `$disconnect`, the sweep and a 410 at fan-out may all do it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoPresenceStore } from '../../adapters/dynamo-presence.js';
import { createTestTable, type TestTable } from '../support/dynamodb.js';

let table: TestTable;
let presence: DynamoPresenceStore;
const now = Math.floor(Date.now() / 1000);
const until = now + 7200;

beforeAll(async () => {
  table = await createTestTable();
  presence = new DynamoPresenceStore(table.client, table.name);
});
afterAll(async () => {
  await table?.drop();
});

describe('presence member entries', () => {
  it('announce a leave once, when the last connection goes, and not again on a repeated removal', async () => {
    // Prepare: alice with two connections
    const joins = [
      await presence.join('acme', 'room:1', 'alice', 'c1', now, until),
      await presence.join('acme', 'room:1', 'alice', 'c2', now, until),
    ];
    // Act
    const leaves = [
      await presence.leave('acme', 'room:1', 'alice', 'c1'),
      await presence.leave('acme', 'room:1', 'alice', 'c1'),
      await presence.leave('acme', 'room:1', 'alice', 'c2'),
      await presence.leave('acme', 'room:1', 'alice', 'c2'),
    ];
    // Assess
    expect(joins).toEqual([true, false]);
    expect(leaves).toEqual([false, false, true, false]);
    expect(await presence.members('acme', 'room:1', now, 10)).toEqual({ members: [], count: 0 });
  });

  it('announce one leave when two removals of the last connection race', async () => {
    // Prepare
    await presence.join('acme', 'room:2', 'bob', 'c3', now, until);
    // Act
    const results = await Promise.all(
      Array.from({ length: 5 }, () => presence.leave('acme', 'room:2', 'bob', 'c3')),
    );
    // Assess
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await presence.members('acme', 'room:2', now, 10)).count).toBe(0);
  });
});
