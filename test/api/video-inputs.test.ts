import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { readNpz } from '../../src/formats/npz.ts';
import { laplacianVariance } from '../../src/engines/video/sharpness.ts';
import { sharpestPerWindow } from '../../src/engines/video/extract-frames.ts';
import { multipart } from '../helpers/images.ts';
import { jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';

const run = promisify(execFile);

/** A 2 s, 12 fps clip of a moving gradient; every third frame is blurred (as a shaky hand would). */
async function makeVideo(dir: string, codec: 'mp4' | 'webm'): Promise<string> {
  for (let i = 0; i < 24; i++) {
    const size = 96;
    const pixels = Buffer.alloc(size * size * 3);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const o = (y * size + x) * 3;
        const checker = ((x + i * 2) >> 3) % 2 ^ (y >> 3) % 2;
        pixels[o] = checker ? 230 : 20;
        pixels[o + 1] = (x * 2 + i * 8) & 255;
        pixels[o + 2] = (y * 2) & 255;
      }
    let frame = sharp(pixels, { raw: { width: size, height: size, channels: 3 } });
    if (i % 3 === 1) frame = frame.blur(3);
    await frame.png().toFile(join(dir, `src-${String(i).padStart(3, '0')}.png`));
  }
  const out = join(dir, `walk.${codec}`);
  const encoder = codec === 'mp4' ? ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'] : ['-c:v', 'libvpx', '-b:v', '1M'];
  await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-framerate', '12', '-i', join(dir, 'src-%03d.png'), ...encoder, out]);
  return out;
}

describe('video inputs', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recon-video-'));
    server = await startTestServer('pglite');
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the sharpness measure prefers the sharp frame, and each window keeps its sharpest', async () => {
    const sharpFrame = join(dir, 'sharp.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
      .composite([{ input: Buffer.from('<svg width="64" height="64"><rect x="16" y="16" width="32" height="32" fill="white"/></svg>'), top: 0, left: 0 }])
      .png()
      .toFile(sharpFrame);
    const blurred = join(dir, 'blurred.png');
    await sharp(sharpFrame).blur(4).toFile(blurred);
    assert.ok((await laplacianVariance(sharpFrame)) > 4 * (await laplacianVariance(blurred)));
    assert.deepEqual(sharpestPerWindow([1, 5, 2, 9, 3, 3, 8, 1], 3), [1, 3, 6]);
    assert.deepEqual(sharpestPerWindow([4, 2], 5), [0, 1], 'never more frames than there are');
  });

  for (const codec of ['mp4', 'webm'] as const) {
    test(`an uploaded ${codec.toUpperCase()} becomes the sharpest frames, for any engine`, async () => {
      const video = await makeVideo(dir, codec);
      const created = await server.json('/api/runs', jsonBody({ engine: 'test', settings: { stepMs: 1, videoFrames: 6 } }));
      const runId = created.body.runId;
      const uploaded = await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart([{ name: `walk.${codec}`, data: await readFile(video) }]) });
      assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
      assert.deepEqual(uploaded.body.images, [`walk.${codec}`]);
      assert.equal((await server.json(`/api/runs/${runId}/process`, { method: 'POST' })).status, 202, 'one video is enough images');
      const done = await waitForStatus(server, runId, ['completed', 'failed'], 120_000);
      assert.equal(done.status, 'completed', done.error);

      const npz = join(dir, `${codec}.npz`);
      await writeFile(npz, Buffer.from(await (await server.fetch(done.artifacts.predictions)).arrayBuffer()));
      const predictions = await readNpz(npz);
      const names = predictions.get('image_names').data as string[];
      await predictions.close();
      assert.deepEqual(names, [1, 2, 3, 4, 5, 6].map((n) => `walk-${codec}-f000${n}.jpg`), 'the engine saw the frames, in time order');
      const frame = await server.fetch(`/api/runs/${runId}/images/${names[2]}`);
      assert.equal(frame.status, 200);
      assert.equal(frame.headers.get('content-type'), 'image/jpeg');
      const picked = await Promise.all(
        names.map(async (name) => {
          const file = join(dir, `${codec}-${name}`);
          await writeFile(file, Buffer.from(await (await server.fetch(`/api/runs/${runId}/images/${name}`)).arrayBuffer()));
          return laplacianVariance(file);
        }),
      );
      const log = await (await server.fetch(`/api/runs/${runId}/stream`)).text();
      assert.match(log, /kept the sharpest of \d+ decoded frames in each of 6 windows/);
      // Every kept frame is one of the sharp ones: a blurred frame scores far below its neighbours.
      const weakest = Math.min(...picked);
      const strongest = Math.max(...picked);
      assert.ok(weakest > strongest / 3, `kept frames' sharpness ${picked.map((v) => v.toFixed(0)).join(', ')}`);
    });
  }

  test('a file that is neither image nor video is refused by its content', async () => {
    const created = await server.json('/api/runs', jsonBody({ engine: 'test' }));
    const refused = await server.json(`/api/runs/${created.body.runId}/images`, { method: 'POST', body: multipart([{ name: 'clip.mp4', data: Buffer.from('not really a video, just text pretending') }]) });
    assert.equal(refused.status, 415);
    assert.equal(refused.body.code, 'NOT_AN_IMAGE');
    assert.match(refused.body.detail, /nor an MP4, MOV or WebM video/);
  });
});
