import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ProxyRule = (req: IncomingMessage, res: ServerResponse, forward: (onChunk?: (chunk: Buffer) => void) => void) => boolean;

/**
 * A small reverse proxy in front of a test server, standing in for the proxies and networks a
 * client meets: each rule may answer a request itself (refuse SSE, cut a stream, go silent)
 * or forward it, watching the response bytes.
 */
export async function startProxy(target: string, rule: ProxyRule) {
  const upstream = new URL(target);
  const requests: { method: string; url: string; lastEventId: string | undefined }[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', lastEventId: req.headers['last-event-id'] as string | undefined });
    const forward = (onChunk?: (chunk: Buffer) => void) => {
      const out = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.on('data', (chunk: Buffer) => {
            // The rule sees a chunk once it has been handed to the client's socket.
            if (!res.destroyed) res.write(chunk, () => onChunk?.(chunk));
          });
          answer.on('end', () => res.end());
          res.on('close', () => answer.destroy());
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    };
    if (!rule(req, res, forward)) forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
