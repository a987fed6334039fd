import type { PointCloud } from '../../formats/glb-scene.ts';

/** `count` cameras on a circle of radius 3 around the origin, looking at it (OpenCV, 3×4 row-major). */
export function ringOfCameras(count: number): number[][] {
  return Array.from({ length: count }, (_, i) => {
    const angle = (2 * Math.PI * i) / Math.max(1, count);
    const center = [3 * Math.sin(angle), 0, -3 * Math.cos(angle)];
    const forward = center.map((c) => -c / 3);
    const right = [Math.cos(angle), 0, Math.sin(angle)];
    const down = [0, 1, 0];
    const rows = [right, down, forward];
    const t = rows.map((r) => -(r[0]! * center[0]! + r[1]! * center[1]! + r[2]! * center[2]!));
    return rows.flatMap((r, k) => [r[0]!, r[1]!, r[2]!, t[k]!]);
  });
}

/** A 10×10×10 lattice of points coloured by position: something visible and checkable. */
export function texturedCube(): PointCloud {
  const n = 10;
  const positions = new Float32Array(n * n * n * 3);
  const colors = new Uint8Array(n * n * n * 3);
  let k = 0;
  for (let x = 0; x < n; x++)
    for (let y = 0; y < n; y++)
      for (let z = 0; z < n; z++, k++) {
        positions.set([x / (n - 1) - 0.5, y / (n - 1) - 0.5, z / (n - 1) - 0.5], k * 3);
        colors.set([Math.round((255 * x) / (n - 1)), Math.round((255 * y) / (n - 1)), Math.round((255 * z) / (n - 1))], k * 3);
      }
  return { positions, colors };
}
