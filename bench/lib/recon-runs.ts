/** What the upload benches set up on a Recon server besides the upload itself. */
import { MiB } from './report.ts';

/** The environment of a Recon server taking 1 GiB uploads: limits that allow them, quiet logs, the embedded database. */
export function uploadServerEnv(dataDir: string, port: number): Record<string, string | undefined> {
  return {
    RECON_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    RECON_TEST_ENGINES: '1',
    MAX_FILE_BYTES: String(100 * MiB),
    MAX_RUN_BYTES: String(2 * 1024 * MiB),
    RECON_LOG_LEVEL: 'warn',
    DATABASE_URL: undefined,
  };
}

/** A new run of the test engine; its id. */
export async function createRun(base: string): Promise<string> {
  const response = await fetch(`${base}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ engine: 'test' }) });
  if (response.status !== 201) throw new Error(`POST /api/runs: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { runId: string }).runId;
}

export async function deleteRun(base: string, runId: string): Promise<void> {
  const response = await fetch(`${base}/api/runs/${runId}`, { method: 'DELETE' });
  if (response.status !== 204) throw new Error(`DELETE /api/runs/${runId}: ${response.status} ${await response.text()}`);
}
