import { traceContours } from './contours.ts';
import { type BinaryMask, maskArea, maskBox, type PixelBox } from './mask.ts';
import { encodeRle, type UncompressedRle } from './rle.ts';

export interface CocoImage {
  id: number;
  width: number;
  height: number;
  file_name: string;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** Polygons (iscrowd 0) or column-major RLE (iscrowd 1). */
  segmentation: number[][] | UncompressedRle;
  /** Pixels in the mask. */
  area: number;
  bbox: PixelBox;
  iscrowd: 0 | 1;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory: string;
}

export interface CocoDataset {
  info: { description: string; version: string; year: number; date_created: string; contributor?: string; url?: string };
  licenses: { id: number; name: string; url: string }[];
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

export type CocoSegmentation = 'polygon' | 'rle';

/**
 * One instance annotation from a mask: bbox and area from the pixels themselves; the
 * segmentation as pixel-corner polygons of its outer boundaries (iscrowd 0, what detectors
 * train on) or, with 'rle', as exact column-major RLE (iscrowd 1, COCO's convention for RLE).
 * Undefined for an empty mask.
 */
export function cocoAnnotation(
  mask: BinaryMask,
  ids: { id: number; imageId: number; categoryId: number },
  segmentation: CocoSegmentation = 'polygon',
): CocoAnnotation | undefined {
  const bbox = maskBox(mask);
  if (!bbox) return undefined;
  return {
    id: ids.id,
    image_id: ids.imageId,
    category_id: ids.categoryId,
    segmentation: segmentation === 'rle' ? encodeRle(mask) : traceContours(mask),
    area: maskArea(mask),
    bbox,
    iscrowd: segmentation === 'rle' ? 1 : 0,
  };
}
