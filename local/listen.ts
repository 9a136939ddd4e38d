/**
 * Listening on a loopback port, for every server the local stack opens (the one HTTP/WebSocket
 * port, the DynamoDB fault proxy): resolves with the port bound (the one picked when given 0), or
 * rejects with the server's own error.
 */
import type { Server } from 'node:net';

export function listenOnLoopback(server: Server, port: number, exclusive = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host: '127.0.0.1', exclusive });
  });
}
