import { type BinaryMask, connectedComponents } from './mask.ts';

// Directions in image coordinates (y down), clockwise: right, down, left, up.
const DX = [1, 0, -1, 0];
const DY = [0, 1, 0, -1];
// The two pixels ahead of a vertex reached moving in each direction, as offsets from the vertex:
// the one on the left of the path and the one on the right (where the object stays).
const AHEAD_LEFT = [[0, -1], [0, 0], [-1, 0], [-1, -1]];
const AHEAD_RIGHT = [[0, 0], [-1, 0], [-1, -1], [0, -1]];

/**
 * The outer boundary of each 4-connected component, as polygons `[x0, y0, x1, y1, …]` whose
 * vertices are pixel corners: the polygon of a single pixel at (3, 4) is (3,4) (4,4) (4,5)
 * (3,5). Filled, such a polygon covers exactly the component's pixels (and any holes in it),
 * which is how pycocotools rasterises polygons (it treats a box [x, y, w, h] the same way). Only corners
 * where the boundary turns are kept. Components are in raster order of their first pixel.
 */
export function traceContours(mask: BinaryMask): number[][] {
  const { labels, count } = connectedComponents(mask);
  const { width, height } = mask;
  const first = new Int32Array(count + 1).fill(-1);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label && first[label]! < 0) first[label] = i;
  }
  const polygons: number[][] = [];
  for (let label = 1; label <= count; label++) {
    const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && labels[y * width + x] === label;
    const start = first[label]!;
    // The first pixel in raster order has nothing above or to its left: its top edge is boundary.
    const sx = start % width;
    const sy = (start - sx) / width;
    const points: number[] = [];
    let x = sx;
    let y = sy;
    let direction = 0;
    do {
      x += DX[direction]!;
      y += DY[direction]!;
      const [lx, ly] = AHEAD_LEFT[direction]!;
      const [rx, ry] = AHEAD_RIGHT[direction]!;
      let next = direction;
      // Right first: two pixels touching only at a corner stay apart (4-connectivity).
      if (!inside(x + rx!, y + ry!)) next = (direction + 1) % 4;
      else if (inside(x + lx!, y + ly!)) next = (direction + 3) % 4;
      if (next !== direction) points.push(x, y);
      direction = next;
    } while (!(x === sx && y === sy && direction === 0));
    polygons.push(points);
  }
  return polygons;
}

/** Twice the signed area (shoelace); positive for the clockwise-on-screen polygons above. */
export function polygonArea(points: readonly number[]): number {
  let twice = 0;
  for (let i = 0; i < points.length; i += 2) {
    const j = (i + 2) % points.length;
    twice += points[i]! * points[j + 1]! - points[j]! * points[i + 1]!;
  }
  return twice / 2;
}
