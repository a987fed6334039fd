import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status this receiver answered with. */
  answered: number;
}

export type Responder = (request: Omit<Received, 'answered'>, index: number) => { status: number; headers?: Record<string, string> };

/** A webhook receiver on 127.0.0.1 that records every request and answers as told. */
export async function startReceiver(respond: Responder = () => ({ status: 204 })) {
  const received: Received[] = [];
  let responder = respond;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const entry = { at: Date.now(), path: request.url ?? '/', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      const answer = responder(entry, received.length);
      received.push({ ...entry, answered: answer.status });
      response.writeHead(answer.status, answer.headers ?? {});
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    received,
    respondWith(next: Responder) {
      responder = next;
    },
    /** Waits until `predicate` holds over what was received. */
    async waitFor(predicate: (received: Received[]) => boolean, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`receiver: condition not met after ${timeoutMs} ms; got ${received.length} requests`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
