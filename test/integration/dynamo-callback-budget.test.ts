/** The shared callback budget against DynamoDB Local: many workers taking at once, one window at a time. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCallbackBudget } from '../../adapters/dynamo-callback-budget.js';
import { createTestTable, type TestTable } from '../support/dynamodb.js';

let table: TestTable;

beforeAll(async () => {
  table = await createTestTable();
});
afterAll(() => table.drop());

describe('the callback budget', () => {
  it("grants a window's calls exactly once, whoever takes them and however many at once", async () => {
    // Prepare: 40 takes of 7 at once against 1,000 a second, so 100 a tenth of a second (280
    // asked), on a client that counts.
    let requests = 0;
    const counting = {
      send: (command: never) => {
        requests += 1;
        return table.client.send(command);
      },
    } as unknown as DynamoDBDocumentClient;
    const budget = new DynamoCallbackBudget(counting, table.name, 1000);
    const second = 1_900_000_000_000;
    // Act
    const granted = await Promise.all(Array.from({ length: 40 }, () => budget.take(7, second + 210)));
    const later = await budget.take(7, second + 299);
    const next = await budget.take(7, second + 300);
    // Assess
    expect(granted.reduce((sum, n) => sum + n, 0)).toBe(100);
    expect(granted.every((n) => n >= 0 && n <= 7)).toBe(true);
    expect(later).toBe(0);
    expect(next).toBe(7);
    // One write per take, refused or not (only a window that grants nothing makes none): the item
    // every worker writes sees nothing else.
    expect(requests).toBe(42);
  });

  it('shares a second between its windows exactly, also when the budget does not divide', async () => {
    // Prepare: 5 calls a second, fewer than the second has windows.
    const budget = new DynamoCallbackBudget(table.client, table.name, 5);
    const second = 1_900_000_100_000;
    // Act: each window of one second asked for more than the whole budget.
    const granted: number[] = [];
    for (let ms = 0; ms < 1000; ms += 100) granted.push(await budget.take(10, second + ms));
    // Assess: a right every other window, five in the second.
    expect(granted.reduce((sum, n) => sum + n, 0)).toBe(5);
    expect(granted.every((n) => n === 0 || n === 1)).toBe(true);
  });
});
