/** Publishes through the local EventBridge endpoint with the real AWS SDK client. */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { localCredentials } from './dynamodb.js';

export function eventBridge(baseUrl: string): EventBridgeClient {
  return new EventBridgeClient({ endpoint: baseUrl, region: 'local', credentials: localCredentials });
}

/** One Switchboard event; returns the EventBridge event id. */
export async function publish(
  client: EventBridgeClient,
  detail: Record<string, unknown>,
  entry: Partial<PutEventsRequestEntry> = {},
): Promise<string> {
  const result = await client.send(
    new PutEventsCommand({
      Entries: [{ Source: 'tests', DetailType: 'test_event', Detail: JSON.stringify(detail), ...entry }],
    }),
  );
  const id = result.Entries?.[0]?.EventId;
  if (result.FailedEntryCount || !id) throw new Error(`PutEvents failed: ${JSON.stringify(result.Entries)}`);
  return id;
}
