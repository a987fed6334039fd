import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CAMERA_MODELS, cameraModel, sortedById } from "./colmap-model-binary.ts";
import type { ColmapCamera, ColmapImage, ColmapModel, ColmapPoint3D } from "./colmap-model.ts";

export async function readColmapModelText(dir: string): Promise<ColmapModel> {
  const [cameras, images, points3D] = await Promise.all([
    readLines(join(dir, "cameras.txt")).then(parseCameras),
    readLines(join(dir, "images.txt")).then(parseImages),
    readLines(join(dir, "points3D.txt")).then(parsePoints3D),
  ]);
  return { cameras, images, points3D };
}

/** Writes the COLMAP text format; numbers use JavaScript's shortest round-trip form, so nothing is lost. */
export async function writeColmapModelText(dir: string, model: ColmapModel): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all([
    writeFile(join(dir, "cameras.txt"), formatCameras(model.cameras)),
    writeFile(join(dir, "images.txt"), formatImages(model.images)),
    writeFile(join(dir, "points3D.txt"), formatPoints3D(model.points3D)),
  ]);
}

// C++ streams write non-finite doubles as nan/inf; COLMAP reads them back with strtold.
const NON_FINITE = new Map([
  ["nan", Number.NaN],
  ["-nan", Number.NaN],
  ["inf", Number.POSITIVE_INFINITY],
  ["+inf", Number.POSITIVE_INFINITY],
  ["-inf", Number.NEGATIVE_INFINITY],
]);

interface Lines {
  path: string;
  lines: string[];
}

async function readLines(path: string): Promise<Lines> {
  return { path, lines: (await readFile(path, "utf8")).split(/\r?\n/) };
}

/** Tokenizes one data line and converts its fields, reporting file and line on failure. */
class LineFields {
  private readonly tokens: string[];
  private next = 0;
  readonly where: string;

  constructor(source: Lines, index: number) {
    this.where = `${source.path}:${index + 1}`;
    const text = source.lines[index]!.trim();
    this.tokens = text === "" ? [] : text.split(/\s+/);
  }

  get remaining(): number {
    return this.tokens.length - this.next;
  }

  fail(message: string): never {
    throw new Error(`${this.where}: ${message}`);
  }

  word(what: string): string {
    const token = this.tokens[this.next++];
    if (token === undefined) this.fail(`missing ${what}`);
    return token;
  }

  float(what: string): number {
    const token = this.word(what);
    const value = NON_FINITE.get(token.toLowerCase()) ?? Number(token);
    if (Number.isNaN(value) && !token.toLowerCase().endsWith("nan")) this.fail(`${what} "${token}" is not a number`);
    return value;
  }

  integer(what: string, min = 0): number {
    const token = this.word(what);
    const value = Number(token);
    if (!/^-?\d+$/.test(token) || !Number.isSafeInteger(value) || value < min) {
      this.fail(`${what} "${token}" is not an integer ≥ ${min} below 2^53`);
    }
    return value;
  }

  end(): void {
    if (this.remaining > 0) this.fail(`unexpected extra fields: ${this.tokens.slice(this.next).join(" ")}`);
  }
}

function isDataLine(line: string): boolean {
  const text = line.trim();
  return text !== "" && !text.startsWith("#");
}

function parseCameras(source: Lines): Map<number, ColmapCamera> {
  const cameras = new Map<number, ColmapCamera>();
  source.lines.forEach((line, index) => {
    if (!isDataLine(line)) return;
    const fields: LineFields = new LineFields(source, index);
    const id = fields.integer("camera id");
    const model = fields.word("camera model");
    const info = CAMERA_MODELS.find((m) => m.name === model);
    if (!info) fields.fail(`unknown camera model "${model}"`);
    const width = fields.integer("width");
    const height = fields.integer("height");
    if (fields.remaining !== info.paramCount) fields.fail(`${model} takes ${info.paramCount} params, got ${fields.remaining}`);
    const params = Array.from({ length: info.paramCount }, (_, i) => fields.float(`param ${i}`));
    if (cameras.has(id)) fields.fail(`duplicate camera id ${id}`);
    cameras.set(id, { id, model, width, height, params });
  });
  return cameras;
}

function parseImages(source: Lines): Map<number, ColmapImage> {
  const images = new Map<number, ColmapImage>();
  for (let index = 0; index < source.lines.length; index++) {
    if (!isDataLine(source.lines[index]!)) continue;
    const fields: LineFields = new LineFields(source, index);
    const id = fields.integer("image id");
    const qvec: ColmapImage["qvec"] = [fields.float("QW"), fields.float("QX"), fields.float("QY"), fields.float("QZ")];
    const tvec: ColmapImage["tvec"] = [fields.float("TX"), fields.float("TY"), fields.float("TZ")];
    const cameraId = fields.integer("camera id");
    const name = fields.word("image name");
    fields.end();
    if (images.has(id)) fields.fail(`duplicate image id ${id}`);

    // The keypoint line always follows its image line, even when empty, so it is not skipped like comments.
    index++;
    const points2D: ColmapImage["points2D"] = [];
    if (index < source.lines.length) {
      const keypoints: LineFields = new LineFields(source, index);
      if (keypoints.remaining % 3 !== 0) keypoints.fail(`POINTS2D needs (X, Y, POINT3D_ID) triples, got ${keypoints.remaining} fields`);
      while (keypoints.remaining > 0) {
        const x = keypoints.float("X");
        const y = keypoints.float("Y");
        points2D.push({ x, y, point3DId: keypoints.integer("POINT3D_ID", -1) });
      }
    }
    images.set(id, { id, qvec, tvec, cameraId, name, points2D });
  }
  return images;
}

function parsePoints3D(source: Lines): Map<number, ColmapPoint3D> {
  const points = new Map<number, ColmapPoint3D>();
  source.lines.forEach((line, index) => {
    if (!isDataLine(line)) return;
    const fields: LineFields = new LineFields(source, index);
    const id = fields.integer("point3D id");
    const xyz: ColmapPoint3D["xyz"] = [fields.float("X"), fields.float("Y"), fields.float("Z")];
    const rgb: ColmapPoint3D["rgb"] = [fields.integer("R"), fields.integer("G"), fields.integer("B")];
    if (rgb.some((c) => c > 255)) fields.fail(`colour ${rgb.join(" ")} is outside 0–255`);
    const error = fields.float("error");
    if (fields.remaining % 2 !== 0) fields.fail(`TRACK needs (IMAGE_ID, POINT2D_IDX) pairs, got ${fields.remaining} fields`);
    const track: ColmapPoint3D["track"] = [];
    while (fields.remaining > 0) track.push({ imageId: fields.integer("IMAGE_ID"), point2DIdx: fields.integer("POINT2D_IDX") });
    if (points.has(id)) fields.fail(`duplicate point3D id ${id}`);
    points.set(id, { id, xyz, rgb, error, track });
  });
  return points;
}

function formatCameras(cameras: Map<number, ColmapCamera>): string {
  const lines = [
    "# Camera list with one line of data per camera:",
    "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]",
    `# Number of cameras: ${cameras.size}`,
  ];
  for (const camera of sortedById(cameras)) {
    const { paramCount } = cameraModel(camera.model);
    if (camera.params.length !== paramCount) {
      throw new Error(`camera ${camera.id}: ${camera.model} takes ${paramCount} params, got ${camera.params.length}`);
    }
    lines.push([camera.id, camera.model, camera.width, camera.height, ...camera.params].join(" "));
  }
  return `${lines.join("\n")}\n`;
}

function formatImages(images: Map<number, ColmapImage>): string {
  const list = sortedById(images);
  const observations = list.reduce((sum, image) => sum + image.points2D.filter((p) => p.point3DId !== -1).length, 0);
  const lines = [
    "# Image list with two lines of data per image:",
    "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME",
    "#   POINTS2D[] as (X, Y, POINT3D_ID)",
    `# Number of images: ${list.length}, mean observations per image: ${list.length > 0 ? observations / list.length : 0}`,
  ];
  for (const image of list) {
    // COLMAP splits the line on whitespace, so such a name could not be read back.
    if (/\s/.test(image.name) || image.name === "") throw new Error(`image ${image.id}: name "${image.name}" is empty or contains whitespace`);
    lines.push([image.id, ...image.qvec, ...image.tvec, image.cameraId, image.name].join(" "));
    lines.push(image.points2D.map((p) => `${p.x} ${p.y} ${p.point3DId}`).join(" "));
  }
  return `${lines.join("\n")}\n`;
}

function formatPoints3D(points: Map<number, ColmapPoint3D>): string {
  const list = sortedById(points);
  const trackTotal = list.reduce((sum, point) => sum + point.track.length, 0);
  const lines = [
    "# 3D point list with one line of data per point:",
    "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)",
    `# Number of points: ${list.length}, mean track length: ${list.length > 0 ? trackTotal / list.length : 0}`,
  ];
  for (const point of list) {
    const track = point.track.map((t) => `${t.imageId} ${t.point2DIdx}`);
    lines.push([point.id, ...point.xyz, ...point.rgb, point.error, ...track].join(" "));
  }
  return `${lines.join("\n")}\n`;
}
