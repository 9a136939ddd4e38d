/**
 * Starts one DynamoDB Local for the whole suite (a JVM per test file would cost seconds each);
 * every test file then works in its own table.
 */
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.SWITCHBOARD_TEST_DYNAMODB_ENDPOINT;
  if (fromEnv) {
    project.provide('dynamodbEndpoint', fromEnv);
    return async () => {};
  }
  throw new Error('DynamoDB Local launcher not wired yet');
}
