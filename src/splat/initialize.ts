import type { GaussianCloud } from './gaussian-cloud.ts';
import { SH_C0 } from './sh.ts';
import { groupWidth } from './workspace.ts';

/** Sparse (or dense) points that seed the Gaussians: xyz triples and RGB triples in 0..255. */
export interface SeedPoints {
  positions: ArrayLike<number>;
  colors: ArrayLike<number>;
}

/**
 * One Gaussian per point, as gsplat initialises from SfM: colour → SH DC, isotropic scale
 * = RMS distance to the 3 nearest other points (times `scale`), identity rotation, opacity
 * `opacity`, higher SH zero.
 */
export function gaussiansFromPoints(points: SeedPoints, options: { shDegree: number; opacity: number; scale: number }): GaussianCloud {
  const count = points.positions.length / 3;
  if (!Number.isInteger(count) || count < 1) throw new Error(`need at least one point (xyz triples), got ${points.positions.length} values`);
  if (points.colors.length !== points.positions.length) throw new Error(`${count} points but ${points.colors.length / 3} colours`);
  const cloud: GaussianCloud = {
    count,
    shDegree: options.shDegree,
    means: Float32Array.from(points.positions),
    logScales: new Float32Array(count * 3),
    quats: new Float32Array(count * 4),
    opacities: new Float32Array(count).fill(Math.log(options.opacity / (1 - options.opacity))),
    sh0: new Float32Array(count * 3),
    shN: new Float32Array(count * groupWidth('shN', options.shDegree)),
  };
  const distances = nearestDistances(cloud.means, 3);
  for (let i = 0; i < count; i++) {
    const s = Math.log(Math.max(distances[i]!, 1e-7) * options.scale);
    cloud.logScales.fill(s, 3 * i, 3 * i + 3);
    cloud.quats[4 * i] = 1;
    for (let c = 0; c < 3; c++) cloud.sh0[3 * i + c] = (points.colors[3 * i + c]! / 255 - 0.5) / SH_C0;
  }
  return cloud;
}

/**
 * Root-mean-square distance from each point to its k nearest others, with a uniform grid
 * (about two points a cell) searched in growing shells until no closer point can remain.
 */
export function nearestDistances(xyz: ArrayLike<number>, k: number): Float64Array {
  const n = xyz.length / 3;
  const out = new Float64Array(n);
  if (n < 2) return out.fill(1);
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      lo[c] = Math.min(lo[c]!, xyz[3 * i + c]!);
      hi[c] = Math.max(hi[c]!, xyz[3 * i + c]!);
    }
  }
  const extent = Math.max(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!, 1e-9);
  const perAxis = Math.max(1, Math.min(256, Math.round(Math.cbrt(n / 2))));
  const cell = extent / perAxis + 1e-12;
  const dims = [0, 1, 2].map((c) => Math.max(1, Math.floor((hi[c]! - lo[c]!) / cell) + 1));
  const [nx, ny, nz] = dims as [number, number, number];
  const cellOf = (i: number, c: number) => Math.min(dims[c]! - 1, Math.floor((xyz[3 * i + c]! - lo[c]!) / cell));
  const starts = new Int32Array(nx * ny * nz + 1);
  const cells = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    cells[i] = (cellOf(i, 2) * ny + cellOf(i, 1)) * nx + cellOf(i, 0);
    starts[cells[i]! + 1] = starts[cells[i]! + 1]! + 1;
  }
  for (let c = 1; c < starts.length; c++) starts[c] = starts[c]! + starts[c - 1]!;
  const members = new Int32Array(n);
  const fill = starts.slice(0, -1);
  for (let i = 0; i < n; i++) {
    members[fill[cells[i]!]!] = i;
    fill[cells[i]!] = fill[cells[i]!]! + 1;
  }
  const kk = Math.min(k, n - 1);
  const best = new Float64Array(kk);
  for (let i = 0; i < n; i++) {
    best.fill(Infinity);
    const px = xyz[3 * i]!, py = xyz[3 * i + 1]!, pz = xyz[3 * i + 2]!;
    const cx = cellOf(i, 0), cy = cellOf(i, 1), cz = cellOf(i, 2);
    for (let shell = 0; ; shell++) {
      for (let z = cz - shell; z <= cz + shell; z++) {
        if (z < 0 || z >= nz) continue;
        for (let y = cy - shell; y <= cy + shell; y++) {
          if (y < 0 || y >= ny) continue;
          for (let x = cx - shell; x <= cx + shell; x++) {
            if (x < 0 || x >= nx) continue;
            if (Math.max(Math.abs(x - cx), Math.abs(y - cy), Math.abs(z - cz)) !== shell) continue;
            const c = (z * ny + y) * nx + x;
            for (let m = starts[c]!; m < starts[c + 1]!; m++) {
              const j = members[m]!;
              if (j === i) continue;
              const d = (xyz[3 * j]! - px) ** 2 + (xyz[3 * j + 1]! - py) ** 2 + (xyz[3 * j + 2]! - pz) ** 2;
              if (d < best[kk - 1]!) {
                let at = kk - 1;
                while (at > 0 && best[at - 1]! > d) {
                  best[at] = best[at - 1]!;
                  at--;
                }
                best[at] = d;
              }
            }
          }
        }
      }
      // Every point not yet visited is at least `shell` cells away.
      const reach = shell * cell;
      if (best[kk - 1]! <= reach * reach || shell > Math.max(nx, ny, nz)) break;
    }
    let sum = 0;
    for (let m = 0; m < kk; m++) sum += best[m]!;
    out[i] = Math.sqrt(sum / kk);
  }
  return out;
}
