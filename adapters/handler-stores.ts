/**
 * The stores every handler builds, in one place, so that each one that adds or removes
 * subscriptions keeps presence the same way: the connection store, wrapped in
 * `PresenceTrackingStore` (`core/presence.ts`) when the presence policy names channels and the
 * publish queue (where join and leave notices go) is configured; the presence store; the queue.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  ClientConnectionStore,
  ConnectionStore,
  EventQueue,
  Log,
  PresenceStore,
} from '../core/ports.js';
import { type PresenceDeps, PresenceTrackingClientStore, PresenceTrackingStore } from '../core/presence.js';
import { createQueueClient } from './aws-clients.js';
import type { Config } from './config.js';
import { DynamoPresenceStore } from './dynamo-presence.js';
import { DynamoClientConnectionStore, DynamoConnectionStore } from './dynamo-store.js';
import { SqsEventQueue } from './sqs-event-queue.js';

export interface HandlerStores<S extends ClientConnectionStore = ConnectionStore> {
  readonly store: S;
  /** The publish queue, when configured: client publish and presence notices go there. */
  readonly events?: EventQueue;
  /** Present only where presence is kept: the policy names channels and notices can be queued. */
  readonly presence?: PresenceStore;
}

export function createHandlerStores(config: Config, db: DynamoDBDocumentClient, log: Log): HandlerStores {
  return storesAround<ConnectionStore>(
    new DynamoConnectionStore(db, config.tableName),
    (store, deps) => new PresenceTrackingStore(store, deps),
    config,
    db,
    log,
  );
}

/**
 * The same for the message routes, around their part of the connection store
 * (`ClientConnectionStore`): their bundle then holds none of the rest.
 */
export function createClientHandlerStores(
  config: Config,
  db: DynamoDBDocumentClient,
  log: Log,
): HandlerStores<ClientConnectionStore> {
  return storesAround<ClientConnectionStore>(
    new DynamoClientConnectionStore(db, config.tableName),
    (store, deps) => new PresenceTrackingClientStore(store, deps),
    config,
    db,
    log,
  );
}

function storesAround<S extends ClientConnectionStore>(
  store: S,
  trackPresence: (store: S, deps: PresenceDeps) => S,
  config: Config,
  db: DynamoDBDocumentClient,
  log: Log,
): HandlerStores<S> {
  const events = config.publishQueueUrl
    ? new SqsEventQueue(
        createQueueClient(config),
        config.publishQueueUrl,
        queueAccount(config.publishQueueUrl),
        config.aws?.region ?? process.env.AWS_REGION ?? 'local',
      )
    : undefined;
  if (!events) return { store };
  if ((config.presencePolicy ?? []).length === 0) return { store, events };
  const presence = new DynamoPresenceStore(db, config.tableName);
  return {
    store: trackPresence(store, { presence, events, settings: config, log }),
    events,
    presence,
  };
}

/** The account id in a queue URL (`https://sqs.{region}.amazonaws.com/{account}/{name}`). */
function queueAccount(url: string): string {
  return new URL(url).pathname.split('/')[1] ?? '';
}
