import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StoredFile } from '../core/run-files-service.ts';
import { rangeNotSatisfiable } from '../domain/problems.ts';
import { parseRange } from './byte-range.ts';

export interface SendOptions {
  /** `attachment` for downloads, `inline` for what a page shows. */
  disposition: 'attachment' | 'inline';
  /** Named in a 416's detail ("the glb artifact"). */
  what: string;
}

/** Serves a stored file with ETag/If-None-Match, If-Range and single byte ranges (or redirects to where the store serves it). */
export function sendStoredFile(request: FastifyRequest, reply: FastifyReply, file: StoredFile, options: SendOptions) {
  reply
    .header('etag', file.etag)
    .header('last-modified', file.modifiedAt.toUTCString())
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, max-age=0, must-revalidate')
    .header('x-content-type-options', 'nosniff')
    .header('content-disposition', contentDisposition(options.disposition, file.fileName))
    .type(file.contentType);
  if (request.headers['if-none-match'] === file.etag) return reply.status(304).send(null);
  // The bucket serves the bytes itself (Range included); the URL is short-lived, so nobody caches the redirect.
  if (file.redirectUrl) return reply.header('cache-control', 'no-store').redirect(file.redirectUrl, 302);
  const ifRange = request.headers['if-range'];
  const range = ifRange && ifRange !== file.etag ? ({ kind: 'full' } as const) : parseRange(request.headers.range, file.bytes);
  if (range.kind === 'unsatisfiable') {
    reply.header('content-range', `bytes */${file.bytes}`);
    throw rangeNotSatisfiable(options.what, file.bytes);
  }
  if (range.kind === 'partial') {
    return reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${file.bytes}`)
      .header('content-length', range.end - range.start + 1)
      .send(file.read({ start: range.start, end: range.end }));
  }
  return reply.header('content-length', file.bytes).send(file.read());
}

/** Plain names keep the simple form every client reads; others are percent-encoded (RFC 6266). */
function contentDisposition(type: string, name: string) {
  return /^[\x20-\x7e]*$/.test(name) && !/["\\%]/.test(name) ? `${type}; filename="${name}"` : `${type}; filename*=UTF-8''${encodeURIComponent(name)}`;
}
