import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { EngineError } from '../../src/engines/engine.ts';
import { callError, connectError, formatDuration, missingEndpointError, parseRetryIn, quotaError } from '../../src/engines/vggt-space/errors.ts';
import { createVggtSpaceEngine } from '../../src/engines/vggt-space/index.ts';
import { frameFilterChoice, gradioDemoInputs, vggtSpaceSettings } from '../../src/engines/vggt-space/settings.ts';
import { type GradioTestServer, startGradioServer } from '../fixtures/gradio-server/server.ts';

const SPACE = 'facebook/vggt';
const HOUR = 3600_000;
const call = (status: Parameters<typeof callError>[2], maxQuotaWaitMs = HOUR) =>
  callError(SPACE, '/gradio_demo', status, { maxQuotaWaitMs, tokenSet: true, phase: 'reconstructing' });

describe('vggt-space error classification', () => {
  test('"retry in H:MM:SS" (and "try again in") is parsed to milliseconds', () => {
    assert.equal(parseRetryIn('You have exceeded your GPU quota (60s requested vs. 30s left). Retry in 0:01:30'), 90_000);
    assert.equal(parseRetryIn('exceeded your free GPU quota. Try again in 1:00:05.'), 3_605_000);
    assert.equal(parseRetryIn('retry in 12:34'), 754_000);
    assert.equal(parseRetryIn('You have exceeded your GPU quota'), undefined);
  });

  test('GPU quota: transient with retryAfterMs within the ceiling, permanent beyond it or without a time', () => {
    const soon = quotaError('You have exceeded your GPU quota. Retry in 0:05:00', HOUR, true);
    assert.equal(soon.transient, true);
    assert.equal(soon.retryAfterMs, 300_000);
    assert.match(soon.message, /retrying in 5 min 0 s as it asked/);
    const late = quotaError('You have exceeded your free GPU quota. Retry in 3:00:00', HOUR, false);
    assert.equal(late.transient, false);
    assert.match(late.message, /frees up in 3 h 0 min, more than the 1 h 0 min this server waits/);
    assert.match(late.hint!, /set HF_TOKEN/);
    const unknown = quotaError('You have exceeded your GPU quota', HOUR, true);
    assert.equal(unknown.transient, false);
    assert.match(unknown.message, /did not say when to retry/);
    assert.equal(call({ message: 'You have exceeded your GPU quota (90s requested vs. 3s left). Retry in 0:00:40' }).retryAfterMs, 40_000);
  });

  test('error statuses from a call: busy, dropped, validation, out of memory, ZeroGPU aborts, app errors', () => {
    const busy = call({ message: 'This application is currently busy. Please try again. ' });
    assert.equal(busy.transient, true);
    assert.match(busy.message, /busy \(its queue is full, HTTP 503\)/);
    const dropped = call({ message: 'Connection errored out. ', broken: true });
    assert.equal(dropped.transient, true);
    assert.match(dropped.message, /dropped while it was reconstructing/);
    const invalid = call({ message: [{ msg: 'Input should be a valid number' }] as never, code: 'validation_error' });
    assert.equal(invalid.transient, false);
    assert.match(invalid.message, /rejected the inputs of \/gradio_demo: Input should be a valid number/);
    const oom = call({ message: 'CUDA out of memory. Tried to allocate 2.00 GiB' });
    assert.equal(oom.transient, false);
    assert.match(oom.hint!, /fewer images/);
    assert.equal(call({ message: 'GPU task aborted' }).transient, true);
    const failed = call({ message: null as never, title: 'Error' });
    assert.equal(failed.transient, false);
    assert.match(failed.message, /The Space failed in \/gradio_demo: an error without a message/);
  });

  test('connect errors: missing Space, token, starting Space, network, anything else', () => {
    const missing = connectError(SPACE, new Error('Space "facebook/vggt" could not be accessed (received a 404 response from the Hugging Face API).'), false);
    assert.equal(missing.transient, false);
    assert.match(missing.message, /does not exist \(HTTP 404\)/);
    const privateSpace = connectError(SPACE, new Error('Could not access this app (received a 401 response). If it is a private Hugging Face Space, pass a valid token'), true);
    assert.equal(privateSpace.transient, false);
    assert.match(privateSpace.message, /refused HF_TOKEN/);
    const starting = connectError(SPACE, new Error('Could not resolve app config. (received status 503 when fetching the app config)'), false);
    assert.equal(starting.transient, true);
    const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
    const network = connectError(SPACE, reset, false);
    assert.equal(network.transient, true);
    assert.match(network.message, /Lost the connection to the Space facebook\/vggt while connecting \(ECONNRESET/);
    const dns = connectError(SPACE, new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' }) }), false);
    assert.match(dns.message, /did not resolve \(no network/);
    assert.equal(connectError(SPACE, new Error('Invalid URL. A full URL path is required.'), false).transient, false);
  });

  test('a missing endpoint names the ones the Space has', () => {
    const error = missingEndpointError(SPACE, ['/gradio_demo'], ['/predict', '/update_gallery_on_upload']);
    assert.ok(error instanceof EngineError);
    assert.equal(error.transient, false);
    assert.match(error.message, /has no \/gradio_demo endpoint — its API changed\. Endpoints it has: \/predict, \/update_gallery_on_upload/);
  });

  test('durations read naturally', () => {
    assert.equal(formatDuration(1000), '1 s');
    assert.equal(formatDuration(90_000), '1 min 30 s');
    assert.equal(formatDuration(2 * HOUR + 60_000), '2 h 1 min');
  });
});

describe('vggt-space settings', () => {
  const inputs = ['/x/b.jpg', '/x/a.jpg', '/x/c.png'].sort();

  test('seed settings map onto the /gradio_demo inputs in the Space\'s order', () => {
    const settings = vggtSpaceSettings.parse({ confThreshold: 30, predictionMode: 'pointmap', maskWhiteBg: true, maskSky: true });
    assert.deepEqual(gradioDemoInputs('input_images_1', settings, inputs), ['input_images_1', 30, 'All', false, true, true, true, 'Pointmap Branch']);
    assert.equal(gradioDemoInputs('d', vggtSpaceSettings.parse({}), inputs)[7], 'Depthmap and Camera Branch');
  });

  test('frameFilter: "All", an index or a file name becomes the Space\'s dropdown choice', () => {
    assert.equal(frameFilterChoice('All', inputs), 'All');
    assert.equal(frameFilterChoice(2, inputs), '2: c.png');
    assert.equal(frameFilterChoice('b.jpg', inputs), '1: b.jpg');
    assert.throws(() => frameFilterChoice(3, inputs), /frameFilter 3 is not one of the run's 3 images/);
    assert.throws(() => frameFilterChoice('z.jpg', inputs), EngineError);
    assert.equal(vggtSpaceSettings.safeParse({ frameFilter: -1 }).success, false);
  });
});

describe('vggt-space check()', () => {
  let space: GradioTestServer;
  before(async () => {
    space = await startGradioServer();
  });
  after(() => space?.close());

  test('a Gradio app serving the VGGT demo is usable', async () => {
    assert.deepEqual(await createVggtSpaceEngine({ space: space.url }).check(), { ok: true });
  });

  test('reports why not: renamed endpoints, token, unreachable host, missing Space on the Hub', async () => {
    space.faults.names = { upload: 'upload', demo: 'predict' };
    const renamed = await createVggtSpaceEngine({ space: space.url }).check();
    delete space.faults.names;
    assert.equal(renamed.ok, false);
    assert.match(renamed.reason!, /has no \/update_gallery_on_upload or \/gradio_demo endpoint \(its API changed; it has \/upload, \/predict\)/);

    space.faults.token = 'hf_right';
    const anonymous = await createVggtSpaceEngine({ space: space.url }).check();
    const wrong = await createVggtSpaceEngine({ space: space.url, token: 'hf_wrong' }).check();
    const right = await createVggtSpaceEngine({ space: space.url, token: 'hf_right' }).check();
    delete space.faults.token;
    assert.match(anonymous.reason!, /needs a Hugging Face token: set HF_TOKEN/);
    assert.match(wrong.reason!, /HF_TOKEN was refused/);
    assert.equal(right.ok, true);

    const port = await closedPort();
    const closed = await createVggtSpaceEngine({ space: `http://127.0.0.1:${port}` }).check();
    assert.equal(closed.ok, false);
    assert.match(closed.reason!, new RegExp(`cannot reach 127\\.0\\.0\\.1:${port}: ECONNREFUSED`));

    // A Space id is looked up on the Hub; the test server answers 404 there, as the Hub does for unknown Spaces.
    const unknown = await createVggtSpaceEngine({ space: 'nobody/nothing', hubUrl: space.url }).check();
    assert.match(unknown.reason!, /the Space nobody\/nothing does not exist/);
  });

  test('the answer is cached briefly', async () => {
    const engine = createVggtSpaceEngine({ space: space.url });
    const before = space.requests.length;
    await engine.check();
    await engine.check();
    assert.equal(space.requests.length, before + 1);
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}
