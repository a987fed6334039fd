import pino from 'pino';
import { loadConfig } from '../config.ts';
import { DataDirLockedError } from '../db/data-dir-lock.ts';
import { NodeReconClient } from '../sdk/node.ts';

export interface Connection {
  client: NodeReconClient;
  /** True when this command started its own server (no RECON_URL). */
  embedded: boolean;
  /** Where the embedded server keeps its data. */
  dataDir?: string;
  close(): Promise<void>;
}

const apiKey = () => process.env.RECON_API_KEY || undefined;

/** The server named by RECON_URL, else a local `recon serve` on PORT (default 3000). */
export function remote(): Connection {
  const url = process.env.RECON_URL || `http://127.0.0.1:${process.env.PORT || 3000}`;
  const key = apiKey();
  return { client: new NodeReconClient(url, { ...(key && { apiKey: key }) }), embedded: false, close: async () => {} };
}

/**
 * RECON_URL's server, or (without it) an embedded one started for this command: the same
 * server `recon serve` runs, on RECON_DATA_DIR, on a free loopback port, logging to stderr.
 */
export async function connectOrEmbed(): Promise<Connection> {
  if (process.env.RECON_URL) return remote();
  const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0' });
  const log = pino({ level: process.env.RECON_LOG_LEVEL ?? 'warn', base: { app: 'recon' } }, pino.destination(2));
  const { startRecon } = await import('../recon.ts'); // seconds to load; only `run` without RECON_URL needs it
  const recon = await startRecon(config, { log, workers: true }).catch((error: unknown) => {
    if (error instanceof DataDirLockedError) {
      throw new DataDirLockedError(
        `${error.message}\nA server is already using ${config.dataDir}: send the run to it with RECON_URL=http://127.0.0.1:3000 (or its address).`,
      );
    }
    throw error;
  });
  const url = await recon.listen();
  return { client: new NodeReconClient(url), embedded: true, dataDir: config.dataDir, close: () => recon.close() };
}
