/**
 * `CallbackBudget` on the table: one item per budget window (`pk = quota#callbacks`,
 * `sk = {epoch ms / 100}`, see `core/callback-pacer.ts`) counts the `@connections` calls asked for
 * in that window, so every fan-out worker of every
 * event draws on one budget without a lock or a read. A take is one unconditional `ADD` that
 * returns the new count: the count before the take is the new one minus what it added, and since
 * `ADD` is atomic each take sees a "before" of its own. A take is granted what was left before it
 * (up to what it asked), so a window's grants never sum past its share of the limit however many
 * workers take at once; the count may pass it (a take after the window is spent adds to it and
 * gets 0).
 *
 * One write per take, whatever the outcome (a window whose share is 0 makes none): a conditional
 * `ADD` refused near the limit cost a read and another write per worker every window, on the one
 * item every worker writes. A worker takes in chunks, so the items see about `limit / chunk`
 * writes a second, far under a key's 1,000.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { budgetWindow, windowRights } from '../core/callback-pacer.js';
import type { CallbackBudget } from '../core/ports.js';
import { TABLE_SCHEMA } from './table-schema.js';

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = TABLE_SCHEMA;
const PARTITION = 'quota#callbacks';

export class DynamoCallbackBudget implements CallbackBudget {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly perSecond: number,
  ) {}

  async take(n: number, nowMs: number): Promise<number> {
    const window = budgetWindow(nowMs);
    const limit = windowRights(this.perSecond, window);
    const want = Math.min(n, limit);
    if (want <= 0) return 0;
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: PARTITION, [SK]: String(window) },
        UpdateExpression: 'ADD used :n SET #ttl = :ttl',
        ExpressionAttributeNames: { '#ttl': TTL },
        ExpressionAttributeValues: { ':n': want, ':ttl': Math.floor(nowMs / 1000) + 60 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const before = Number(Attributes?.used ?? want) - want;
    return Math.max(0, Math.min(want, limit - before));
  }
}
