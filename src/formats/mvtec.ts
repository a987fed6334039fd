/**
 * MVTec AD's folder layout, per product category: defect-free photos in `train/good`, defect
 * images in `test/<defect>`, and for each a binary mask (255 = defect) in
 * `ground_truth/<defect>/<name>_mask.png`. Names are three-digit indexes, as in MVTec AD.
 */
export const mvtecPaths = {
  good: (category: string, index: number) => `${category}/train/good/${pad(index)}.png`,
  defect: (category: string, defect: string, index: number) => `${category}/test/${defect}/${pad(index)}.png`,
  mask: (category: string, defect: string, index: number) => `${category}/ground_truth/${defect}/${pad(index)}_mask.png`,
};

const pad = (index: number) => String(index).padStart(3, '0');

/** A name safe as one path segment in every archive tool: lowercase ASCII words joined by '-'. */
export function pathSlug(name: string, fallback: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return slug || fallback;
}
