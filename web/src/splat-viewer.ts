import { SparkRenderer, SplatMesh } from '@sparkjsdev/spark';
import { type Box3, Color, Matrix4, PerspectiveCamera, Quaternion, Scene, Sphere, Vector3, WebGLRenderer } from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import type { CameraInfo } from './api.ts';

/** What 3DGS training composites over (black): the viewer clears to it so renders compare. */
export const SPLAT_BACKGROUND = '#000000';
const DEFAULT_FOV = 55;
const ease = (t: number) => (t < 0.5 ? 4 * t * t * t : 1 - (-2 * t + 2) ** 3 / 2);

interface Pose {
  position: Vector3;
  quaternion: Quaternion;
  fov: number;
}

/** OpenCV camera axes (y down, z forward) to three.js's (y up, looking down −z). */
const CV_TO_GL = new Matrix4().makeScale(1, -1, -1);

/** A photo's camera in the splats' world frame: camera-to-world from its [R|t] (OpenCV), in three.js axes. */
export function cameraToWorld(camera: Pick<CameraInfo, 'extrinsic'>): Matrix4 {
  const [r0, r1, r2] = camera.extrinsic as [number[], number[], number[]];
  const worldToCamera = new Matrix4().set(r0[0]!, r0[1]!, r0[2]!, r0[3]!, r1[0]!, r1[1]!, r1[2]!, r1[3]!, r2[0]!, r2[1]!, r2[2]!, r2[3]!, 0, 0, 0, 1);
  return worldToCamera.invert().multiply(CV_TO_GL);
}

/**
 * A three.js view of Gaussian splats with Spark (PLY, SPZ, SOG): orbit / pan / zoom, and flights
 * into the viewpoint of any input camera. The splats stay in their file's frame, which is the
 * frame of the run's cameras, so a camera's extrinsic places the view exactly.
 */
export class SplatViewer {
  readonly canvas: HTMLCanvasElement;
  readonly #renderer: WebGLRenderer;
  readonly #scene = new Scene();
  readonly #camera = new PerspectiveCamera(DEFAULT_FOV, 1, 0.01, 1000);
  #controls: OrbitControls;
  readonly #resize: ResizeObserver;
  readonly #host: HTMLElement;
  #mesh: SplatMesh | undefined;
  #bounds = new Sphere(new Vector3(), 1);
  #flight: { from: Pose; to: Pose; start: number; duration: number } | undefined;
  #fixedSize: { width: number; height: number } | undefined;
  #dirty = true;

  constructor(host: HTMLElement) {
    this.#host = host;
    // Anti-aliasing does nothing for splats and costs a lot (Spark's advice).
    this.#renderer = new WebGLRenderer({ antialias: false, preserveDrawingBuffer: true });
    this.#renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.#renderer.setClearColor(new Color(SPLAT_BACKGROUND));
    this.canvas = this.#renderer.domElement;
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'Gaussian splats. Drag to orbit, right-drag or shift-drag to pan, scroll to zoom.');
    host.append(this.canvas);
    // Standard 3DGS rasterization: depth-sorted, the 0.3 px² low-pass that training used, 3σ extent.
    const spark = new SparkRenderer({ renderer: this.#renderer, onDirty: () => (this.#dirty = true), preBlurAmount: 0.3, sortRadial: false, maxStdDev: 3, enableLod: false });
    this.#scene.add(spark);
    this.#scene.add(this.#camera);
    this.#controls = this.#orbit();
    this.#resize = new ResizeObserver(() => this.#fit());
    this.#resize.observe(host);
    this.#fit();
    this.#renderer.setAnimationLoop((time) => this.#frame(time));
  }

  /**
   * Orbits around the photos' mean "up" (capture frames rarely have +y up: COLMAP's points down),
   * so the scene turns the way it stands.
   */
  useCameras(cameras: CameraInfo[]) {
    if (!cameras.length) return;
    const up = new Vector3();
    for (const camera of cameras) up.add(new Vector3(0, 1, 0).applyQuaternion(this.#pose(camera).quaternion));
    if (up.lengthSq() < 1e-12) return;
    this.#camera.up.copy(up.normalize());
    const target = this.#controls.target.clone();
    this.#controls.dispose();
    this.#controls = this.#orbit();
    this.#controls.target.copy(target);
    this.#dirty = true;
  }

  /** Shows the splats of a file (its name tells the format); resolves once they are drawn. */
  async show(bytes: Uint8Array, fileName: string): Promise<{ splats: number }> {
    const mesh = new SplatMesh({ fileBytes: bytes, fileName });
    await mesh.initialized;
    if (this.#mesh) {
      this.#scene.remove(this.#mesh);
      this.#mesh.dispose();
    }
    this.#mesh = mesh;
    this.#scene.add(mesh);
    const box: Box3 = mesh.getBoundingBox(true);
    if (!box.isEmpty()) box.getBoundingSphere(this.#bounds);
    const r = Math.max(this.#bounds.radius, 1e-3);
    this.#camera.near = r / 500;
    this.#camera.far = r * 50;
    this.#controls.maxDistance = r * 20;
    this.#dirty = true;
    await this.#drawn();
    return { splats: mesh.packedSplats?.numSplats ?? mesh.extSplats?.numSplats ?? 0 };
  }

  /** Moves the view into `camera`'s viewpoint (where its photo was taken), with its field of view. */
  viewFrom(camera: CameraInfo, animate = !matchMedia('(prefers-reduced-motion: reduce)').matches) {
    const pose = this.#pose(camera);
    if (!animate) return this.#place(pose);
    this.#flight = { from: { position: this.#camera.position.clone(), quaternion: this.#camera.quaternion.clone(), fov: this.#camera.fov }, to: pose, start: performance.now(), duration: 900 };
    this.#dirty = true;
  }

  /**
   * Exactly `camera` as the photo saw it: the canvas at the photo's size and the projection from
   * its intrinsics (principal point included), so a render can be compared pixel by pixel.
   */
  async matchCamera(camera: CameraInfo, width: number, height: number): Promise<void> {
    const k = camera.intrinsic;
    if (!k) throw new Error('the camera has no intrinsics');
    this.#fixedSize = { width, height };
    this.#renderer.setPixelRatio(1);
    this.#renderer.setSize(width, height, true);
    this.#place(this.#pose(camera));
    const [fx, cx, fy, cy] = [k[0]![0]!, k[0]![2]!, k[1]![1]!, k[1]![2]!];
    const { near, far } = this.#camera;
    this.#camera.projectionMatrix.set(
      (2 * fx) / width, 0, 1 - (2 * cx) / width, 0,
      0, (2 * fy) / height, (2 * cy) / height - 1, 0,
      0, 0, -(far + near) / (far - near), (-2 * far * near) / (far - near),
      0, 0, -1, 0,
    );
    this.#camera.projectionMatrixInverse.copy(this.#camera.projectionMatrix).invert();
    this.#controls.enabled = false;
    this.#dirty = true;
    await this.#drawn();
  }

  /** A view from outside, looking at the middle of the splats from the side of `home`. */
  resetView(home?: CameraInfo) {
    const { center, radius } = this.#bounds;
    const from = home ? this.#pose(home) : undefined;
    const back = from ? from.position.clone().addScaledVector(new Vector3(0, 0, 1).applyQuaternion(from.quaternion), radius * 0.5) : center.clone().add(new Vector3(0, radius * 0.4, radius * 2));
    this.#camera.position.copy(back);
    this.#controls.target.copy(center);
    this.#camera.fov = from?.fov ?? DEFAULT_FOV;
    this.#camera.updateProjectionMatrix();
    this.#controls.update();
    this.#dirty = true;
  }

  dispose() {
    this.#renderer.setAnimationLoop(null);
    this.#resize.disconnect();
    this.#controls.dispose();
    this.#mesh?.dispose();
    this.#renderer.dispose();
    this.#renderer.forceContextLoss();
    this.canvas.remove();
  }

  #orbit(): OrbitControls {
    const controls = new OrbitControls(this.#camera, this.canvas);
    controls.enableDamping = true;
    controls.dampingFactor = 0.12;
    controls.screenSpacePanning = true;
    controls.listenToKeyEvents(this.canvas);
    controls.addEventListener('change', () => (this.#dirty = true));
    controls.addEventListener('start', () => (this.#flight = undefined));
    return controls;
  }

  #pose(camera: CameraInfo): Pose {
    const position = new Vector3();
    const quaternion = new Quaternion();
    cameraToWorld(camera).decompose(position, quaternion, new Vector3());
    const k = camera.intrinsic;
    const fy = k?.[1]?.[1];
    const cy = k?.[1]?.[2];
    const fov = fy && cy ? (2 * Math.atan(cy / fy) * 180) / Math.PI : DEFAULT_FOV;
    return { position, quaternion, fov: Math.min(Math.max(fov, 10), 120) };
  }

  #place(pose: Pose) {
    this.#flight = undefined;
    this.#camera.position.copy(pose.position);
    this.#camera.quaternion.copy(pose.quaternion);
    this.#camera.fov = pose.fov;
    this.#camera.updateProjectionMatrix();
    this.#camera.updateMatrixWorld(true);
    // Orbit around what the camera looks at, at the distance of the splats' centre.
    const forward = new Vector3(0, 0, -1).applyQuaternion(pose.quaternion);
    const depth = Math.max(this.#bounds.center.clone().sub(pose.position).dot(forward), this.#bounds.radius * 0.2);
    this.#controls.target.copy(pose.position).addScaledVector(forward, depth);
    this.#dirty = true;
  }

  /** Resolves after two frames have been rendered with the current state. */
  #drawn(): Promise<void> {
    return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
  }

  #fit() {
    if (this.#fixedSize) return;
    const width = Math.max(this.#host.clientWidth, 1);
    const height = Math.max(this.#host.clientHeight, 1);
    this.#renderer.setSize(width, height, true);
    this.#camera.aspect = width / height;
    this.#camera.updateProjectionMatrix();
    this.#dirty = true;
  }

  #frame(time: number) {
    const flight = this.#flight;
    if (flight) {
      const t = Math.min(1, (time - flight.start) / flight.duration);
      const k = ease(Math.max(0, t));
      this.#camera.position.lerpVectors(flight.from.position, flight.to.position, k);
      this.#camera.quaternion.slerpQuaternions(flight.from.quaternion, flight.to.quaternion, k);
      this.#camera.fov = flight.from.fov + (flight.to.fov - flight.from.fov) * k;
      this.#camera.updateProjectionMatrix();
      if (t >= 1) this.#place(flight.to);
      this.#dirty = true;
    } else if (this.#controls.enabled && this.#controls.update()) this.#dirty = true;
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#renderer.render(this.#scene, this.#camera);
  }
}
