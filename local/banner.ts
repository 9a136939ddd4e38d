/** The `npm start` banner. Tests parse its labels and its first ("ready") line: keep them. */
import type { LocalStack } from './local-stack.js';

export const READY_LINE = 'Switchboard local stack is ready';

export function banner(stack: Pick<LocalStack, 'endpoints' | 'tableName'>): string {
  const { endpoints } = stack;
  return [
    READY_LINE,
    `  WebSocket        ${endpoints.websocket}`,
    `  Token exchange   ${endpoints.auth}`,
    `  Management API   ${endpoints.management}/@connections/{id}`,
    `  EventBridge      ${endpoints.eventBridge}  (PutEvents)`,
    `  DynamoDB Local   ${endpoints.dynamodb}  (table ${stack.tableName})`,
    'Mint a token:  npm run token -- --sub alice',
    `Publish:       npm run publish -- --channel news --type hello --data '{"hi":1}'`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}
