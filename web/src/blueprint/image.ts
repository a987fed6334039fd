import { blueprintApi } from '../api.ts';
import { h } from '../dom.ts';

/** An <img> of a stored blueprint file, loaded with the API key (blob: URL, cached). */
export function storedImage(path: string, alt: string, props: Record<string, unknown> = {}): HTMLImageElement {
  // Hidden until its pixels are there: an <img> without src would show its alt text meanwhile.
  const img = h('img', { alt, decoding: 'async', ...props, class: ['pending', props.class].filter(Boolean).join(' ') });
  img.addEventListener('load', () => img.classList.remove('pending'), { once: true });
  blueprintApi.imageUrl(path).then(
    (url) => {
      img.src = url;
    },
    () => img.classList.add('broken'),
  );
  return img;
}

/**
 * A generated image's label drawn over it: the mask's pixels tinted, and its bounding box — what
 * the exported COCO and YOLO files will say, so a reviewer sees the label, not just the image.
 */
export function labelOverlay(maskPath: string, bbox: [number, number, number, number], size: { width: number; height: number }): HTMLCanvasElement {
  const canvas = h('canvas', { width: size.width, height: size.height, class: 'label-overlay', 'aria-hidden': 'true' });
  void blueprintApi.imageUrl(maskPath).then(async (url) => {
    const bitmap = await createImageBitmap(await (await fetch(url)).blob());
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0, size.width, size.height);
    const pixels = ctx.getImageData(0, 0, size.width, size.height);
    for (let i = 0; i < pixels.data.length; i += 4) {
      const inside = pixels.data[i]! > 127;
      pixels.data.set(inside ? [242, 184, 75, 150] : [0, 0, 0, 0], i);
    }
    ctx.putImageData(pixels, 0, 0);
    ctx.strokeStyle = '#f2b84b';
    ctx.lineWidth = Math.max(1, size.width / 160);
    ctx.strokeRect(bbox[0], bbox[1], bbox[2], bbox[3]);
  });
  return canvas;
}
