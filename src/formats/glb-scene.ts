import { Document, NodeIO, Primitive } from "@gltf-transform/core";
import type { Buffer as GltfBuffer } from "@gltf-transform/core";
import { diagonal4, from3x4, identity4, invertRigid4, multiply4, percentile, percentiles, rotation4, transformPoint4, translation4 } from "./geometry.ts";
import type { Mat4 } from "./geometry.ts";

export interface PointCloud {
  /** N×3 world coordinates. */
  positions: Float32Array;
  /** N×3 RGB, 0–255. */
  colors: Uint8Array;
  /** N confidences; higher is better. */
  confidence?: Float32Array;
  /** N source-frame indices. */
  frameIndex?: Uint32Array;
}

export interface SceneCamera {
  /** 12 numbers: row-major 3×4 OpenCV camera-from-world [R|t]. */
  extrinsic: ArrayLike<number>;
}

export interface SceneOptions {
  /** Percentile (0–100) of confidence below which points are dropped. */
  confThreshold: number;
  maskBlackBg: boolean;
  maskWhiteBg: boolean;
  showCameras: boolean;
  /** Keep only the points (and the camera) of this frame. */
  frameFilter?: number;
}

// Conventions below follow VGGT's visual_util.predictions_to_glb so scenes look the same as in its demo.
const OPENCV_TO_OPENGL = diagonal4(1, -1, -1, 1);
const MIN_CONFIDENCE = 1e-5;
const BLACK_RGB_SUM = 16;
const WHITE_CHANNEL = 240;

/**
 * The transform baked into every scene: into the first camera's frame, then VGGT's
 * diag(1,−1,−1,1)·rotY(180°). Upstream writes inv(E0)·diag·rotY, the same thing for VGGT, whose
 * first camera is the identity; for engines whose first camera is not (COLMAP), bringing the
 * world into that camera's frame is what keeps the scene where the viewer expects it.
 */
export function sceneAlignment(firstExtrinsic?: Mat4): Mat4 {
  return multiply4(multiply4(OPENCV_TO_OPENGL, rotation4("y", 180)), firstExtrinsic ?? identity4());
}

export async function buildSceneGlb(
  points: PointCloud,
  cameras: SceneCamera[],
  options: SceneOptions,
): Promise<{ glb: Uint8Array; pointCount: number }> {
  checkPointCloud(points);
  const kept = selectPoints(points, options);
  const shownCameras = options.frameFilter === undefined ? cameras : cameras.slice(options.frameFilter, options.frameFilter + 1);
  const extrinsics = shownCameras.map((camera) => from3x4(camera.extrinsic));
  const alignment = sceneAlignment(extrinsics[0]);

  const doc = new Document();
  doc.getRoot().getAsset().generator = "recon";
  const scene = doc.createScene("scene");
  doc.getRoot().setDefaultScene(scene);

  if (kept.length > 0) scene.addChild(doc.createNode("points").setMesh(pointsMesh(doc, points, kept, alignment)));
  if (options.showCameras && extrinsics.length > 0) {
    const scale = kept.length > 0 ? sceneScale(points.positions, kept) : 1;
    scene.addChild(doc.createNode("cameras").setMesh(camerasMesh(doc, extrinsics, scale, alignment)));
  }
  // A scene must list at least one node to be valid glTF.
  if (scene.listChildren().length === 0) scene.addChild(doc.createNode("points"));
  const glb = await new NodeIO().writeBinary(doc);
  return { glb, pointCount: kept.length };
}

/**
 * Converts VGGT-layout predictions to a point cloud: worldPoints (S,H,W,3), conf (S,H,W),
 * images (S,3,H,W) channels-first floats in [0,1].
 */
export function pointCloudFromPredictions(p: {
  worldPoints: Float32Array;
  conf?: Float32Array;
  images?: Float32Array;
  frames: number;
  height: number;
  width: number;
}): PointCloud {
  const pixels = p.height * p.width;
  const count = p.frames * pixels;
  expectLength("worldPoints", p.worldPoints, count * 3);
  if (p.conf) expectLength("conf", p.conf, count);
  if (p.images) expectLength("images", p.images, count * 3);

  const colors = new Uint8Array(count * 3);
  const frameIndex = new Uint32Array(count);
  const images = p.images;
  for (let frame = 0; frame < p.frames; frame++) {
    frameIndex.fill(frame, frame * pixels, (frame + 1) * pixels);
    for (let channel = 0; channel < 3; channel++) {
      const plane = (frame * 3 + channel) * pixels;
      for (let pixel = 0; pixel < pixels; pixel++) {
        // Truncation matches VGGT's (images * 255).astype(uint8); without images, mid-grey so the black/white background masks keep the points.
        colors[(frame * pixels + pixel) * 3 + channel] = images ? Math.min(255, Math.max(0, Math.trunc(images[plane + pixel]! * 255))) : 128;
      }
    }
  }
  const cloud: PointCloud = { positions: p.worldPoints, colors, frameIndex };
  if (p.conf) cloud.confidence = p.conf;
  return cloud;
}

function checkPointCloud(points: PointCloud): void {
  if (points.positions.length % 3 !== 0) throw new Error(`positions length ${points.positions.length} is not a multiple of 3`);
  const count = points.positions.length / 3;
  expectLength("colors", points.colors, count * 3);
  if (points.confidence) expectLength("confidence", points.confidence, count);
  if (points.frameIndex) expectLength("frameIndex", points.frameIndex, count);
}

function expectLength(name: string, array: ArrayLike<number>, expected: number): void {
  if (array.length !== expected) throw new Error(`${name} has ${array.length} values, expected ${expected}`);
}

/** Indices of the points that survive the frame, confidence and background filters. */
function selectPoints(points: PointCloud, options: SceneOptions): Uint32Array {
  const { positions, colors, confidence, frameIndex } = points;
  const { frameFilter } = options;
  const count = positions.length / 3;
  if (frameFilter !== undefined && !frameIndex) throw new Error("frameFilter needs per-point frameIndex");

  let threshold = Number.NEGATIVE_INFINITY;
  if (confidence && options.confThreshold > 0) {
    let candidates = confidence;
    if (frameFilter !== undefined) {
      candidates = new Float32Array(count);
      let n = 0;
      for (let i = 0; i < count; i++) if (frameIndex![i] === frameFilter) candidates[n++] = confidence[i]!;
      candidates = candidates.subarray(0, n);
    }
    if (candidates.length > 0) threshold = percentile(candidates, options.confThreshold);
  }

  const kept = new Uint32Array(count);
  let n = 0;
  for (let i = 0; i < count; i++) {
    if (frameFilter !== undefined && frameIndex![i] !== frameFilter) continue;
    if (confidence && !(confidence[i]! >= threshold && confidence[i]! > MIN_CONFIDENCE)) continue;
    const r = colors[i * 3]!;
    const g = colors[i * 3 + 1]!;
    const b = colors[i * 3 + 2]!;
    if (options.maskBlackBg && r + g + b < BLACK_RGB_SUM) continue;
    if (options.maskWhiteBg && r > WHITE_CHANNEL && g > WHITE_CHANNEL && b > WHITE_CHANNEL) continue;
    // glTF accessors cannot hold NaN or infinities (their min/max would be invalid).
    if (!(Number.isFinite(positions[i * 3]!) && Number.isFinite(positions[i * 3 + 1]!) && Number.isFinite(positions[i * 3 + 2]!))) continue;
    kept[n++] = i;
  }
  return kept.slice(0, n);
}

/** Diagonal of the 5th–95th percentile box of the kept points; sizes the camera frustums. */
function sceneScale(positions: Float32Array, kept: Uint32Array): number {
  let squared = 0;
  const axis = new Float32Array(kept.length);
  for (let a = 0; a < 3; a++) {
    for (let k = 0; k < kept.length; k++) axis[k] = positions[kept[k]! * 3 + a]!;
    const [low, high] = percentiles(axis, [5, 95]) as [number, number];
    squared += (high - low) ** 2;
  }
  return Math.sqrt(squared);
}

function pointsMesh(doc: Document, points: PointCloud, kept: Uint32Array, alignment: Mat4) {
  const positions = new Float32Array(kept.length * 3);
  const colors = new Uint8Array(kept.length * 4);
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11] = alignment as [number, number, number, number, number, number, number, number, number, number, number, number];
  const source = points.positions;
  for (let k = 0; k < kept.length; k++) {
    const i = kept[k]!;
    const x = source[i * 3]!;
    const y = source[i * 3 + 1]!;
    const z = source[i * 3 + 2]!;
    positions[k * 3] = m0 * x + m1 * y + m2 * z + m3;
    positions[k * 3 + 1] = m4 * x + m5 * y + m6 * z + m7;
    positions[k * 3 + 2] = m8 * x + m9 * y + m10 * z + m11;
    // RGBA rather than RGB: glTF vertex attributes must be 4-byte aligned.
    colors[k * 4] = points.colors[i * 3]!;
    colors[k * 4 + 1] = points.colors[i * 3 + 1]!;
    colors[k * 4 + 2] = points.colors[i * 3 + 2]!;
    colors[k * 4 + 3] = 255;
  }
  const buffer = sharedBuffer(doc);
  const primitive = doc
    .createPrimitive()
    .setMode(Primitive.Mode.POINTS!)
    .setAttribute("POSITION", doc.createAccessor("point_positions").setType("VEC3").setArray(positions).setBuffer(buffer))
    .setAttribute("COLOR_0", doc.createAccessor("point_colors").setType("VEC4").setArray(colors).setNormalized(true).setBuffer(buffer));
  return doc.createMesh("points").addPrimitive(primitive);
}

/**
 * One pyramid per camera, apex at the camera centre and base in front of it, like VGGT's
 * trimesh cone(sections=4) placed by c2w · diag(1,−1,−1,1) · rotZ(45°) · translate(0,0,−height).
 */
function camerasMesh(doc: Document, extrinsics: Mat4[], scale: number, alignment: Mat4) {
  const width = scale * 0.05;
  const height = scale * 0.1;
  const cone = [
    [0, 0, height],
    [width, 0, 0],
    [0, width, 0],
    [-width, 0, 0],
    [0, -width, 0],
  ] as const;
  const local = multiply4(multiply4(OPENCV_TO_OPENGL, rotation4("z", 45)), translation4(0, 0, -height));

  const vertexCount = extrinsics.length * cone.length;
  const positions = new Float32Array(vertexCount * 3);
  const colors = new Uint8Array(vertexCount * 4);
  const indices = vertexCount > 65535 ? new Uint32Array(extrinsics.length * 12) : new Uint16Array(extrinsics.length * 12);
  extrinsics.forEach((extrinsic, c) => {
    const placement = multiply4(multiply4(alignment, invertRigid4(extrinsic)), local);
    const color = rainbow(c / extrinsics.length);
    const base = c * cone.length;
    cone.forEach(([x, y, z], v) => {
      positions.set(transformPoint4(placement, x, y, z), (base + v) * 3);
      colors.set(color, (base + v) * 4);
    });
    // Four side faces; the base stays open, as upstream drops the cone's cap.
    for (let side = 0; side < 4; side++) {
      indices.set([base, base + 1 + side, base + 1 + ((side + 1) % 4)], c * 12 + side * 3);
    }
  });

  const material = doc.createMaterial("camera").setDoubleSided(true).setMetallicFactor(0).setRoughnessFactor(1);
  const buffer = sharedBuffer(doc);
  const primitive = doc
    .createPrimitive()
    .setMode(Primitive.Mode.TRIANGLES!)
    .setMaterial(material)
    .setIndices(doc.createAccessor("camera_indices").setType("SCALAR").setArray(indices).setBuffer(buffer))
    .setAttribute("POSITION", doc.createAccessor("camera_positions").setType("VEC3").setArray(positions).setBuffer(buffer))
    .setAttribute("COLOR_0", doc.createAccessor("camera_colors").setType("VEC4").setArray(colors).setNormalized(true).setBuffer(buffer));
  return doc.createMesh("cameras").addPrimitive(primitive);
}

/** Created on first use: a GLB buffer without data is invalid. */
function sharedBuffer(doc: Document): GltfBuffer {
  return doc.getRoot().listBuffers()[0] ?? doc.createBuffer();
}

/** Fully saturated colour at hue `fraction` of the colour wheel, as opaque RGBA bytes. */
function rainbow(fraction: number): [number, number, number, number] {
  const channel = (offset: number): number => {
    const k = (offset + fraction * 6) % 6;
    return Math.round(255 * (1 - Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [channel(5), channel(3), channel(1), 255];
}
