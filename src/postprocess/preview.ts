import type { Accessor } from '@gltf-transform/core';

/** Pinhole intrinsics of the first camera, in any pixel scale (only ratios are used). */
export interface PreviewIntrinsics {
  fx: number;
  fy: number;
  cx: number;
  cy: number;
}

export interface PreviewOptions {
  width: number;
  /** Without them the field of view is fitted to the points. */
  intrinsics?: PreviewIntrinsics | undefined;
  background?: [number, number, number];
  quality?: number;
}

export interface Preview {
  jpeg: Buffer;
  width: number;
  height: number;
  /** Points in front of the camera and inside the image. */
  drawn: number;
}

interface Cloud {
  /** Camera-frame (OpenCV: x right, y down, z forward) coordinates, 3 per point. */
  xyz: Float32Array;
  rgb: Uint8Array;
  count: number;
}

/**
 * Renders the point cloud of a scene GLB from the first camera's viewpoint: a z-buffered splat
 * per point, written as JPEG. Scene GLBs are in the first camera's frame turned by
 * diag(1,−1,−1)·rotY(180°) = diag(−1,−1,1) (see `sceneAlignment`), so undoing that sign flip
 * gives OpenCV camera coordinates directly.
 */
export async function renderPreview(glb: Uint8Array, options: PreviewOptions): Promise<Preview> {
  const cloud = await readPoints(glb);
  const { width } = options;
  const k = options.intrinsics ?? fitIntrinsics(cloud);
  const height = Math.max(1, Math.round((width * k.cy) / k.cx));
  const scale = width / (2 * k.cx);
  const fx = k.fx * scale;
  const fy = k.fy * scale;
  const cx = width / 2;
  const cy = height / 2;

  const pixels = Buffer.alloc(width * height * 3);
  const [br, bg, bb] = options.background ?? [24, 24, 28];
  for (let p = 0; p < width * height; p++) {
    pixels[p * 3] = br;
    pixels[p * 3 + 1] = bg;
    pixels[p * 3 + 2] = bb;
  }
  const depth = new Float32Array(width * height).fill(Number.POSITIVE_INFINITY);

  const u = new Float32Array(cloud.count);
  const v = new Float32Array(cloud.count);
  const visible: number[] = [];
  for (let i = 0; i < cloud.count; i++) {
    const z = cloud.xyz[i * 3 + 2]!;
    if (!(z > 1e-6)) continue;
    u[i] = (fx * cloud.xyz[i * 3]!) / z + cx;
    v[i] = (fy * cloud.xyz[i * 3 + 1]!) / z + cy;
    if (u[i]! >= 0 && u[i]! < width && v[i]! >= 0 && v[i]! < height) visible.push(i);
  }
  // Splats sized so the points roughly cover the image without smearing dense clouds.
  const radius = Math.min(6, Math.max(0, Math.round(Math.sqrt((width * height) / Math.max(1, visible.length)) / 3)));
  const r2 = radius * radius + radius;
  for (const i of visible) {
    const z = cloud.xyz[i * 3 + 2]!;
    const pu = Math.floor(u[i]!);
    const pv = Math.floor(v[i]!);
    for (let dy = -radius; dy <= radius; dy++) {
      const y = pv + dy;
      if (y < 0 || y >= height) continue;
      for (let dx = -radius; dx <= radius; dx++) {
        const x = pu + dx;
        if (x < 0 || x >= width || dx * dx + dy * dy > r2) continue;
        const at = y * width + x;
        if (z >= depth[at]!) continue;
        depth[at] = z;
        pixels[at * 3] = cloud.rgb[i * 3]!;
        pixels[at * 3 + 1] = cloud.rgb[i * 3 + 1]!;
        pixels[at * 3 + 2] = cloud.rgb[i * 3 + 2]!;
      }
    }
  }
  // sharp and gltf-transform load on first use, not at the server's start-up.
  const { default: sharp } = await import('sharp');
  const jpeg = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: options.quality ?? 85 })
    .toBuffer();
  return { jpeg, width, height, drawn: visible.length };
}

/** Every POINTS primitive's vertices, in world space and then in the first camera's frame. */
async function readPoints(glb: Uint8Array): Promise<Cloud> {
  const { NodeIO, Primitive } = await import('@gltf-transform/core');
  const root = (await new NodeIO().readBinary(glb)).getRoot();
  const parts: { xyz: Float32Array; rgb: Uint8Array }[] = [];
  for (const scene of root.listScenes()) {
    scene.traverse((node) => {
      const mesh = node.getMesh();
      if (!mesh) return;
      const m = node.getWorldMatrix();
      for (const primitive of mesh.listPrimitives()) {
        if (primitive.getMode() !== Primitive.Mode.POINTS) continue;
        const position = primitive.getAttribute('POSITION');
        if (!position) continue;
        const n = position.getCount();
        const xyz = new Float32Array(n * 3);
        const p = [0, 0, 0];
        for (let i = 0; i < n; i++) {
          position.getElement(i, p);
          const [x, y, z] = p as [number, number, number];
          // World (column-major) then diag(−1,−1,1) back into OpenCV camera axes.
          xyz[i * 3] = -(m[0] * x + m[4] * y + m[8] * z + m[12]);
          xyz[i * 3 + 1] = -(m[1] * x + m[5] * y + m[9] * z + m[13]);
          xyz[i * 3 + 2] = m[2] * x + m[6] * y + m[10] * z + m[14];
        }
        parts.push({ xyz, rgb: colorsOf(primitive.getAttribute('COLOR_0'), n) });
      }
    });
  }
  const count = parts.reduce((sum, part) => sum + part.xyz.length / 3, 0);
  const xyz = new Float32Array(count * 3);
  const rgb = new Uint8Array(count * 3);
  let offset = 0;
  for (const part of parts) {
    xyz.set(part.xyz, offset * 3);
    rgb.set(part.rgb, offset * 3);
    offset += part.xyz.length / 3;
  }
  return { xyz, rgb, count };
}

/** RGB bytes from COLOR_0 (float, or normalized unsigned bytes/shorts), light grey without it. */
function colorsOf(color: Accessor | null, n: number): Uint8Array {
  const rgb = new Uint8Array(n * 3).fill(200);
  const array = color?.getArray();
  if (!color || !array) return rgb;
  const size = color.getElementSize();
  const max = array instanceof Uint8Array ? 255 : array instanceof Uint16Array ? 65535 : 1;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.max(0, Math.min(255, Math.round((array[i * size + c]! / max) * 255)));
  }
  return rgb;
}

/** A 4:3 view whose horizontal field of view holds 95 % of the points in front of the camera. */
function fitIntrinsics(cloud: Cloud): PreviewIntrinsics {
  const slopes: number[] = [];
  for (let i = 0; i < cloud.count; i++) {
    const z = cloud.xyz[i * 3 + 2]!;
    if (z > 1e-6) slopes.push(Math.max(Math.abs(cloud.xyz[i * 3]! / z), (Math.abs(cloud.xyz[i * 3 + 1]! / z) * 4) / 3));
  }
  slopes.sort((a, b) => a - b);
  const spread = slopes.length ? Math.max(1e-3, slopes[Math.floor(slopes.length * 0.95)]!) : 1;
  const cx = 400;
  return { fx: cx / spread, fy: cx / spread, cx, cy: 300 };
}
