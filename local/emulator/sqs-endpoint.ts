/**
 * The local queues behind an SQS endpoint (AWS JSON 1.0 wire format, `X-Amz-Target:
 * AmazonSQS.{Action}`), so the real `@aws-sdk/client-sqs` reads the dead-letter queue and sends to
 * the publish queue with only `endpoint` set (`npm run redrive` does both). Queue URLs have the
 * AWS shape `{endpoint}/{account}/{name}`. Only the actions Switchboard's tools use are served.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathOf, type RequestHandler, readBody, send } from '../http-io.js';
import { uuid } from './aws-ids.js';
import type { LocalQueue } from './sqs-queue.js';

const JSON_10 = 'application/x-amz-json-1.0';
/** SQS's limit on a message, and well above a batch of ten of them. */
const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
const MAX_BATCH = 10;

export interface SqsEndpointProps {
  readonly queues: readonly LocalQueue[];
  /** `http://127.0.0.1:{port}`, the base of every queue URL. */
  readonly baseUrl: () => string;
  readonly account: string;
}

class SqsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Body = Record<string, unknown>;

export function createSqsEndpoint(props: SqsEndpointProps): RequestHandler {
  const byName = new Map(props.queues.map((q) => [q.name, q]));
  const urlOf = (queue: LocalQueue) => `${props.baseUrl()}/${props.account}/${queue.name}`;
  const queueOf = (body: Body): LocalQueue => {
    const url = typeof body.QueueUrl === 'string' ? body.QueueUrl : '';
    const queue = byName.get(url.split('/').pop() ?? '');
    if (!queue) {
      throw new SqsError('AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
    }
    return queue;
  };
  const entriesOf = (body: Body): Body[] => {
    const entries = body.Entries;
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new SqsError(
        'AWS.SimpleQueueService.EmptyBatchRequest',
        'There should be at least one entry in the request.',
      );
    }
    if (entries.length > MAX_BATCH) {
      throw new SqsError(
        'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
        `Maximum number of entries per request are ${MAX_BATCH}.`,
      );
    }
    return entries as Body[];
  };
  const sendOne = (queue: LocalQueue, body: unknown) => {
    if (typeof body !== 'string' || body === '') {
      throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    }
    if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) {
      throw new SqsError('InvalidParameterValue', `Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`);
    }
    const message = queue.send(body);
    return { MessageId: message.messageId, MD5OfMessageBody: message.md5OfBody };
  };

  const actions: Record<string, (body: Body) => unknown> = {
    GetQueueUrl: (body) => {
      const queue = byName.get(String(body.QueueName));
      if (!queue)
        throw new SqsError('AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
      return { QueueUrl: urlOf(queue) };
    },
    ListQueues: () => ({ QueueUrls: props.queues.map(urlOf) }),
    GetQueueAttributes: (body) => {
      const queue = queueOf(body);
      const visible = queue.visibleCount();
      return {
        Attributes: {
          QueueArn: queue.arn,
          ApproximateNumberOfMessages: String(visible),
          ApproximateNumberOfMessagesNotVisible: String(queue.size - visible),
          VisibilityTimeout: String(Math.round(queue.visibilityTimeoutMs / 1000)),
        },
      };
    },
    SendMessage: (body) => sendOne(queueOf(body), body.MessageBody),
    SendMessageBatch: (body) => {
      const queue = queueOf(body);
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const entry of entriesOf(body)) {
        try {
          Successful.push({ Id: entry.Id, ...sendOne(queue, entry.MessageBody) });
        } catch (error) {
          const e = error as SqsError;
          Failed.push({ Id: entry.Id, SenderFault: true, Code: e.type, Message: e.message });
        }
      }
      return { Successful, Failed };
    },
    ReceiveMessage: (body) => {
      const queue = queueOf(body);
      const max = Math.min(MAX_BATCH, Math.max(1, Number(body.MaxNumberOfMessages ?? 1)));
      const visibility =
        body.VisibilityTimeout === undefined ? undefined : Math.max(0, Number(body.VisibilityTimeout)) * 1000;
      const messages = queue.receive(max, visibility);
      return {
        Messages: messages.map((m) => ({
          MessageId: m.messageId,
          ReceiptHandle: m.receiptHandle,
          MD5OfBody: m.md5OfBody,
          Body: m.body,
          Attributes: {
            ApproximateReceiveCount: String(m.receiveCount),
            SentTimestamp: String(m.sentAt),
            ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
          },
        })),
      };
    },
    DeleteMessage: (body) => {
      if (!queueOf(body).delete(String(body.ReceiptHandle))) {
        throw new SqsError('ReceiptHandleIsInvalid', 'The input receipt handle is invalid.');
      }
      return {};
    },
    DeleteMessageBatch: (body) => {
      const queue = queueOf(body);
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const entry of entriesOf(body)) {
        if (queue.delete(String(entry.ReceiptHandle))) Successful.push({ Id: entry.Id });
        else
          Failed.push({
            Id: entry.Id,
            SenderFault: true,
            Code: 'ReceiptHandleIsInvalid',
            Message: 'The input receipt handle is invalid.',
          });
      }
      return { Successful, Failed };
    },
  };

  return async (req: IncomingMessage, res: ServerResponse) => {
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST' || pathOf(req.url) !== '/' || typeof target !== 'string') return false;
    if (!target.startsWith('AmazonSQS.')) return false;
    const reply = (status: number, value: unknown, type?: string) =>
      send(res, status, JSON.stringify(value), {
        'Content-Type': JSON_10,
        'x-amzn-RequestId': uuid(),
        ...(type ? { 'x-amzn-query-error': `${type};Sender` } : {}),
      });
    const { body, tooLarge } = await readBody(req, MAX_REQUEST_BYTES);
    try {
      if (tooLarge) throw new SqsError('RequestTooLarge', 'The request is too large.', 413);
      const action = actions[target.slice('AmazonSQS.'.length)];
      if (!action) throw new SqsError('UnsupportedOperation', `${target} is not served by the local stack.`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new SqsError('SerializationException', 'Request body is not valid JSON.');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new SqsError('SerializationException', 'Request body must be a JSON object.');
      }
      reply(200, action(parsed as Body));
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      reply(error.status, { __type: `com.amazonaws.sqs#${error.type}`, message: error.message }, error.type);
    }
    return true;
  };
}
