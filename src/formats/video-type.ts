import type { ImageType } from './image-type.ts';

/** ISO base media brands of MP4 and QuickTime movies (HEIC/AVIF pictures share the box layout, not these brands). */
const MP4_BRANDS = new Set(['isom', 'iso2', 'iso4', 'iso5', 'iso6', 'mp41', 'mp42', 'avc1', 'M4V ', 'M4VP', 'mmp4', 'dash', 'MSNV', 'f4v ', '3gp4', '3gp5', '3gp6', '3g2a']);
/** Top-level QuickTime atoms an older .mov may start with instead of `ftyp`. */
const QUICKTIME_ATOMS = new Set(['moov', 'mdat', 'wide', 'free']);
const ascii = (bytes: Uint8Array, start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));

/** The bytes needed to recognise every accepted video type. */
export const VIDEO_SNIFF_BYTES = 12;

/** Recognises an accepted video (MP4, MOV, WebM/Matroska) by its first bytes, never by its name. */
export function detectVideoType(head: Uint8Array): ImageType | undefined {
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    return { mime: 'video/webm', extension: '.webm' };
  }
  if (head.length < 12) return undefined;
  const box = ascii(head, 4, 8);
  const brand = ascii(head, 8, 12);
  if (box === 'ftyp' && brand === 'qt  ') return { mime: 'video/quicktime', extension: '.mov' };
  if (box === 'ftyp' && MP4_BRANDS.has(brand)) return { mime: 'video/mp4', extension: '.mp4' };
  if (QUICKTIME_ATOMS.has(box)) return { mime: 'video/quicktime', extension: '.mov' };
  return undefined;
}

export const isVideoType = (contentType: string) => contentType.startsWith('video/');
