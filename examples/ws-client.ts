#!/usr/bin/env node
/**
 * Interactive-session client: streams photos to a Recon server over a WebSocket and saves the
 * 3D scene it sends back. Node 24, no dependencies.
 *
 *   node examples/ws-client.ts photos/*.jpg -o scene.glb
 *   node examples/ws-client.ts photos/ --incremental --batch 3 --engine colmap
 *   node examples/ws-client.ts --video clip.mp4 --num-frames 20     (needs ffmpeg)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.heic', '.heif']);

const USAGE = `usage: node examples/ws-client.ts [options] <image|folder>...
  --server URL          Recon server (default $RECON_URL or http://localhost:3000)
  --api-key KEY         API key (default $RECON_API_KEY)
  --engine ID           engine for the session's runs (default: the server's)
  --max-images N        session image limit (default 100)
  --conf PERCENTILE     conf_thresh_percentile (default 10)
  --incremental         ask for an incremental result (delta) after every batch
  --batch N             images per incremental batch (default 2)
  --video FILE          take frames from a video instead (needs ffmpeg)
  --num-frames N        frames to take from the video (default 20)
  -o, --output FILE     where to save the final GLB (default scene.glb)
  --save-deltas         also save each delta as <output>.delta-N.glb
  --keep                keep the session on the server afterwards
  -q, --quiet           no progress bar`;

interface Message {
  type: string;
  [key: string]: unknown;
}

/** One WebSocket with a queue of received messages. */
class SessionSocket {
  readonly #ws: WebSocket;
  readonly #queue: Message[] = [];
  #wake: (() => void) | undefined;
  #closed: string | undefined;
  onProgress: (message: Message) => void = () => {};

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as Message;
      if (message.type === 'progress') this.onProgress(message);
      else this.#queue.push(message);
      this.#wake?.();
    });
    ws.addEventListener('close', (event) => {
      this.#closed = `connection closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`;
      this.#wake?.();
    });
  }

  static open(url: string): Promise<SessionSocket> {
    return new Promise((resolvePromise, reject) => {
      const ws = new WebSocket(url);
      const socket = new SessionSocket(ws);
      ws.addEventListener('open', () => resolvePromise(socket), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
  }

  send(message: Message) {
    this.#ws.send(JSON.stringify(message));
  }

  /** The next message of one of `types`; an `error` message rejects. */
  async expect(...types: string[]): Promise<Message> {
    for (;;) {
      const message = this.#queue.shift();
      if (message) {
        if (types.includes(message.type)) return message;
        if (message.type === 'error') throw new Error(String(message.message));
        continue;
      }
      if (this.#closed) throw new Error(this.#closed);
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }

  close() {
    this.#ws.close();
  }
}

function progressBar(quiet: boolean) {
  let last = '';
  return {
    show(message: Message) {
      if (quiet) return;
      const fraction = Math.min(1, Math.max(0, Number(message.progress) || 0));
      const filled = Math.round(fraction * 30);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${message.stage}: ${String(message.message ?? '').slice(0, 60)}`;
      if (line === last) return;
      last = line;
      process.stderr.write(process.stderr.isTTY ? `\r${line.padEnd(120)}` : `${line}\n`);
    },
    done() {
      if (!quiet && process.stderr.isTTY && last) process.stderr.write('\n');
      last = '';
    },
  };
}

async function imagePaths(inputs: string[]): Promise<string[]> {
  const paths: string[] = [];
  for (const input of inputs) {
    if ((await stat(input)).isDirectory()) {
      const names = (await readdir(input)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
      paths.push(...names.map((n) => join(input, n)));
    } else {
      paths.push(input);
    }
  }
  return paths;
}

/** Evenly spaced frames of a video, as JPEG files in a temp folder (ffmpeg, argument array). */
async function videoFrames(video: string, count: number): Promise<{ paths: string[]; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ws-client-frames-'));
  const run = (command: string, args: string[]) =>
    new Promise<string>((resolvePromise, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('error', (error) => reject(new Error(`${command}: ${error.message} (is it installed?)`)));
      child.on('close', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`${command} exited with ${code}`))));
    });
  const duration = Number(await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', video]));
  const fps = duration > 0 ? count / duration : 1;
  await run('ffmpeg', ['-v', 'error', '-i', video, '-vf', `fps=${fps}`, '-frames:v', String(count), '-q:v', '2', join(dir, 'frame_%04d.jpg')]);
  const paths = (await readdir(dir)).sort().map((n) => join(dir, n));
  return { paths, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      server: { type: 'string', default: process.env.RECON_URL ?? 'http://localhost:3000' },
      'api-key': { type: 'string', default: process.env.RECON_API_KEY },
      engine: { type: 'string' },
      'max-images': { type: 'string', default: '100' },
      conf: { type: 'string' },
      incremental: { type: 'boolean', default: false },
      batch: { type: 'string', default: '2' },
      video: { type: 'string' },
      'num-frames': { type: 'string', default: '20' },
      output: { type: 'string', short: 'o', default: 'scene.glb' },
      'save-deltas': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || (!positionals.length && !values.video)) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const frames = values.video ? await videoFrames(values.video, Number(values['num-frames'])) : undefined;
  const paths = frames ? frames.paths : await imagePaths(positionals);
  if (!paths.length) throw new Error('no images to send');
  const batch = Math.max(1, Number(values.batch) || 2);
  const server = values.server.replace(/\/$/, '');
  const headers: Record<string, string> = values['api-key'] ? { authorization: `Bearer ${values['api-key']}` } : {};
  const bar = progressBar(values.quiet);

  const query = new URLSearchParams({ max_images: values['max-images'] });
  if (values.engine) query.set('engine', values.engine);
  if (values.conf) query.set('conf_thresh_percentile', values.conf);
  const response = await fetch(`${server}/ws/session/create?${query}`, { method: 'POST', headers });
  const created = (await response.json()) as { session_id?: string; engine?: string; detail?: string };
  if (!response.ok || !created.session_id) throw new Error(`could not create a session: ${created.detail ?? response.status}`);
  const sessionId = created.session_id;
  console.error(`session ${sessionId} (engine ${created.engine})`);

  const wsUrl = `${server.replace(/^http/, 'ws')}/ws/reconstruct/${sessionId}`;
  const socket = await SessionSocket.open(values['api-key'] ? `${wsUrl}?api_key=${encodeURIComponent(values['api-key'])}` : wsUrl);
  socket.onProgress = (message) => bar.show(message);
  try {
    await socket.expect('connected');
    let deltas = 0;
    for (const [index, path] of paths.entries()) {
      socket.send({ type: 'image', data: (await readFile(path)).toString('base64'), filename: basename(path) });
      const ack = await socket.expect('ack');
      console.error(`sent ${basename(path)} (${ack.image_count}/${paths.length})`);
      const batchDone = (index + 1) % batch === 0 && index + 1 < paths.length;
      if (values.incremental && batchDone) {
        socket.send({ type: 'generate', incremental: true });
        const delta = await socket.expect('delta');
        bar.done();
        deltas++;
        const metadata = delta.metadata as { num_frames: number; glb_size_bytes: number };
        console.error(`delta ${deltas}: ${delta.image_count} images, ${metadata.num_frames} cameras, ${metadata.glb_size_bytes} bytes`);
        if (values['save-deltas']) await writeFile(`${values.output}.delta-${deltas}.glb`, Buffer.from(String(delta.glb_base64), 'base64'));
      }
    }
    socket.send({ type: 'finalize' });
    const complete = await socket.expect('complete');
    bar.done();
    const glb = Buffer.from(String(complete.glb_base64), 'base64');
    const output = resolve(values.output);
    await writeFile(`${output}.part`, glb);
    await rename(`${output}.part`, output);
    const metadata = complete.metadata as { num_frames: number; run_id: string; glb_url: string };
    console.log(JSON.stringify({ output, sessionId, images: complete.image_count, cameras: metadata.num_frames, bytes: glb.length, runId: metadata.run_id, glbUrl: `${server}${metadata.glb_url}` }));
  } finally {
    socket.close();
    await frames?.cleanup();
    if (!values.keep) await fetch(`${server}/ws/session/${sessionId}`, { method: 'DELETE', headers }).catch(() => {});
  }
}

main().catch((error: Error) => {
  console.error(`error: ${error.message}`);
  process.exit(1);
});
