/** `ConnectionGateway` on the API Gateway Management API. */
import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { ThrottledError, TransientDeliveryError } from '../core/delivery.js';
import type {
  ConnectionGateway,
  ConnectionStatus,
  ConnectionStatusSource,
  PostResult,
} from '../core/ports.js';

/**
 * 410 is the only answer meaning "this connection no longer exists"; matched by type, not status.
 * Throttling (429) and server-side failures become core's retryable errors; core owns the retries
 * (the client is built with a single attempt), so they can adapt concurrency and honour the
 * invocation's time budget.
 */
function goneOrThrow(error: unknown): PostResult {
  if (error instanceof GoneException) return 'gone';
  if (error instanceof LimitExceededException)
    throw new ThrottledError('callback rate limit', { cause: error });
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === 429) throw new ThrottledError('callback rate limit', { cause: error });
  if (status === undefined || status >= 500) {
    // No status at all: a timeout or a reset connection, worth another try.
    throw new TransientDeliveryError(`@connections failed (${status ?? (error as Error).name})`, {
      cause: error,
    });
  }
  throw error;
}

export class ManagementApiGateway implements ConnectionGateway, ConnectionStatusSource {
  private readonly encoder = new TextEncoder();

  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async post(connectionId: string, data: string): Promise<PostResult> {
    try {
      await this.client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: this.encoder.encode(data) }),
      );
      return 'delivered';
    } catch (error) {
      return goneOrThrow(error);
    }
  }

  /** `GET @connections/{id}`: API Gateway's `lastActiveAt`, or 'gone'. */
  async status(connectionId: string): Promise<ConnectionStatus> {
    try {
      const { LastActiveAt } = await this.client.send(
        new GetConnectionCommand({ ConnectionId: connectionId }),
      );
      // Absent only if API Gateway answered without it: count the connection as active now.
      return { lastActiveAt: Math.floor((LastActiveAt?.getTime() ?? Date.now()) / 1000) };
    } catch (error) {
      if (goneOrThrow(error) === 'gone') return 'gone';
      throw error;
    }
  }

  async close(connectionId: string): Promise<PostResult> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      return 'delivered';
    } catch (error) {
      return goneOrThrow(error);
    }
  }
}
