/** The two calls the upload benches make on a Recon server besides the upload itself. */

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
