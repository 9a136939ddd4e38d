/** A fresh table in the suite's DynamoDB Local for each test file (see global-setup.ts). */

import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createTableInput } from '../../adapters/table-schema.js';

export function dynamodbEndpoint(): string {
  return inject('dynamodbEndpoint');
}

export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface TestTable {
  readonly name: string;
  readonly raw: DynamoDBClient;
  readonly client: DynamoDBDocumentClient;
  drop(): Promise<void>;
}

export async function createTestTable(): Promise<TestTable> {
  const raw = new DynamoDBClient({
    endpoint: dynamodbEndpoint(),
    region: 'local',
    credentials: localCredentials,
  });
  const name = `test-${randomUUID()}`;
  await raw.send(new CreateTableCommand(createTableInput(name)));
  await waitUntilTableExists({ client: raw, maxWaitTime: 30 }, { TableName: name });
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  return {
    name,
    raw,
    client,
    async drop() {
      await raw.send(new DeleteTableCommand({ TableName: name })).catch(() => undefined);
      raw.destroy();
    },
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}

/** A document client on the suite's DynamoDB Local, to look at what a local stack stored. */
export function testDocumentClient(): DynamoDBDocumentClient {
  const raw = new DynamoDBClient({
    endpoint: dynamodbEndpoint(),
    region: 'local',
    credentials: localCredentials,
  });
  return DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
}
