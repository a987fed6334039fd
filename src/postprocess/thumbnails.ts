import sharp from 'sharp';

export const THUMBNAIL_SIZE = 256;

/** A JPEG at most 256 px on its longer side, upright per EXIF orientation. */
export async function writeThumbnail(input: string, output: string, size = THUMBNAIL_SIZE): Promise<void> {
  await sharp(input, { failOn: 'error' })
    .rotate()
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toFile(output);
}
