import { FRAME, type Workspace } from './workspace.ts';

const bits = new Float32Array(1);
const bitsU = new Uint32Array(bits.buffer);
const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;
const histogram = new Int32Array(RADIX);
/** A tile's fixed cost, in the units of one Gaussian over one tile, for balancing threads. */
const TILE_OVERHEAD = 4;

/**
 * Sorts the visible Gaussians by depth once (LSD radix sort on the float bits, stable, so
 * ties keep index order) and scatters them into per-tile lists with a counting sort: each
 * tile's slice of `isects` is then front-to-back. Also splits the tiles into `threads`
 * contiguous ranges of about equal work. Returns the number of intersections.
 */
export function binGaussians(ws: Workspace): number {
  const { frame, radius, depth } = ws.a;
  const count = frame[FRAME.count]! | 0;
  const tilesX = frame[FRAME.tilesX]! | 0;
  const tiles = tilesX * frame[FRAME.tilesY]! | 0;
  ws.ensure({ tiles: tiles + 1 });

  let visible = 0;
  {
    const { order, keys, tileStart, tileRect } = ws.a;
    tileStart.fill(0, 0, tiles + 1);
    for (let i = 0; i < count; i++) {
      if (radius[i] === 0) continue;
      bits[0] = depth[i]!;
      keys[visible] = bitsU[0]!;
      order[visible] = i;
      visible++;
      const x0 = tileRect[4 * i]!;
      const y0 = tileRect[4 * i + 1]!;
      const x1 = tileRect[4 * i + 2]!;
      const y1 = tileRect[4 * i + 3]!;
      for (let ty = y0; ty < y1; ty++) {
        for (let tx = x0; tx < x1; tx++) {
          const t = ty * tilesX + tx + 1;
          tileStart[t] = tileStart[t]! + 1;
        }
      }
    }
    for (let t = 1; t <= tiles; t++) tileStart[t] = tileStart[t]! + tileStart[t - 1]!;
  }
  const total = ws.a.tileStart[tiles]!;
  ws.ensure({ isects: total });
  const { order, orderTmp, keys, keysTmp, tileStart, tileCursor, tileRect, isects, tileParts } = ws.a;
  radixSort(keys, order, keysTmp, orderTmp, visible);

  tileCursor.set(tileStart.subarray(0, tiles));
  for (let n = 0; n < visible; n++) {
    const i = order[n]!;
    const x0 = tileRect[4 * i]!;
    const y0 = tileRect[4 * i + 1]!;
    const x1 = tileRect[4 * i + 2]!;
    const y1 = tileRect[4 * i + 3]!;
    for (let ty = y0; ty < y1; ty++) {
      for (let tx = x0; tx < x1; tx++) {
        const t = ty * tilesX + tx;
        const at = tileCursor[t]!;
        isects[at] = i;
        tileCursor[t] = at + 1;
      }
    }
  }

  const parts = ws.threads;
  const work = total + TILE_OVERHEAD * tiles;
  tileParts[0] = 0;
  let t = 0;
  for (let p = 1; p < parts; p++) {
    const goal = (work * p) / parts;
    while (t < tiles && tileStart[t + 1]! + TILE_OVERHEAD * (t + 1) <= goal) t++;
    tileParts[p] = t;
  }
  tileParts[parts] = tiles;
  return total;
}

/** Sorts keys[0..n) ascending, carrying values along; result back in keys/values. */
function radixSort(keys: Uint32Array, values: Int32Array, keysTmp: Uint32Array, valuesTmp: Int32Array, n: number): void {
  let srcK = keys;
  let srcV = values;
  let dstK = keysTmp;
  let dstV = valuesTmp;
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    histogram.fill(0);
    for (let i = 0; i < n; i++) {
      const b = (srcK[i]! >>> shift) & (RADIX - 1);
      histogram[b] = histogram[b]! + 1;
    }
    let sum = 0;
    for (let b = 0; b < RADIX; b++) {
      const c = histogram[b]!;
      histogram[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = srcK[i]!;
      const b = (k >>> shift) & (RADIX - 1);
      const at = histogram[b]!;
      histogram[b] = at + 1;
      dstK[at] = k;
      dstV[at] = srcV[i]!;
    }
    [srcK, dstK] = [dstK, srcK];
    [srcV, dstV] = [dstV, srcV];
  }
  // 32/11 → three passes: the sorted data ended in the temporaries.
  if (srcK !== keys) {
    keys.set(srcK.subarray(0, n));
    values.set(srcV.subarray(0, n));
  }
}
