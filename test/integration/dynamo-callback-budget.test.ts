/** The shared callback budget against DynamoDB Local: many workers taking at once, one second at a time. */
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
  it("grants a second's calls exactly once, whoever takes them and however many at once", async () => {
    // Prepare: 40 takes of 7 at once against 100 a second (280 asked), on a client that counts.
    let requests = 0;
    const counting = {
      send: (command: never) => {
        requests += 1;
        return table.client.send(command);
      },
    } as unknown as DynamoDBDocumentClient;
    const budget = new DynamoCallbackBudget(counting, table.name, 100);
    const second = 1_900_000_000_000;
    // Act
    const granted = await Promise.all(Array.from({ length: 40 }, () => budget.take(7, second + 250)));
    const later = await budget.take(7, second + 900);
    const next = await budget.take(7, second + 1000);
    // Assess
    expect(granted.reduce((sum, n) => sum + n, 0)).toBe(100);
    expect(granted.every((n) => n >= 0 && n <= 7)).toBe(true);
    expect(later).toBe(0);
    expect(next).toBe(7);
    // One write per take, refused or not: the item every worker writes sees nothing else.
    expect(requests).toBe(42);
  });
});
