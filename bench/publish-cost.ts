/**
 * Part of the burst stage: the DynamoDB units a burst's events cost, as DynamoDB (Local) reports
 * them. The handlers' own requests cannot ask for `ReturnConsumedCapacity` without a change to the
 * product or a proxy in their path (see `dynamo-requests.ts`), so the burst's shape is published
 * again apart: core's `publishBatch`, with the real DynamoDB adapters wired as the publish function
 * wires them, on a document client whose middleware asks every call for its consumed capacity
 * (`history-cost.ts`'s method), in full batches of the event source's size, on the burst's own
 * channels (so the subscriber Query reads the same items), with a gateway that posts nothing.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoChannelHistory } from '../adapters/dynamo-history.js';
import { DynamoConnectionStore } from '../adapters/dynamo-store.js';
import type { ConnectionGateway, Log } from '../core/ports.js';
import { type PublishRecord, publishBatch } from '../core/publish.js';
import { PUBLISH_PIPELINE } from '../lambdas/publish-pipeline.js';
import type { BenchStack } from './bench-stack.js';
import { StageError } from './context.js';
import { meteredClient } from './history-cost.js';

export interface PublishUnits {
  /** Events published apart to measure (full batches). */
  readonly events: number;
  readonly readUnitsPerEvent: number;
  readonly writeUnitsPerEvent: number;
}

const quiet: Log = { info: () => {}, warn: () => {}, error: () => {} };
const noPosts: ConnectionGateway = { post: async () => 'delivered', close: async () => 'delivered' };

/**
 * Publishes `events` events, event `k` on `channelOf(k)`, in batches of the event source's size,
 * one batch after another, and returns what DynamoDB reported they consumed per event.
 */
export async function measurePublishUnits(
  stack: BenchStack,
  channelOf: (k: number) => string,
  events: number,
): Promise<PublishUnits> {
  // The configuration the stack built its handlers from.
  const config = stack.stack.handlerConfig;
  // A client of its own: the metering middleware goes on the raw client's stack, which a document
  // client shares, and must not stay on the bench's.
  const raw = new DynamoDBClient({ endpoint: stack.stack.endpoints.dynamodb, ...stack.stack.aws });
  const { client, take } = meteredClient(raw);
  try {
    const deps = {
      store: new DynamoConnectionStore(client, stack.tableName),
      history: new DynamoChannelHistory(client, stack.tableName, config.history),
      gateway: noPosts,
      // Every burst channel is far below the fan-out threshold: publish posts itself.
      fanout: {
        send: async () => {
          throw new StageError('measuring units: a burst channel was handed to the fan-out workers');
        },
      },
      settings: config,
      log: quiet,
    };
    take();
    for (let first = 0; first < events; first += PUBLISH_PIPELINE.batchSize) {
      const records: PublishRecord[] = [];
      for (let k = first; k < Math.min(events, first + PUBLISH_PIPELINE.batchSize); k++) {
        const id = randomUUID();
        records.push({
          key: id,
          event: {
            id,
            'detail-type': 'burst_event',
            source: 'switchboard.bench',
            time: new Date().toISOString(),
            detail: { channel: channelOf(k), data: { tag: 'burst-units', k } },
          },
        });
      }
      const { retry } = await publishBatch(records, deps);
      if (retry.length > 0)
        throw new StageError(`publishing apart to measure units: ${retry.length} records failed`);
    }
    const units = take();
    return {
      events,
      readUnitsPerEvent: Math.round((1000 * units.read) / events) / 1000,
      writeUnitsPerEvent: Math.round((1000 * units.write) / events) / 1000,
    };
  } finally {
    raw.destroy();
  }
}
