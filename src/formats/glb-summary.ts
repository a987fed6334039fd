import { NodeIO, Primitive } from "@gltf-transform/core";
import type { mat4 } from "@gltf-transform/core";

export interface GlbSummary {
  nodes: number;
  meshes: number;
  primitives: number;
  /** Vertices of POINTS primitives. */
  points: number;
  /** Vertices of all primitives, points included. */
  vertices: number;
  materials: number;
  /** World-space bounds of every vertex reachable from the scenes; null when there are none. */
  bounds: { min: [number, number, number]; max: [number, number, number] } | null;
}

export async function summarizeGlb(bytes: Uint8Array): Promise<GlbSummary> {
  const root = (await new NodeIO().readBinary(bytes)).getRoot();
  const meshes = root.listMeshes();
  let primitives = 0;
  let points = 0;
  let vertices = 0;
  for (const mesh of meshes) {
    for (const primitive of mesh.listPrimitives()) {
      primitives++;
      const count = primitive.getAttribute("POSITION")?.getCount() ?? 0;
      vertices += count;
      if (primitive.getMode() === Primitive.Mode.POINTS) points += count;
    }
  }

  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (const scene of root.listScenes()) {
    scene.traverse((node) => {
      const primitivesOfNode = node.getMesh()?.listPrimitives() ?? [];
      const world = node.getWorldMatrix();
      for (const primitive of primitivesOfNode) {
        const position = primitive.getAttribute("POSITION");
        if (!position) continue;
        const local = [0, 0, 0];
        for (let i = 0; i < position.getCount(); i++) {
          position.getElement(i, local);
          const p = applyColumnMajor(world, local);
          for (let a = 0; a < 3; a++) {
            min[a] = Math.min(min[a]!, p[a]!);
            max[a] = Math.max(max[a]!, p[a]!);
          }
        }
      }
    });
  }

  return {
    nodes: root.listNodes().length,
    meshes: meshes.length,
    primitives,
    points,
    vertices,
    materials: root.listMaterials().length,
    bounds: min[0] <= max[0] ? { min, max } : null,
  };
}

/** glTF matrices are column-major. */
function applyColumnMajor(m: mat4, p: number[]): number[] {
  const [x, y, z] = p as [number, number, number];
  return [m[0] * x + m[4] * y + m[8] * z + m[12], m[1] * x + m[5] * y + m[9] * z + m[13], m[2] * x + m[6] * y + m[10] * z + m[14]];
}
