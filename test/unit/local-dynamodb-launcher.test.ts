/** The loopback launcher of DynamoDB Local (see `local/emulator/java/LoopbackDynamoDbLocal.java`). */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dynamoDbLocalJarDir,
  LAUNCHER_UNBUILDABLE,
  loopbackLauncher,
} from '../../local/emulator/dynamodb-local.js';

describe('the loopback launcher of DynamoDB Local', () => {
  it('is built once per jar release and then reused', async () => {
    // Act
    const first = await loopbackLauncher(dynamoDbLocalJarDir());
    const second = await loopbackLauncher(dynamoDbLocalJarDir());
    // Assess
    expect(second).toBe(first);
    expect(existsSync(join(first, 'LoopbackDynamoDbLocal.class'))).toBe(true);
  });

  it('fails with a message that says why, and leaves nothing half built, when Java cannot compile it', async () => {
    // Prepare: a release never built before, and a "java" that cannot compile anything.
    const release = `dynamodb_local_test-${randomUUID()}`;
    // Act
    const attempt = loopbackLauncher(join(dynamoDbLocalJarDir(), '..', release), '/bin/false');
    // Assess
    await expect(attempt).rejects.toThrow(LAUNCHER_UNBUILDABLE);
    const cache = dirname(await loopbackLauncher(dynamoDbLocalJarDir()));
    expect(readdirSync(cache).filter((name) => name.includes('-'))).toEqual([]);
  });
});
