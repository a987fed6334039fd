/**
 * The baseline for bench/status.ts: Fastify 5, logger off, one route answering a small constant
 * object. A file of its own so the process loads nothing else. Prints `LISTENING <port>`.
 */
import Fastify from 'fastify';

const BODY = { runId: 'run_0000000000000_constant', status: 'completed' };

const app = Fastify({ logger: false });
app.get('/api/runs/:runId', async () => BODY);
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
console.log(`LISTENING ${new URL(address).port}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
