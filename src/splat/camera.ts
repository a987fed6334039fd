/** A pinhole camera: OpenCV/COLMAP conventions (x right, y down, z forward; pixel centres at +0.5). */
export interface Camera {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  /** Row-major 3×3 world→camera rotation. */
  rotation: number[];
  /** World→camera translation: x_cam = R·x_world + t. */
  translation: [number, number, number];
}

/** Camera centre in world coordinates: −Rᵀt. */
export function cameraCenter(camera: Camera): [number, number, number] {
  const r = camera.rotation;
  const [tx, ty, tz] = camera.translation;
  return [-(r[0]! * tx + r[3]! * ty + r[6]! * tz), -(r[1]! * tx + r[4]! * ty + r[7]! * tz), -(r[2]! * tx + r[5]! * ty + r[8]! * tz)];
}

/** The same camera for its image resized to `width` × round(aspect-kept height); each axis scales exactly. */
export function resizeCamera(camera: Camera, width: number): Camera {
  const height = Math.max(1, Math.round((camera.height * width) / camera.width));
  const sx = width / camera.width;
  const sy = height / camera.height;
  return { ...camera, width, height, fx: camera.fx * sx, fy: camera.fy * sy, cx: camera.cx * sx, cy: camera.cy * sy };
}
