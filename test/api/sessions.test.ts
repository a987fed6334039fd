import assert from 'node:assert/strict';
import { access, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeImage } from '../helpers/images.ts';
import { FILE_SETUPS, startTestServer, type TestServer } from '../helpers/recon.ts';
import { type Msg, openSocket } from '../sessions/socket.ts';

const validator = createRequire(import.meta.url)('gltf-validator') as {
  validateBytes(data: Uint8Array): Promise<{ issues: { numErrors: number; messages: unknown[] } }>;
};
const exists = (path: string) => access(path).then(() => true, () => false);
const b64 = (data: Buffer) => data.toString('base64');

async function validGlb(message: Msg) {
  const bytes = Buffer.from(message.glb_base64, 'base64');
  assert.equal(bytes.subarray(0, 4).toString(), 'glTF');
  assert.equal(message.metadata.glb_size_bytes, bytes.length);
  const report = await validator.validateBytes(new Uint8Array(bytes));
  assert.equal(report.issues.numErrors, 0, JSON.stringify(report.issues.messages.slice(0, 3)));
  return bytes;
}

for (const setup of FILE_SETUPS) {
  describe(`sessions (${setup.label})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(setup.store, { RECON_SESSION_MAX_MESSAGE_BYTES: String(256 * 1024) }, { blobs: setup.blobs });
    });
    after(() => server?.close());

    const create = async (query = 'engine=test') => {
      const { status, body } = await server.json(`/ws/session/create?${query}`, { method: 'POST' });
      assert.equal(status, 200, JSON.stringify(body));
      return body;
    };

    test('HTTP: create, get, list with stats, delete, 404s, /status', async () => {
      const created = await create('engine=test&max_images=5&conf_thresh_percentile=30&show_cameras=false&process_res=640');
      assert.equal(created.success, true);
      assert.match(created.session_id, /^[0-9a-f-]{36}$/);
      assert.equal(created.max_images, 5);
      assert.equal(created.engine, 'test');
      assert.deepEqual(created.config, {
        process_res: 640,
        process_res_method: 'upper_bound_resize',
        conf_thresh_percentile: 30,
        num_max_points: 10_000_000,
        show_cameras: false,
      });
      assert.ok(!Number.isNaN(Date.parse(created.created_at)));

      const got = await server.json(`/ws/session/${created.session_id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.status, 'active');
      assert.equal(got.body.image_count, 0);
      assert.equal(got.body.error_message, null);
      assert.equal(got.body.settings.confThreshold, 30, 'conf_thresh_percentile → confThreshold');
      assert.equal(got.body.settings.showCameras, false, 'show_cameras → showCameras');

      const list = await server.json('/ws/sessions');
      assert.equal(list.status, 200);
      assert.ok(list.body.sessions.some((s: { session_id: string }) => s.session_id === created.session_id));
      assert.equal(list.body.stats.total_sessions, list.body.sessions.length);
      assert.ok(list.body.stats.active_sessions >= 1);
      assert.equal(list.body.stats.max_sessions, 100);

      const status = await server.json('/status');
      assert.equal(status.status, 200);
      assert.equal(status.body.status, 'running');
      assert.ok(status.body.sessions.total >= 1);

      const missing = await server.json('/ws/session/00000000-0000-4000-8000-000000000000');
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal((await server.json('/ws/session/not-a-uuid')).status, 404);
      assert.equal((await server.json('/ws/session/00000000-0000-4000-8000-000000000000', { method: 'DELETE' })).status, 404);

      const deleted = await server.json(`/ws/session/${created.session_id}`, { method: 'DELETE' });
      assert.deepEqual(deleted.body, { success: true, session_id: created.session_id });
      assert.equal((await server.json(`/ws/session/${created.session_id}`)).status, 404);
      assert.equal(await exists(join(server.dataDir, 'sessions', created.session_id)), false, 'files removed');

      const badEngine = await server.json('/ws/session/create?engine=nope', { method: 'POST' });
      assert.equal(badEngine.status, 400);
      const tooMany = await server.json('/ws/session/create?engine=test&max_images=100000', { method: 'POST' });
      assert.equal(tooMany.status, 400);
      assert.match(tooMany.body.detail, /max_images 100000 is over the limit/);
      const badParam = await server.json('/ws/session/create?engine=test&conf_thresh_percentile=101', { method: 'POST' });
      assert.equal(badParam.status, 400);
    });

    test('WebSocket: images → generate incremental → delta → more images → finalize → complete', async () => {
      const { session_id: id } = await create('engine=test&max_images=10');
      const socket = await openSocket(server, id);
      const connected = await socket.next();
      assert.deepEqual(
        { type: connected.type, session_id: connected.session_id, image_count: connected.image_count, max_images: connected.max_images },
        { type: 'connected', session_id: id, image_count: 0, max_images: 10 },
      );
      for (const [i, name] of ['b.jpg', 'a.png'].entries()) {
        socket.send({ type: 'image', data: b64(await makeImage(i, name.endsWith('png') ? 'png' : 'jpeg')), filename: name });
        const ack = await socket.next('ack');
        assert.equal(ack.image_count, i + 1);
        assert.equal(ack.session_id, id);
        assert.equal(ack.image_path, `images/${name}`);
      }
      // No filename: a name in arrival order; a data: URL prefix is accepted.
      socket.send({ type: 'image', data: `data:image/jpeg;base64,${b64(await makeImage(5))}` });
      assert.equal((await socket.next('ack')).image_path, 'images/image_0003.jpg');

      socket.send({ type: 'generate', incremental: true });
      const delta = await socket.next('delta');
      const stages = socket.received.filter((m) => m.type === 'progress').map((m) => m.stage);
      assert.deepEqual([...new Set(stages)], ['loading_model', 'inference', 'exporting', 'finalizing']);
      const progress = socket.received.filter((m) => m.type === 'progress').map((m) => m.progress);
      assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress only grows');
      assert.equal(delta.image_count, 3);
      await validGlb(delta);
      const meta = delta.metadata;
      assert.equal(meta.session_id, id);
      assert.equal(meta.num_frames, 3);
      assert.equal(meta.intrinsics.length, 3);
      assert.deepEqual(meta.intrinsics[0], [[500, 0, 320], [0, 500, 240], [0, 0, 1]]);
      assert.equal(meta.extrinsics.length, 3);
      assert.deepEqual(meta.extrinsics[0][3], [0, 0, 0, 1]);
      assert.deepEqual(meta.image_names, ['a.png', 'b.jpg', 'image_0003.jpg']);
      // The run is an ordinary run, and its GLB is the same over HTTP.
      const run = await server.json(`/api/runs/${meta.run_id}`);
      assert.equal(run.body.status, 'completed');
      assert.equal(run.body.engine, 'test');
      assert.equal(run.body.settings.confThreshold, 10, 'the seed default conf_thresh_percentile');
      const listed = await server.json('/api/runs?engine=test&limit=200');
      assert.ok(listed.body.runs.some((r: { runId: string }) => r.runId === meta.run_id));
      const overHttp = Buffer.from(await (await server.fetch(meta.glb_url)).arrayBuffer());
      assert.equal(overHttp.toString('base64'), delta.glb_base64);

      socket.send({ type: 'image', data: b64(await makeImage(7)), filename: 'c.jpg' });
      assert.equal((await socket.next('ack')).image_count, 4);
      socket.send({ type: 'finalize' });
      const complete = await socket.next('complete');
      assert.equal(complete.image_count, 4);
      assert.equal(complete.metadata.num_frames, 4);
      assert.notEqual(complete.metadata.run_id, meta.run_id, 'new images → a final run');
      await validGlb(complete);

      const session = (await server.json(`/ws/session/${id}`)).body;
      assert.equal(session.status, 'completed');
      assert.equal(session.image_count, 4);
      assert.deepEqual(session.run_ids, [meta.run_id, complete.metadata.run_id]);
      // Finalizing again answers with the same result; a completed session takes no more images.
      socket.send({ type: 'finalize' });
      assert.equal((await socket.next('complete')).metadata.run_id, complete.metadata.run_id);
      socket.send({ type: 'image', data: b64(await makeImage(8)) });
      const refused = await socket.next('error');
      assert.match(refused.message, /completed/);
      await socket.close();
    });

    test('non-incremental generate answers with complete; finalize without new images reuses it', async () => {
      const { session_id: id } = await create('engine=test');
      const socket = await openSocket(server, id);
      await socket.next('connected');
      socket.send({ type: 'image', data: b64(await makeImage(1)) });
      await socket.next('ack');
      socket.send({ type: 'generate' });
      const first = await socket.next(['complete', 'delta']);
      assert.equal(first.type, 'complete');
      assert.equal((await server.json(`/ws/session/${id}`)).body.status, 'active');
      socket.send({ type: 'finalize' });
      const final = await socket.next('complete');
      assert.equal(final.metadata.run_id, first.metadata.run_id, 'no new images: no new run');
      assert.equal((await server.json(`/ws/session/${id}`)).body.status, 'completed');
      await socket.close();
    });

    test('a session survives disconnects: reconnect mid-session and mid-run, then continue', async () => {
      const { session_id: id } = await create('engine=test');
      const first = await openSocket(server, id);
      await first.next('connected');
      first.send({ type: 'image', data: b64(await makeImage(1)), filename: 'one.jpg' });
      await first.next('ack');
      await first.close();

      const second = await openSocket(server, id);
      const connected = await second.next('connected');
      assert.equal(connected.image_count, 1, 'images kept across the disconnect');
      second.send({ type: 'image', data: b64(await makeImage(2)), filename: 'two.jpg' });
      assert.equal((await second.next('ack')).image_count, 2);
      second.send({ type: 'generate', incremental: true });
      await second.next('progress');
      await second.close(); // drop the connection while the run is going

      const third = await openSocket(server, id);
      await third.next('connected');
      third.send({ type: 'finalize' });
      const complete = await third.next('complete');
      assert.equal(complete.image_count, 2);
      assert.deepEqual(complete.metadata.image_names, ['one.jpg', 'two.jpg']);
      await validGlb(complete);
      await third.close();
    });

    test('error cases: each gets an error message and the socket stays usable', async () => {
      // Unknown session: error, then the server closes.
      const unknown = await openSocket(server, '00000000-0000-4000-8000-000000000000');
      const notFound = await unknown.next('error');
      assert.match(notFound.message, /Session "00000000-0000-4000-8000-000000000000" does not exist/);
      assert.equal(notFound.status, 404);
      assert.equal((await unknown.closed).code, 1008);

      const { session_id: id } = await create('engine=test&max_images=2');
      const socket = await openSocket(server, id);
      await socket.next('connected');
      const expectError = async (send: () => void | Promise<void>, pattern: RegExp, status: number) => {
        await send();
        const error = await socket.next('error');
        assert.match(error.message, pattern);
        assert.equal(error.status, status);
        await socket.roundTrip();
      };
      await expectError(() => socket.sendRaw('{"type": "image", '), /not valid JSON/, 400);
      await expectError(() => socket.sendRaw('[1,2]'), /JSON object/, 400);
      await expectError(() => socket.send({ type: 'teleport' }), /Unknown message type "teleport"; expected one of image, generate, finalize, ping/, 400);
      await expectError(() => socket.send({ data: 'x' }), /Unknown message type null/, 400);
      await expectError(() => socket.send({ type: 'image' }), /Invalid "image" message — data/, 400);
      await expectError(() => socket.send({ type: 'generate', incremental: 'yes' }), /Invalid "generate" message/, 400);
      await expectError(() => socket.send({ type: 'image', data: '***not base64***' }), /not valid base64/, 400);
      await expectError(
        () => socket.send({ type: 'image', data: b64(Buffer.from('%PDF-1.7 definitely not a picture')), filename: 'x.jpg' }),
        /"x.jpg" is not a JPEG, PNG, WebP or HEIC image/,
        415,
      );
      await expectError(() => socket.send({ type: 'generate' }), /no images yet/, 422);
      await expectError(() => socket.send({ type: 'finalize' }), /no images yet/, 422);
      await expectError(() => socket.sendRaw(new Uint8Array([1, 2, 3])), /Binary frames/, 400);
      await expectError(
        () => socket.send({ type: 'image', data: 'A'.repeat(300 * 1024) }),
        /Message of \d+ bytes is over the limit of 262144 bytes/,
        413,
      );
      for (const i of [1, 2]) {
        socket.send({ type: 'image', data: b64(await makeImage(i)) });
        await socket.next('ack');
      }
      const third = b64(await makeImage(3));
      await expectError(() => socket.send({ type: 'image', data: third }), /Too many images: the session already holds 2/, 422);
      assert.equal((await readdir(join(server.dataDir, 'sessions', id, 'images'))).length, 2, 'refused images leave no files');
      // A generate while one is running is refused; the first still completes.
      socket.send({ type: 'generate', incremental: true });
      socket.send({ type: 'generate', incremental: true });
      const busy = await socket.next('error');
      assert.match(busy.message, /already running/);
      await socket.next('delta');
      await socket.close();
    });

    test('a failing run turns into an error message and session status error', async () => {
      const { session_id: id } = await create('engine=test');
      // The session's settings are the engine's; make its runs fail through the test engine's switch.
      await server.recon.store.db
        .updateTable('sessions')
        .set({ settings: JSON.stringify({ failWith: 'permanent', stepMs: 1 }) })
        .where('id', '=', id)
        .execute();
      const socket = await openSocket(server, id);
      await socket.next('connected');
      socket.send({ type: 'image', data: b64(await makeImage(1)) });
      await socket.next('ack');
      socket.send({ type: 'generate', incremental: true });
      const error = await socket.next('error');
      assert.match(error.message, /failed: simulated permanent failure/);
      const session = (await server.json(`/ws/session/${id}`)).body;
      assert.equal(session.status, 'error');
      assert.match(session.error_message, /simulated permanent failure/);
      await socket.roundTrip();
      await socket.close();
    });
  });
}

describe('session limits and the sweeper', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite', {
      RECON_MAX_SESSIONS: '2',
      RECON_SESSION_IDLE_MS: '1000',
      RECON_SESSION_SWEEP_MS: '200',
    });
  });
  after(() => server?.close());

  test('max sessions: the third create is refused with 503; the sweeper removes idle sessions and their files', async () => {
    const a = (await server.json('/ws/session/create?engine=test', { method: 'POST' })).body.session_id;
    const b = (await server.json('/ws/session/create?engine=test', { method: 'POST' })).body.session_id;
    const full = await server.json('/ws/session/create?engine=test', { method: 'POST' });
    assert.equal(full.status, 503);
    assert.match(full.body.detail, /maximum of 2 sessions/);

    const socket = await openSocket(server, a);
    await socket.next('connected');
    socket.send({ type: 'image', data: (await makeImage(1)).toString('base64'), filename: 'kept.jpg' });
    await socket.next('ack');
    const file = join(server.dataDir, 'sessions', a, 'images', 'kept.jpg');
    assert.equal(await exists(file), true);

    // Keep b busy with pings past the timeout: activity keeps a session alive.
    const other = await openSocket(server, b);
    await other.next('connected');
    const started = Date.now();
    while (Date.now() - started < 1800) {
      await other.roundTrip();
      await new Promise((r) => setTimeout(r, 150));
    }
    const expired = await socket.next('error', 5000);
    assert.match(expired.message, /expired after 1 s without activity/);
    assert.equal((await socket.closed).code, 1001);
    assert.equal((await server.json(`/ws/session/${a}`)).status, 404);
    assert.equal(await exists(join(server.dataDir, 'sessions', a)), false, 'images removed');
    assert.equal((await server.json(`/ws/session/${b}`)).status, 200, 'the active session stays');
    const created = await server.json('/ws/session/create?engine=test', { method: 'POST' });
    assert.equal(created.status, 200, 'room again after the sweep');
    await other.close();
  });
});
