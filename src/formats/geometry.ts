/** Row-major 3×3 matrix, 9 numbers. */
export type Mat3 = number[];
/** Row-major 4×4 matrix, 16 numbers. */
export type Mat4 = number[];
export type Vec3 = [number, number, number];
/** Quaternion as COLMAP stores it: w, x, y, z. */
export type Quaternion = [number, number, number, number];

export function identity4(): Mat4 {
  return [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
}

export function diagonal4(a: number, b: number, c: number, d: number): Mat4 {
  return [a, 0, 0, 0, 0, b, 0, 0, 0, 0, c, 0, 0, 0, 0, d];
}

export function translation4(x: number, y: number, z: number): Mat4 {
  return [1, 0, 0, x, 0, 1, 0, y, 0, 0, 1, z, 0, 0, 0, 1];
}

/** Right-handed rotation about a coordinate axis. */
export function rotation4(axis: "x" | "y" | "z", degrees: number): Mat4 {
  const [c, s] = cosSin(degrees);
  switch (axis) {
    case "x":
      return [1, 0, 0, 0, 0, c, -s, 0, 0, s, c, 0, 0, 0, 0, 1];
    case "y":
      return [c, 0, s, 0, 0, 1, 0, 0, -s, 0, c, 0, 0, 0, 0, 1];
    case "z":
      return [c, -s, 0, 0, s, c, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  }
}

/** Exact at multiples of 90°, so axis flips such as rotY(180°) leave no 1e-16 cross terms. */
function cosSin(degrees: number): [number, number] {
  if (degrees % 90 === 0) {
    const quarter = (((degrees / 90) % 4) + 4) % 4;
    return ([[1, 0], [0, 1], [-1, 0], [0, -1]] as const)[quarter]!.slice() as [number, number];
  }
  const radians = (degrees * Math.PI) / 180;
  return [Math.cos(radians), Math.sin(radians)];
}

/** Extends a row-major 3×4 [R|t] to its 4×4 homogeneous form. */
export function from3x4(m: ArrayLike<number>): Mat4 {
  if (m.length !== 12) throw new Error(`expected a 3×4 matrix (12 numbers), got ${m.length}`);
  return [m[0]!, m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, m[6]!, m[7]!, m[8]!, m[9]!, m[10]!, m[11]!, 0, 0, 0, 1];
}

export function multiply4(a: Mat4, b: Mat4): Mat4 {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let sum = 0;
      for (let k = 0; k < 4; k++) sum += a[r * 4 + k]! * b[k * 4 + c]!;
      out[r * 4 + c] = sum;
    }
  }
  return out;
}

/** Inverse of a rigid transform [R|t]: [Rᵀ | −Rᵀt]. */
export function invertRigid4(m: Mat4): Mat4 {
  const r = [m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!];
  const rt = transpose3(r);
  const t = multiply3Vec(rt, [m[3]!, m[7]!, m[11]!]);
  return [rt[0]!, rt[1]!, rt[2]!, -t[0], rt[3]!, rt[4]!, rt[5]!, -t[1], rt[6]!, rt[7]!, rt[8]!, -t[2], 0, 0, 0, 1];
}

/** Applies a 4×4 affine transform to a point (the last row is assumed to be 0 0 0 1). */
export function transformPoint4(m: Mat4, x: number, y: number, z: number): Vec3 {
  return [
    m[0]! * x + m[1]! * y + m[2]! * z + m[3]!,
    m[4]! * x + m[5]! * y + m[6]! * z + m[7]!,
    m[8]! * x + m[9]! * y + m[10]! * z + m[11]!,
  ];
}

export function transpose3(m: Mat3): Mat3 {
  return [m[0]!, m[3]!, m[6]!, m[1]!, m[4]!, m[7]!, m[2]!, m[5]!, m[8]!];
}

export function multiply3Vec(m: Mat3, v: readonly number[]): Vec3 {
  return [
    m[0]! * v[0]! + m[1]! * v[1]! + m[2]! * v[2]!,
    m[3]! * v[0]! + m[4]! * v[1]! + m[5]! * v[2]!,
    m[6]! * v[0]! + m[7]! * v[1]! + m[8]! * v[2]!,
  ];
}

/** Rotation matrix of a (not necessarily unit) quaternion, with COLMAP's w, x, y, z order. */
export function quaternionToRotation(q: readonly number[]): Mat3 {
  const norm = Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!);
  if (!(norm > 0)) throw new Error("cannot make a rotation from a zero quaternion");
  const w = q[0]! / norm;
  const x = q[1]! / norm;
  const y = q[2]! / norm;
  const z = q[3]! / norm;
  return [
    1 - 2 * (y * y + z * z),
    2 * (x * y - w * z),
    2 * (x * z + w * y),
    2 * (x * y + w * z),
    1 - 2 * (x * x + z * z),
    2 * (y * z - w * x),
    2 * (x * z - w * y),
    2 * (y * z + w * x),
    1 - 2 * (x * x + y * y),
  ];
}

/** Unit quaternion (w, x, y, z, with w ≥ 0) of a rotation matrix, by Shepperd's method. */
export function rotationToQuaternion(m: Mat3): Quaternion {
  const [m00, m01, m02, m10, m11, m12, m20, m21, m22] = m as [number, number, number, number, number, number, number, number, number];
  const trace = m00 + m11 + m22;
  let q: Quaternion;
  // Branch on the largest diagonal term so the square root never sees a tiny argument.
  if (trace > 0) {
    const s = 2 * Math.sqrt(trace + 1);
    q = [s / 4, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s];
  } else if (m00 > m11 && m00 > m22) {
    const s = 2 * Math.sqrt(1 + m00 - m11 - m22);
    q = [(m21 - m12) / s, s / 4, (m01 + m10) / s, (m02 + m20) / s];
  } else if (m11 > m22) {
    const s = 2 * Math.sqrt(1 + m11 - m00 - m22);
    q = [(m02 - m20) / s, (m01 + m10) / s, s / 4, (m12 + m21) / s];
  } else {
    const s = 2 * Math.sqrt(1 + m22 - m00 - m11);
    q = [(m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, s / 4];
  }
  const sign = q[0] < 0 ? -1 : 1;
  const norm = Math.hypot(...q) * sign;
  return [q[0] / norm, q[1] / norm, q[2] / norm, q[3] / norm];
}

/**
 * Percentiles (0–100) with linear interpolation between order statistics, as numpy.percentile's default.
 * Uses selection rather than a full sort: clouds of tens of millions of points are common.
 */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  if (values.length === 0) throw new Error("percentile of an empty set");
  // Float32 input is copied as Float32 to halve the memory; the values are identical.
  const work = values instanceof Float32Array ? values.slice() : Float64Array.from(values);
  for (let i = 0; i < work.length; i++) if (Number.isNaN(work[i])) throw new Error("percentile of values containing NaN");
  const last = work.length - 1;
  return ps.map((p) => {
    if (!(p >= 0 && p <= 100)) throw new Error(`percentile must be within 0–100, got ${p}`);
    const rank = (p / 100) * last;
    const below = Math.floor(rank);
    selectInPlace(work, below);
    const low = work[below]!;
    if (below === last) return low;
    // After selection everything past `below` is ≥ it, so the next order statistic is their minimum.
    let next = Number.POSITIVE_INFINITY;
    for (let i = below + 1; i <= last; i++) if (work[i]! < next) next = work[i]!;
    return low + (next - low) * (rank - below);
  });
}

/** Reorders `a` so that a[k] is its k-th smallest value, smaller ones before and larger ones after (Hoare's selection). */
function selectInPlace(a: Float32Array | Float64Array, k: number): void {
  let left = 0;
  let right = a.length - 1;
  while (left < right) {
    const pivot = medianOfThree(a[left]!, a[(left + right) >>> 1]!, a[right]!);
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (pivot < a[j]!) j--;
      if (i <= j) {
        const swap = a[i]!;
        a[i] = a[j]!;
        a[j] = swap;
        i++;
        j--;
      }
    }
    if (j < k) left = i;
    if (k < i) right = j;
  }
}

function medianOfThree(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}

export function percentile(values: ArrayLike<number>, p: number): number {
  return percentiles(values, [p])[0]!;
}

export interface SimilarityTransform {
  scale: number;
  /** Row-major 3×3. */
  rotation: Mat3;
  translation: Vec3;
}

/**
 * Least-squares similarity transform with target ≈ scale · rotation · source + translation (Umeyama 1991).
 * The rotation comes from Horn's quaternion formulation, which gives the same optimum over proper
 * rotations as Umeyama's SVD with the reflection correction, and stays well defined for planar sets.
 */
export function umeyamaAlignment(source: readonly (readonly number[])[], target: readonly (readonly number[])[]): SimilarityTransform {
  const n = source.length;
  if (n !== target.length) throw new Error(`source has ${n} points but target has ${target.length}`);
  if (n < 3) throw new Error(`similarity alignment needs at least 3 point pairs, got ${n}`);
  for (const p of [...source, ...target]) {
    if (p.length !== 3) throw new Error("alignment points must have 3 coordinates");
  }
  const sourceMean = mean3(source);
  const targetMean = mean3(target);
  // cross[a*3+b] = Σ (source − mean)_a (target − mean)_b
  const cross = new Array<number>(9).fill(0);
  let sourceSpread = 0;
  for (let i = 0; i < n; i++) {
    const s = source[i]!;
    const t = target[i]!;
    for (let a = 0; a < 3; a++) {
      const sa = s[a]! - sourceMean[a]!;
      sourceSpread += sa * sa;
      for (let b = 0; b < 3; b++) cross[a * 3 + b] = cross[a * 3 + b]! + sa * (t[b]! - targetMean[b]!);
    }
  }
  if (!(sourceSpread > 0)) throw new Error("source points are all identical; alignment is undefined");
  const [sxx, sxy, sxz, syx, syy, syz, szx, szy, szz] = cross as [number, number, number, number, number, number, number, number, number];
  const horn = [
    [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
    [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
    [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
    [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
  ];
  const { values, vectors } = symmetricEigen(horn);
  let best = 0;
  for (let i = 1; i < 4; i++) if (values[i]! > values[best]!) best = i;
  const rotation = quaternionToRotation(vectors.map((row) => row[best]!));
  let projected = 0;
  for (let i = 0; i < n; i++) {
    const s = source[i]!;
    const t = target[i]!;
    const rs = multiply3Vec(rotation, [s[0]! - sourceMean[0], s[1]! - sourceMean[1], s[2]! - sourceMean[2]]);
    projected += rs[0] * (t[0]! - targetMean[0]) + rs[1] * (t[1]! - targetMean[1]) + rs[2] * (t[2]! - targetMean[2]);
  }
  const scale = projected / sourceSpread;
  const rotatedMean = multiply3Vec(rotation, sourceMean);
  return {
    scale,
    rotation,
    translation: [targetMean[0] - scale * rotatedMean[0], targetMean[1] - scale * rotatedMean[1], targetMean[2] - scale * rotatedMean[2]],
  };
}

function mean3(points: readonly (readonly number[])[]): Vec3 {
  const sum: Vec3 = [0, 0, 0];
  for (const p of points) {
    sum[0] += p[0]!;
    sum[1] += p[1]!;
    sum[2] += p[2]!;
  }
  return [sum[0] / points.length, sum[1] / points.length, sum[2] / points.length];
}

/** Cyclic Jacobi eigen-decomposition of a small symmetric matrix; eigenvectors are the columns of `vectors`. */
function symmetricEigen(matrix: number[][]): { values: number[]; vectors: number[][] } {
  const n = matrix.length;
  const a = matrix.map((row) => [...row]);
  const v: number[][] = a.map((_, i) => a.map((__, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (apq === 0) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: a.map((row, i) => row[i]!), vectors: v };
}
