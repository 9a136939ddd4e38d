/**
 * Starts one DynamoDB Local for the whole suite (a JVM per test file would cost seconds each);
 * every test file then works in its own table. `SWITCHBOARD_TEST_DYNAMODB_ENDPOINT` reuses a
 * running one instead.
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../local/emulator/dynamodb-local.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.SWITCHBOARD_TEST_DYNAMODB_ENDPOINT;
  const dynamodb = await startDynamoDbLocal({
    tableName: 'suite-probe',
    port: 0,
    ...(fromEnv ? { endpoint: fromEnv } : {}),
  });
  project.provide('dynamodbEndpoint', dynamodb.endpoint);
  return () => dynamodb.close();
}
