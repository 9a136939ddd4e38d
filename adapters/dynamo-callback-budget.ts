/**
 * `CallbackBudget` on the table: one item per second (`pk = quota#callbacks`, `sk = {epoch s}`)
 * counts the `@connections` calls granted in that second, with one conditional `ADD` per take, so
 * every fan-out worker of every event draws on one budget without a lock or a read. A take that
 * would pass the limit is refused by the condition and retried with what is left; a worker takes
 * in chunks, so the item sees about `limit / chunk` writes a second, far under a key's 1,000.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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
    const second = Math.floor(nowMs / 1000);
    const key = { [PK]: PARTITION, [SK]: String(second) };
    let want = Math.min(n, this.perSecond);
    while (want > 0) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'ADD used :n SET #ttl = :ttl',
            ConditionExpression: 'attribute_not_exists(used) OR used <= :room',
            ExpressionAttributeNames: { '#ttl': TTL },
            ExpressionAttributeValues: { ':n': want, ':room': this.perSecond - want, ':ttl': second + 60 },
          }),
        );
        return want;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // Less than `want` is left in this second: take what is.
        const { Item } = await this.client.send(
          new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
        );
        const left = this.perSecond - Number(Item?.used ?? 0);
        if (left <= 0) return 0;
        want = Math.min(want, left);
      }
    }
    return 0;
  }
}
