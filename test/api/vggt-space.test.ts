import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { summarizeGlb } from '../../src/formats/glb-summary.ts';
import { type GradioTestServer, startGradioServer } from '../fixtures/gradio-server/server.ts';
import { makeImage, multipart } from '../helpers/images.ts';
import { jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';

interface SseEvent {
  id: number;
  data: { type: string; status?: string; stage?: string; progress?: number; message?: string | null; error?: string; delayMs?: number };
}

describe('vggt-space engine through the runs API, against a Gradio sse_v3 test server', () => {
  let space: GradioTestServer;
  let server: TestServer;
  before(async () => {
    space = await startGradioServer();
    server = await startTestServer('pglite', { VGGT_SPACE: space.url, RECON_MAX_ATTEMPTS: '3', RECON_POSTPROCESS: '0' });
  });
  after(async () => {
    await server?.close();
    await space?.close();
  });
  beforeEach(() => {
    for (const key of Object.keys(space.faults)) delete space.faults[key as keyof typeof space.faults];
  });

  /** create → upload → process; returns the run id. */
  const startRun = async (settings: Record<string, unknown> = {}, count = 3) => {
    const created = await server.json('/api/runs', jsonBody({ settings }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = created.body.runId as string;
    const images = await Promise.all(Array.from({ length: count }, async (_, i) => ({ name: `img${i}.jpg`, data: await makeImage(i) })));
    const uploaded = await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(images) });
    assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
    const processing = await server.json(`/api/runs/${runId}/process`, { method: 'POST' });
    assert.equal(processing.status, 202, JSON.stringify(processing.body));
    return runId;
  };

  test('vggt-space is the default engine once VGGT_SPACE is set, and reports itself usable', async () => {
    const { body } = await server.json('/api/engines');
    const engines = (body.engines ?? body) as { id: string; available?: boolean; ok?: boolean; default?: boolean }[];
    const engine = engines.find((e) => e.id === 'vggt-space');
    assert.ok(engine, JSON.stringify(body));
    const created = await server.json('/api/runs', jsonBody({ settings: {} }));
    assert.equal(created.body.engine, 'vggt-space');
    assert.equal(created.body.settings.frameFilter, 'All');
  });

  test('the seed workflow: create → upload → process → stream → download the GLB; predictions marked unavailable', async () => {
    const runId = await startRun({ confThreshold: 45, predictionMode: 'pointmap', maskBlackBg: true, showCameras: false });
    const events = await readSse(server, runId);
    const statuses = events.filter((e) => e.data.type === 'status').map((e) => e.data.status);
    for (const status of ['uploading', 'processing', 'fetching', 'completed']) assert.ok(statuses.includes(status), `saw ${status}: ${statuses}`);
    assert.ok(statuses.indexOf('uploading') < statuses.lastIndexOf('fetching'));
    const stages = new Set(events.map((e) => e.data.stage).filter(Boolean));
    for (const stage of ['connecting', 'uploading', 'queued', 'inference', 'fetching']) assert.ok(stages.has(stage), `stage ${stage} in ${[...stages]}`);

    const run = await waitForStatus(server, runId, ['completed', 'failed']);
    assert.equal(run.status, 'completed', run.error);
    assert.ok(run.artifacts.glb);
    assert.equal(run.artifacts.predictions, undefined);
    assert.match(run.unavailableArtifacts.predictions, /predictions\.npz stays on the Space: the Space refused to serve it \(HTTP 403: .*File not allowed/);

    const glb = await server.fetch(run.artifacts.glb);
    assert.equal(glb.status, 200);
    const bytes = new Uint8Array(await glb.arrayBuffer());
    assert.equal(Buffer.from(bytes.subarray(0, 4)).toString(), 'glTF');
    const summary = await summarizeGlb(bytes);
    assert.ok(summary.points > 0, 'the scene has points');

    assert.deepEqual(space.uploads.slice(-3), ['img0.jpg', 'img1.jpg', 'img2.jpg'], 'named files, not "blob"');
    const [targetDir, ...rest] = space.demoCalls.at(-1)!;
    assert.match(String(targetDir), /^input_images_/);
    assert.deepEqual(rest, [45, 'All', true, false, false, false, 'Pointmap Branch']);
  });

  test('predictions.npz is fetched when the Space serves it; cameras come from it', async () => {
    space.faults.servePredictions = true;
    const runId = await startRun({ frameFilter: 'img1.jpg' });
    const run = await waitForStatus(server, runId, ['completed', 'failed']);
    assert.equal(run.status, 'completed', run.error);
    assert.ok(run.artifacts.glb && run.artifacts.predictions);
    assert.equal(space.demoCalls.at(-1)![2], '1: img1.jpg', 'frameFilter by name becomes the Space dropdown choice');
    const cameras = await server.json(`/api/runs/${runId}/cameras`);
    assert.equal(cameras.status, 200);
    assert.equal(cameras.body.numFrames, 3);
  });

  test('the SSE stream shows queue position and ETA from the Space', async () => {
    space.faults.queueAhead = { jobs: 3, stepMs: 300 };
    const runId = await startRun();
    const events = await readSse(server, runId);
    const queued = events.filter((e) => e.data.type === 'progress' || e.data.type === 'status').map((e) => e.data.message ?? '');
    const positions = queued.filter((m) => /queued on the Space \(reconstruction\): position \d of 4, about \d+ s/.test(m));
    assert.ok(positions.length >= 2, `queue updates in the stream: ${JSON.stringify(queued)}`);
    assert.ok(positions.some((m) => m.includes('position 3 of 4')) && positions.some((m) => m.includes('position 1 of 4')), JSON.stringify(positions));
    assert.ok(queued.some((m) => /running on the Space \(reconstruction\): Running VGGT \d\/2 steps/.test(m)), 'Space progress shown');
    assert.equal((await waitForStatus(server, runId, ['completed', 'failed'])).status, 'completed');
  });

  test('Space busy (503) is retried with backoff and then succeeds', async () => {
    space.faults.busy = 1;
    const runId = await startRun();
    const run = await waitForStatus(server, runId, ['completed', 'failed']);
    assert.equal(run.status, 'completed', run.error);
    const retries = (await readSse(server, runId)).filter((e) => e.data.type === 'retry');
    assert.equal(retries.length, 1);
    assert.match(retries[0]!.data.error!, /is busy \(its queue is full, HTTP 503\); retrying later/);
  });

  test('Space busy on every attempt: the run fails after the attempts, saying why', async () => {
    space.faults.busy = 99;
    const run = await waitForStatus(server, await startRun(), ['completed', 'failed']);
    assert.equal(run.status, 'failed');
    assert.match(run.error, /is busy \(its queue is full, HTTP 503\); retrying later \(gave up after 3 attempts\)/);
  });

  test('GPU quota with "retry in" within the ceiling: waits that long, then succeeds', async () => {
    space.faults.quota = { times: 1, message: 'You have exceeded your GPU quota (60s requested vs. 12s left). Retry in 0:00:01' };
    const runId = await startRun();
    const run = await waitForStatus(server, runId, ['completed', 'failed']);
    assert.equal(run.status, 'completed', run.error);
    const retry = (await readSse(server, runId)).find((e) => e.data.type === 'retry');
    assert.match(retry!.data.error!, /GPU quota is used up; retrying in 1 s as it asked/);
    assert.ok(retry!.data.delayMs! >= 1000, 'waited as long as the Space asked');
  });

  test('GPU quota beyond the ceiling fails at once with the time in the message', async () => {
    space.faults.quota = { times: 1, message: 'You have exceeded your free GPU quota (120s requested vs. 0s left). Retry in 2:00:00' };
    const run = await waitForStatus(server, await startRun(), ['completed', 'failed']);
    assert.equal(run.status, 'failed');
    assert.equal(run.attempt, 1);
    assert.match(run.error, /GPU quota is used up and it frees up in 2 h 0 min, more than the 1 h 0 min this server waits/);
    assert.match(run.errorHint, /HF_TOKEN/);
  });

  test('a dropped SSE stream is retried', async () => {
    space.faults.dropStream = 1;
    const runId = await startRun();
    const run = await waitForStatus(server, runId, ['completed', 'failed']);
    assert.equal(run.status, 'completed', run.error);
    const retry = (await readSse(server, runId)).find((e) => e.data.type === 'retry');
    assert.match(retry!.data.error!, /^The connection to the Space http:\/\/127\.0\.0\.1:\d+ dropped while .*reconstructing.*; retrying$/);
  });

  test('a Space that is starting (503 on /config) is waited for with status updates', async () => {
    space.faults.starting = 2;
    const runId = await startRun();
    const run = await waitForStatus(server, runId, ['completed', 'failed']);
    assert.equal(run.status, 'completed', run.error);
    const events = await readSse(server, runId);
    assert.ok(events.some((e) => e.data.stage === 'waking' && /the Space is starting \(HTTP 503\)/.test(e.data.message ?? '')));
    assert.equal(events.filter((e) => e.data.type === 'retry').length, 0, 'waited within the attempt');
  });

  test('an API change (endpoints renamed) fails at once, listing the endpoints the Space has', async () => {
    space.faults.names = { upload: 'upload_images', demo: 'reconstruct' };
    const run = await waitForStatus(server, await startRun(), ['completed', 'failed']);
    assert.equal(run.status, 'failed');
    assert.equal(run.attempt, 1);
    assert.match(run.error, /has no \/update_gallery_on_upload or \/gradio_demo endpoint — its API changed\. Endpoints it has: \/upload_images, \/reconstruct/);
  });

  test('a token the Space refuses fails at once with a hint', async () => {
    space.faults.token = 'hf_only_this_one';
    const run = await waitForStatus(server, await startRun(), ['completed', 'failed']);
    assert.equal(run.status, 'failed');
    assert.equal(run.attempt, 1);
    assert.match(run.error, /needs a Hugging Face token/);
    assert.match(run.errorHint, /HF_TOKEN/);
  });

  test('a missing Space (404) fails at once', async () => {
    space.faults.missing = true;
    const run = await waitForStatus(server, await startRun(), ['completed', 'failed']);
    assert.equal(run.status, 'failed');
    assert.match(run.error, /does not exist \(HTTP 404\)/);
  });

  test('validation errors fail at once: the Space\'s own, and a frameFilter that names no image', async () => {
    space.faults.validation = 'Input should be a valid number';
    const rejected = await waitForStatus(server, await startRun(), ['completed', 'failed']);
    assert.equal(rejected.status, 'failed');
    assert.equal(rejected.attempt, 1);
    assert.match(rejected.error, /The Space rejected the inputs of \/gradio_demo: Input should be a valid number/);
    delete space.faults.validation;
    const badFrame = await waitForStatus(server, await startRun({ frameFilter: 'missing.jpg' }), ['completed', 'failed']);
    assert.equal(badFrame.status, 'failed');
    assert.match(badFrame.error, /frameFilter "missing.jpg" is not one of the run's 3 images/);
  });

  test('cancel sends Gradio\'s cancel for the running job', async () => {
    space.faults.run = { steps: 200, stepMs: 50 };
    const runId = await startRun();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { body } = await server.json(`/api/runs/${runId}`);
      if (body.stage === 'inference') break;
      assert.ok(Date.now() < deadline, `run reached ${body.status}/${body.stage}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const canceled = await server.json(`/api/runs/${runId}/cancel`, { method: 'POST' });
    assert.ok(canceled.status < 300, JSON.stringify(canceled.body));
    assert.equal((await waitForStatus(server, runId, ['canceled', 'completed', 'failed'])).status, 'canceled');
    for (let i = 0; i < 200 && !space.cancels.length; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(space.cancels.length, 1, 'the Space got a cancel');
    assert.equal(space.cancels[0]!.fn_index, 1, 'for /gradio_demo');
    assert.match(space.cancels[0]!.event_id, /^[0-9a-f]{32}$/);
  });
});

/** Reads the run's SSE stream until the run ends (failing, rather than hanging, if it never does). */
async function readSse(server: TestServer, runId: string): Promise<SseEvent[]> {
  const response = await server.fetch(`/api/runs/${runId}/stream`, { signal: AbortSignal.timeout(30_000) });
  assert.equal(response.status, 200);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body!) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const id = /^id: (\d+)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (id && data) events.push({ id: Number(id), data: JSON.parse(data) });
    }
  }
  return events;
}
