import { type Readable, Transform, pipeline } from 'node:stream';
import { Problem } from '../domain/problem.ts';
import { fileTooLarge, notAnImage } from '../domain/problems.ts';
import { detectImageType, IMAGE_SNIFF_BYTES, type ImageType } from '../formats/image-type.ts';
import { detectVideoType } from '../formats/video-type.ts';

/** An image received into a local temp file, recognised by its content. */
export interface LocalImage {
  originalName: string;
  safeName: string;
  path: string;
  bytes: number;
  contentType: string;
}

export interface CheckedImage {
  /** The file's bytes as they pass the checks; it errors with a Problem when a check fails. */
  body: Readable;
  /** Known from the first bytes (before the rest has arrived); rejects when they are not an image. */
  type: Promise<ImageType>;
}

/**
 * Checks an uploaded file while it streams: recognises the image (or, with `videos`, the video) by its first bytes (a non-image
 * is refused as soon as they arrive, not after the whole file), stops at `maxFileBytes`, and lets
 * `onChunk` stop it with a Problem (run or disk limits). Nothing is buffered beyond the stream's own.
 */
export function checkImage(file: Readable, original: string, maxFileBytes: number, onChunk: (bytes: number) => Problem | undefined, options: { videos?: boolean } = {}): CheckedImage {
  let head = Buffer.alloc(0);
  let known: ImageType | undefined;
  let bytes = 0;
  let settle!: { resolve: (type: ImageType) => void; reject: (error: unknown) => void };
  const type = new Promise<ImageType>((resolve, reject) => (settle = { resolve, reject }));
  type.catch(() => {});
  const recognise = () => {
    // With `videos` (a run's inputs), a video too: it becomes frames when the run is processed.
    known = detectImageType(head) ?? (options.videos ? detectVideoType(head) : undefined);
    if (!known) return notAnImage(original, options);
    settle.resolve(known);
    return undefined;
  };
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (!known && head.length < IMAGE_SNIFF_BYTES) {
        head = Buffer.concat([head, chunk.subarray(0, IMAGE_SNIFF_BYTES - head.length)]);
        if (head.length >= IMAGE_SNIFF_BYTES) {
          const refused = recognise();
          if (refused) return done(refused);
        }
      }
      if (bytes > maxFileBytes) return done(fileTooLarge(original, maxFileBytes));
      done(onChunk(chunk.length) ?? null, chunk);
    },
    flush(done) {
      done(known ? null : recognise());
    },
  });
  pipeline(file, check, (error) => {
    if (error) settle.reject(uploadError(error, original));
  });
  return { body: check, type };
}

/** What an upload that failed part-way tells the client: the Problem a check raised, or what multipart said. */
export function uploadError(error: unknown, original: string): unknown {
  if (error instanceof Problem) return error;
  if ((error as { code?: string })?.code === 'FST_REQ_FILE_TOO_LARGE') return fileTooLarge(original);
  return error;
}
