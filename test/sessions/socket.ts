import type { TestServer } from '../helpers/recon.ts';

export interface Msg {
  type: string;
  [key: string]: any;
}

/** A WebSocket client for tests: every message is queued, `next` takes them in order. */
export interface TestSocket {
  ws: WebSocket;
  received: Msg[];
  send(message: unknown): void;
  sendRaw(data: string | Uint8Array): void;
  /** The next message (optionally of one of `types`, skipping others, e.g. progress). */
  next(types?: string | string[], timeoutMs?: number): Promise<Msg>;
  /** Sends a ping and waits for the pong: proof the socket is still usable. */
  roundTrip(): Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export function wsUrl(server: TestServer, path: string) {
  return new URL(path, server.url.replace(/^http/, 'ws')).toString();
}

export async function openSocket(server: TestServer, sessionId: string): Promise<TestSocket> {
  const ws = new WebSocket(wsUrl(server, `/ws/reconstruct/${sessionId}`));
  const received: Msg[] = [];
  const queue: Msg[] = [];
  let waiter: (() => void) | undefined;
  let closeInfo: { code: number; reason: string } | undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener('close', (event) => {
      closeInfo = { code: event.code, reason: event.reason };
      resolve(closeInfo);
      waiter?.();
    });
  });
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as Msg;
    received.push(message);
    queue.push(message);
    waiter?.();
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error('WebSocket failed to open')), { once: true });
  });
  const socket: TestSocket = {
    ws,
    received,
    closed,
    send: (message) => ws.send(JSON.stringify(message)),
    sendRaw: (data) => ws.send(data),
    async next(types, timeoutMs = 20_000) {
      const wanted = types === undefined ? undefined : Array.isArray(types) ? types : [types];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (queue.length) {
          const message = queue.shift()!;
          if (!wanted || wanted.includes(message.type)) return message;
          if (message.type === 'error' && !wanted.includes('error')) throw new Error(`server error: ${message.message}`);
        }
        if (closeInfo) throw new Error(`socket closed (${closeInfo.code} ${closeInfo.reason}) while waiting for ${wanted ?? 'a message'}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${wanted ?? 'message'} within ${timeoutMs} ms; got ${received.map((m) => m.type).join(',')}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        waiter = undefined;
      }
    },
    async roundTrip() {
      socket.send({ type: 'ping' });
      const pong = await socket.next('pong');
      if (!pong.session_id) throw new Error('pong without session_id');
    },
    async close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
      await closed;
    },
  };
  return socket;
}
