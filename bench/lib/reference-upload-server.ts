/**
 * The reference for bench/upload.ts: a bare Node `http` server that pipes each request body to a
 * file in BENCH_REFERENCE_DIR and answers 200 with `{ path, bytes }` once it is written. A file of
 * its own so the process loads nothing else. Prints `LISTENING <port>`.
 */
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const dir = process.env.BENCH_REFERENCE_DIR;
if (!dir) throw new Error('BENCH_REFERENCE_DIR is not set');
let count = 0;
const server = createServer((req, res) => {
  const path = join(dir, `body-${count++}.bin`);
  const out = createWriteStream(path);
  req.pipe(out);
  out.on('finish', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path, bytes: out.bytesWritten }));
  });
  out.on('error', (error) => {
    res.writeHead(500);
    res.end(String(error));
  });
});
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
