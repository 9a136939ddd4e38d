/**
 * DynamoDB Local answers one request at a time, so it never refuses a write for racing a
 * transaction on the same item, as DynamoDB does
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling).
 * This puts that back, in front of the suite's DynamoDB Local, on the wire: a request handler under
 * a real SDK client that
 * - holds every TransactWriteItems for `holdMs` before passing it on: for that long its items are
 *   part of an ongoing transaction;
 * - answers a PutItem, UpdateItem or DeleteItem on an item an ongoing transaction includes with
 *   HTTP 400 `TransactionConflictException`;
 * - answers a TransactWriteItems that includes such an item with HTTP 400
 *   `TransactionCanceledException`, `CancellationReasons` saying `TransactionConflict` for it;
 * - passes everything else on unchanged.
 * The SDK parses those answers and applies its own retry strategy to them exactly as on AWS.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_SCHEMA } from '../../adapters/table-schema.js';
import { dynamodbEndpoint, localCredentials } from './dynamodb.js';

const { partitionKey: PK, sortKey: SK } = TABLE_SCHEMA;

export interface ConflictingDynamoDbOptions {
  /** How long a transaction is under way before DynamoDB Local applies it. @default 20 */
  readonly holdMs?: number;
  /** Refuse every write as conflicting, with or without a transaction under way. @default false */
  readonly alwaysConflict?: boolean;
}

export interface ConflictingDynamoDb {
  readonly client: DynamoDBDocumentClient;
  /** Requests that reached the handler (SDK retries included), by operation, e.g. `UpdateItem`. */
  readonly requests: Map<string, number>;
  /** Conflicts answered, by the error DynamoDB raises for them. */
  readonly conflicts: Map<'TransactionConflictException' | 'TransactionCanceledException', number>;
  destroy(): void;
}

type AttributeValue = Record<string, unknown>;
interface TransactItem {
  readonly [action: string]: { TableName: string; Key?: AttributeValue; Item?: AttributeValue };
}

const SINGLE_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

function itemId(tableName: string, key: AttributeValue | undefined): string {
  return JSON.stringify([tableName, key?.[PK], key?.[SK]]);
}

function errorResponse(type: string, body: Record<string, unknown>) {
  return {
    response: {
      statusCode: 400,
      reason: 'Bad Request',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': crypto.randomUUID() },
      body: new TextEncoder().encode(
        JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, ...body }),
      ),
    },
  };
}

/** A document client on the suite's DynamoDB Local that meets transaction conflicts as on AWS. */
export function conflictingDynamoDb(options: ConflictingDynamoDbOptions = {}): ConflictingDynamoDb {
  const { holdMs = 20, alwaysConflict = false } = options;
  const connection = { endpoint: dynamodbEndpoint(), region: 'local', credentials: localCredentials };
  const wire = new DynamoDBClient(connection);
  const inner = wire.config.requestHandler;
  const ongoing = new Set<string>();
  const requests = new Map<string, number>();
  const conflicts: ConflictingDynamoDb['conflicts'] = new Map();
  const count = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);

  type Handle = (typeof inner)['handle'];
  async function handle(request: Parameters<Handle>[0], handlerOptions?: Parameters<Handle>[1]) {
    const text = () =>
      typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body as Uint8Array);
    const operation = String(request.headers['x-amz-target'] ?? '').replace(/^DynamoDB_\d+\./, '');
    count(requests, operation);
    const pass = () => inner.handle(request, handlerOptions);
    if (operation === 'TransactWriteItems') {
      const items = (JSON.parse(text()) as { TransactItems: TransactItem[] }).TransactItems;
      const ids = items.map((item) => {
        const action = Object.values(item)[0];
        return itemId(action?.TableName ?? '', action?.Key ?? action?.Item);
      });
      if (alwaysConflict || ids.some((id) => ongoing.has(id))) {
        count(conflicts, 'TransactionCanceledException');
        const codes = ids.map((id) => (alwaysConflict || ongoing.has(id) ? 'TransactionConflict' : 'None'));
        return errorResponse('TransactionCanceledException', {
          Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
          CancellationReasons: codes.map((Code) =>
            Code === 'None' ? { Code } : { Code, Message: 'Transaction is ongoing for the item' },
          ),
        });
      }
      // Under way for `holdMs`, then applied by DynamoDB Local (atomically: it runs one request at a
      // time). The window does not stretch with DynamoDB Local's latency, which the machine's load
      // decides, so how much the writes conflict does not either.
      for (const id of ids) ongoing.add(id);
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      for (const id of ids) ongoing.delete(id);
      return pass();
    }
    if (SINGLE_WRITES.has(operation)) {
      const body = JSON.parse(text()) as { TableName: string; Key?: AttributeValue; Item?: AttributeValue };
      if (alwaysConflict || ongoing.has(itemId(body.TableName, body.Key ?? body.Item))) {
        count(conflicts, 'TransactionConflictException');
        return errorResponse('TransactionConflictException', {
          message: 'Transaction is ongoing for the item',
        });
      }
    }
    return pass();
  }

  const raw = new DynamoDBClient({ ...connection, requestHandler: { handle } });
  return {
    client: DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }),
    requests,
    conflicts,
    destroy() {
      raw.destroy();
      wire.destroy();
    },
  };
}
