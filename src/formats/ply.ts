import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";

export interface PlyPoints {
  /** N×3 coordinates. */
  positions: Float32Array;
  /** N×3 RGB, 0–255. */
  colors: Uint8Array;
  /** Extra per-vertex float properties, e.g. { error }. */
  extra?: Record<string, Float32Array>;
}

export interface PlyHeader {
  format: string;
  vertexCount: number;
  properties: { name: string; type: string }[];
  /** Byte length of the header, i.e. where the vertex data starts. */
  dataOffset: number;
}

const RESERVED = new Set(["x", "y", "z", "red", "green", "blue"]);
const CHUNK_VERTICES = 1 << 16;
const HEADER_LIMIT = 64 * 1024;

/** Writes a binary little-endian PLY of coloured points; readers never see a partial file. */
export async function writePointsPly(path: string, points: PlyPoints): Promise<void> {
  const { positions, colors } = points;
  if (positions.length % 3 !== 0) throw new Error(`positions length ${positions.length} is not a multiple of 3`);
  const count = positions.length / 3;
  if (colors.length !== count * 3) throw new Error(`colors has ${colors.length} values, expected ${count * 3}`);
  const extra = Object.entries(points.extra ?? {});
  for (const [name, values] of extra) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || RESERVED.has(name)) throw new Error(`invalid extra PLY property name "${name}"`);
    if (values.length !== count) throw new Error(`extra property "${name}" has ${values.length} values, expected ${count}`);
  }

  const header = [
    "ply",
    "format binary_little_endian 1.0",
    `element vertex ${count}`,
    "property float x",
    "property float y",
    "property float z",
    "property uchar red",
    "property uchar green",
    "property uchar blue",
    ...extra.map(([name]) => `property float ${name}`),
    "end_header",
    "",
  ].join("\n");
  const stride = 15 + 4 * extra.length;

  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const file = await open(temporary, "w");
  try {
    await file.write(header);
    const chunk = new Uint8Array(Math.min(count, CHUNK_VERTICES) * stride);
    const view = new DataView(chunk.buffer);
    for (let start = 0; start < count; start += CHUNK_VERTICES) {
      const end = Math.min(count, start + CHUNK_VERTICES);
      for (let i = start; i < end; i++) {
        let offset = (i - start) * stride;
        for (let a = 0; a < 3; a++, offset += 4) view.setFloat32(offset, positions[i * 3 + a]!, true);
        for (let a = 0; a < 3; a++, offset++) chunk[offset] = colors[i * 3 + a]!;
        for (const [, values] of extra) {
          view.setFloat32(offset, values[i]!, true);
          offset += 4;
        }
      }
      await file.write(chunk, 0, (end - start) * stride);
    }
    await file.close();
    await rename(temporary, path);
  } catch (error) {
    await file.close().catch(() => {});
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Parses the ASCII header of a PLY file (vertex element only). */
export async function readPlyHeader(path: string): Promise<PlyHeader> {
  const file = await open(path, "r");
  const { buffer, bytesRead } = await file.read(Buffer.alloc(HEADER_LIMIT), 0, HEADER_LIMIT, 0).finally(() => file.close());
  const bytes = buffer.subarray(0, bytesRead);
  const marker = "end_header\n";
  const end = bytes.indexOf(marker);
  if (end < 0) throw new Error(`${path}: no "end_header" line in the first ${HEADER_LIMIT} bytes; not a PLY file`);
  const lines = bytes.subarray(0, end).toString("latin1").split("\n");
  if (lines[0] !== "ply") throw new Error(`${path}: first line is not "ply"`);
  const header: PlyHeader = { format: "", vertexCount: 0, properties: [], dataOffset: end + marker.length };
  let inVertex = false;
  for (const [index, line] of lines.entries()) {
    const words = line.trim().split(/\s+/);
    if (words[0] === "format") header.format = words.slice(1).join(" ");
    else if (words[0] === "element") {
      inVertex = words[1] === "vertex";
      if (inVertex) header.vertexCount = Number.parseInt(words[2] ?? "", 10);
      if (inVertex && !Number.isSafeInteger(header.vertexCount)) throw new Error(`${path}:${index + 1}: bad vertex count`);
    } else if (words[0] === "property" && inVertex) {
      if (words[1] === "list") throw new Error(`${path}:${index + 1}: list properties on vertices are not supported`);
      header.properties.push({ type: words[1] ?? "", name: words[2] ?? "" });
    }
  }
  return header;
}
