export const THUMBNAIL_SIZE = 256;

/** A JPEG at most 256 px on its longer side, upright per EXIF orientation. */
export async function writeThumbnail(input: string, output: string, size = THUMBNAIL_SIZE): Promise<void> {
  // Loaded on first use, not at the server's start-up.
  const { default: sharp } = await import('sharp');
  await sharp(input, { failOn: 'error' })
    .rotate()
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toFile(output);
}
