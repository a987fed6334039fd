import {
  Box3,
  BufferGeometry,
  Color,
  Float32BufferAttribute,
  LineBasicMaterial,
  LineSegments,
  MeshBasicMaterial,
  type Material,
  Matrix4,
  Mesh,
  PerspectiveCamera,
  Points,
  PointsMaterial,
  Quaternion,
  Scene,
  Sphere,
  Vector3,
  WebGLRenderer,
} from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import type { CameraInfo } from './api.ts';

/** The viewer's clear colour; the browser test counts pixels that differ from it. */
export const VIEWER_BACKGROUND = '#10171f';
const HIGHLIGHT = '#f2b84b';
const DEFAULT_FOV = 50;

const ease = (t: number) => (t < 0.5 ? 4 * t * t * t : 1 - (-2 * t + 2) ** 3 / 2);

interface Flight {
  from: { position: Vector3; target: Vector3; fov: number };
  to: { position: Vector3; target: Vector3; fov: number };
  start: number;
  duration: number;
}

/**
 * A three.js view of a run's scene.glb: the point cloud (with its camera frustums), orbit / pan /
 * zoom, a point size control, and flights into the view of any camera from `/cameras`.
 */
export class SceneViewer {
  readonly canvas: HTMLCanvasElement;
  readonly #renderer: WebGLRenderer;
  readonly #scene = new Scene();
  readonly #camera = new PerspectiveCamera(DEFAULT_FOV, 1, 0.01, 1000);
  readonly #controls: OrbitControls;
  readonly #resize: ResizeObserver;
  #highlight: LineSegments | undefined;
  #points: Points[] = [];
  #pointSize = 2;
  #bounds = new Sphere(new Vector3(), 1);
  #home: { position: Vector3; target: Vector3 } | undefined;
  #flight: Flight | undefined;
  #dirty = true;

  constructor(host: HTMLElement) {
    this.#renderer = new WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.#renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.#renderer.setClearColor(new Color(VIEWER_BACKGROUND));
    this.canvas = this.#renderer.domElement;
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute(
      'aria-label',
      '3D scene. Drag to orbit, right-drag or shift-drag to pan, scroll to zoom. With the scene focused: arrow keys pan, plus and minus zoom, 0 resets the view.',
    );
    host.append(this.canvas);
    this.#scene.add(this.#camera);
    this.#controls = new OrbitControls(this.#camera, this.canvas);
    this.#controls.enableDamping = true;
    this.#controls.dampingFactor = 0.12;
    this.#controls.screenSpacePanning = true;
    this.#controls.listenToKeyEvents(this.canvas);
    this.#controls.addEventListener('change', () => (this.#dirty = true));
    // The chosen camera's outline hides while the view sits at its apex; moving away shows it.
    this.#controls.addEventListener('start', () => {
      if (this.#highlight) this.#highlight.visible = true;
    });
    this.canvas.addEventListener('keydown', (event) => this.#key(event));
    this.#resize = new ResizeObserver(() => this.#fit(host));
    this.#resize.observe(host);
    this.#fit(host);
    this.#renderer.setAnimationLoop((time) => this.#frame(time));
  }

  /** Loads the GLB; resolves with the number of points once the first frame is drawn. */
  async load(url: string, headers: Record<string, string> = {}): Promise<{ points: number }> {
    const gltf = await new GLTFLoader().setRequestHeader(headers).loadAsync(url);
    this.#scene.add(gltf.scene);
    let count = 0;
    gltf.scene.traverse((object) => {
      if (object instanceof Points) {
        this.#points.push(object);
        count += object.geometry.getAttribute('position')?.count ?? 0;
      } else if (object instanceof Mesh) {
        // The camera pyramids: the scene has no lights, and drawn as edges they frame the view
        // from inside a camera instead of tinting it.
        for (const material of [object.material].flat() as Material[]) material.dispose();
        object.material = new MeshBasicMaterial({ vertexColors: object.geometry.hasAttribute('color'), wireframe: true });
      }
    });
    this.setPointSize(this.#pointSize);
    const box = new Box3();
    // The points decide the framing; frustums far out should not shrink the cloud to a dot.
    for (const points of this.#points) box.expandByObject(points);
    if (box.isEmpty()) box.setFromObject(gltf.scene);
    if (!box.isEmpty()) box.getBoundingSphere(this.#bounds);
    const r = Math.max(this.#bounds.radius, 1e-3);
    this.#camera.near = r / 1000;
    this.#camera.far = r * 100;
    this.#controls.maxDistance = r * 20;
    this.resetView();
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    return { points: count };
  }

  /** Frames the scene from the first camera's side, a little back and above. */
  resetView(home?: CameraInfo) {
    const { center, radius } = this.#bounds;
    if (home) {
      const { position, forward } = this.#pose(home);
      const back = position.clone().addScaledVector(forward, -radius * 0.6);
      back.y += radius * 0.25;
      this.#home = { position: back, target: center.clone() };
    } else if (!this.#home) {
      this.#home = { position: center.clone().add(new Vector3(0, radius * 0.5, radius * 2.2)), target: center.clone() };
    }
    this.#fly(this.#home.position, this.#home.target, DEFAULT_FOV, false);
  }

  setPointSize(pixels: number) {
    this.#pointSize = pixels;
    for (const points of this.#points) {
      for (const material of [points.material].flat()) {
        if (material instanceof PointsMaterial) {
          material.size = pixels * this.#renderer.getPixelRatio();
          material.sizeAttenuation = false;
          material.needsUpdate = true;
        }
      }
    }
    this.#dirty = true;
  }

  /** Moves the view into `camera`'s pose (its photo's viewpoint) and outlines its frustum. */
  flyTo(camera: CameraInfo, animate = !matchMedia('(prefers-reduced-motion: reduce)').matches) {
    const { position, forward, matrix } = this.#pose(camera);
    const toCenter = this.#bounds.center.clone().sub(position).dot(forward);
    const target = position.clone().addScaledVector(forward, Math.max(toCenter, this.#bounds.radius * 0.2));
    const k = camera.intrinsic;
    const fy = k?.[1]?.[1];
    const cy = k?.[1]?.[2];
    const fov = fy && cy ? (2 * Math.atan(cy / fy) * 180) / Math.PI : DEFAULT_FOV;
    this.#outline(camera, matrix);
    this.#fly(position, target, Math.min(Math.max(fov, 10), 120), animate);
  }

  dispose() {
    this.#renderer.setAnimationLoop(null);
    this.#resize.disconnect();
    this.#controls.dispose();
    this.#scene.traverse((object) => {
      if (object instanceof Mesh || object instanceof Points || object instanceof LineSegments) {
        object.geometry.dispose();
        for (const material of [object.material].flat() as Material[]) material.dispose();
      }
    });
    this.#renderer.dispose();
    this.#renderer.forceContextLoss();
    this.canvas.remove();
  }

  #pose(camera: CameraInfo) {
    const matrix = new Matrix4().fromArray(camera.threeMatrix);
    const position = new Vector3();
    const quaternion = new Quaternion();
    matrix.decompose(position, quaternion, new Vector3());
    const forward = new Vector3(0, 0, -1).applyQuaternion(quaternion).normalize();
    return { position, forward, matrix };
  }

  #outline(camera: CameraInfo, matrix: Matrix4) {
    if (this.#highlight) {
      this.#scene.remove(this.#highlight);
      this.#highlight.geometry.dispose();
      (this.#highlight.material as Material).dispose();
    }
    const k = camera.intrinsic;
    const fx = k?.[0]?.[0] || 1;
    const fy = k?.[1]?.[1] || 1;
    const halfW = k?.[0]?.[2] ? k[0][2] / fx : 0.5;
    const halfH = k?.[1]?.[2] ? k[1][2] / fy : 0.375;
    const depth = this.#bounds.radius * 0.12;
    const [x, y, z] = [halfW * depth, halfH * depth, -depth];
    const corners = [
      [-x, -y, z],
      [x, -y, z],
      [x, y, z],
      [-x, y, z],
    ];
    const vertices: number[] = [];
    for (let i = 0; i < 4; i++) {
      vertices.push(0, 0, 0, ...corners[i]!);
      vertices.push(...corners[i]!, ...corners[(i + 1) % 4]!);
    }
    const geometry = new BufferGeometry();
    geometry.setAttribute('position', new Float32BufferAttribute(vertices, 3));
    this.#highlight = new LineSegments(geometry, new LineBasicMaterial({ color: HIGHLIGHT }));
    this.#highlight.matrixAutoUpdate = false;
    this.#highlight.matrix.copy(matrix);
    this.#highlight.visible = false;
    this.#scene.add(this.#highlight);
  }

  #fly(position: Vector3, target: Vector3, fov: number, animate: boolean) {
    if (!animate) {
      this.#flight = undefined;
      this.#camera.position.copy(position);
      this.#controls.target.copy(target);
      this.#camera.fov = fov;
      this.#camera.updateProjectionMatrix();
      this.#controls.update();
      this.#dirty = true;
      return;
    }
    this.#flight = {
      from: { position: this.#camera.position.clone(), target: this.#controls.target.clone(), fov: this.#camera.fov },
      to: { position: position.clone(), target: target.clone(), fov },
      start: performance.now(),
      duration: 900,
    };
  }

  #key(event: KeyboardEvent) {
    const zoom = (factor: number) => {
      const offset = this.#camera.position.clone().sub(this.#controls.target).multiplyScalar(factor);
      this.#camera.position.copy(this.#controls.target).add(offset);
      this.#dirty = true;
    };
    if (event.key === '+' || event.key === '=') zoom(0.8);
    else if (event.key === '-' || event.key === '_') zoom(1.25);
    else if (event.key === '0') this.resetView();
    else return;
    event.preventDefault();
  }

  #fit(host: HTMLElement) {
    const width = Math.max(host.clientWidth, 1);
    const height = Math.max(host.clientHeight, 1);
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
      this.#controls.target.lerpVectors(flight.from.target, flight.to.target, k);
      this.#camera.fov = flight.from.fov + (flight.to.fov - flight.from.fov) * k;
      this.#camera.updateProjectionMatrix();
      if (t >= 1) this.#flight = undefined;
      this.#dirty = true;
    }
    if (this.#controls.update()) this.#dirty = true;
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#renderer.render(this.#scene, this.#camera);
  }
}
