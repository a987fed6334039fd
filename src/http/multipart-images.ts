import type { FastifyRequest } from 'fastify';
import type { IncomingImage } from '../core/image-uploads.ts';

/**
 * The files of a multipart request as they arrive, each a stream to read before the next one
 * comes (other fields are skipped). Multipart stops a file one byte past `maxFileBytes`.
 */
export async function* imageParts(request: FastifyRequest, maxFileBytes: number): AsyncGenerator<IncomingImage> {
  const parts = request.parts({ limits: { fileSize: maxFileBytes + 1, fields: 50, fieldSize: 64 * 1024 } });
  for await (const part of parts) {
    if (part.type !== 'file') continue;
    yield { originalName: part.filename || part.fieldname || 'image', stream: part.file };
  }
}
