/** `ConnectionGateway` on the API Gateway Management API. */
import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { ConnectionGateway, PostResult } from '../core/ports.js';

/** 410 is the only answer meaning "this connection no longer exists"; matched by type, not status. */
function goneOrThrow(error: unknown): PostResult {
  if (error instanceof GoneException) return 'gone';
  throw error;
}

export class ManagementApiGateway implements ConnectionGateway {
  private readonly encoder = new TextEncoder();

  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async post(connectionId: string, data: string): Promise<PostResult> {
    try {
      // Throttling (429) and 5xx are retried by the SDK's standard retry strategy with backoff.
      await this.client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: this.encoder.encode(data) }),
      );
      return 'delivered';
    } catch (error) {
      return goneOrThrow(error);
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
