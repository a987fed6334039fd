import { detectImageType, IMAGE_SNIFF_BYTES } from '../../src/formats/image-type.ts';
import { detectVideoType } from '../../src/formats/video-type.ts';

export interface CheckedFile {
  file: File;
  ok: boolean;
  /** The detected type (ok) or why the file is refused. */
  mime?: string;
  reason?: string;
}

/** The same magic-byte check the server makes (an image, or a video that becomes frames), before anything is uploaded. */
export async function checkImage(file: File): Promise<CheckedFile> {
  if (file.size === 0) return { file, ok: false, reason: 'the file is empty' };
  const head = new Uint8Array(await file.slice(0, IMAGE_SNIFF_BYTES).arrayBuffer());
  const type = detectImageType(head) ?? detectVideoType(head);
  if (!type) {
    const claimed = file.type ? ` (it says ${file.type})` : '';
    return { file, ok: false, reason: `not a JPEG, PNG, WebP or HEIC image, nor an MP4, MOV or WebM video, by its contents${claimed}` };
  }
  return { file, ok: true, mime: type.mime };
}
