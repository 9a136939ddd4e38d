/** The `npm start` banner. Tests parse its labels and its first ("ready") line: keep them. */
import type { LocalStackEndpoints } from './local-stack.js';

export const READY_LINE = 'Switchboard local stack is ready';

type BrowserPages = 'testPage' | 'dashboard';

export function banner(stack: {
  readonly endpoints: Omit<LocalStackEndpoints, BrowserPages> &
    Partial<Pick<LocalStackEndpoints, BrowserPages>>;
  readonly tableName: string;
}): string {
  const { endpoints } = stack;
  return [
    READY_LINE,
    `  WebSocket        ${endpoints.websocket}`,
    `  Token exchange   ${endpoints.auth}`,
    `  Management API   ${endpoints.management}/@connections/{id}`,
    `  EventBridge      ${endpoints.eventBridge}  (PutEvents)`,
    `  SQS              ${endpoints.sqs}  (the publish queue and its dead letters)`,
    `  DynamoDB Local   ${endpoints.dynamodb}  (table ${stack.tableName})`,
    ...(endpoints.testPage ? [`  Test page        ${endpoints.testPage}`] : []),
    ...(endpoints.dashboard ? [`  Dashboard        ${endpoints.dashboard}  (admin token)`] : []),
    ...(endpoints.faults
      ? [`  Fault plan       ${endpoints.faults}  (SWITCHBOARD_LOCAL_FAULTS=1: tests only)`]
      : []),
    'Mint a token:  npm run token -- --sub alice',
    `Publish:       npm run publish -- --channel news --type hello --data '{"hi":1}'`,
    'Dead letters:  npm run redrive',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}
