/**
 * A DynamoDB cost stage run alone (`npx tsx bench/<stage>.ts`): its own DynamoDB Local, its result
 * written into bench/results.json under `key`, keeping every other stage's results, and its
 * Markdown section printed.
 */
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal } from '../local/emulator/dynamodb-local.js';
import type { BenchContext } from './context.js';
import { Progress } from './progress.js';

/** True when `moduleUrl` (a stage's `import.meta.url`) is the script Node was started with. */
export function isMainModule(moduleUrl: string): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(moduleUrl);
  } catch {
    return false;
  }
}

export async function runStandaloneStage<T>(
  name: string,
  key: string,
  run: (ctx: BenchContext, raw: DynamoDBClient, endpoint: string) => Promise<T>,
  section: (result: T) => string[],
): Promise<void> {
  const dynamodb = await startDynamoDbLocal({ tableName: 'bench-probe', port: 0 });
  const raw = new DynamoDBClient({
    endpoint: dynamodb.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const progress = new Progress([{ name, weight: 1 }]);
    progress.stage(name, 'writing items');
    const ctx: BenchContext = {
      signal: new AbortController().signal,
      progress,
      warn: (message) => progress.log(`  ! ${message}`),
    };
    const result = await run(ctx, raw, dynamodb.endpoint);
    progress.done();
    const file = fileURLToPath(new URL('results.json', import.meta.url));
    const results = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, `${JSON.stringify({ ...results, [key]: result }, null, 2)}\n`);
    process.stdout.write(`${section(result).join('\n')}\n`);
  } finally {
    raw.destroy();
    await dynamodb.close();
  }
}
