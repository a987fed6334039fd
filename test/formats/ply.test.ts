import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { readPlyHeader, writePointsPly } from "../../src/formats/ply.ts";

const run = promisify(execFile);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "ply-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** numpy parses the body with a dtype built from the header, independently of our reader. */
const NUMPY_READER = `
import json, sys, numpy as np
data = open(sys.argv[1], "rb").read()
end = data.index(b"end_header\\n") + len(b"end_header\\n")
props = [l.split() for l in data[:end].decode().splitlines() if l.startswith("property")]
types = {"float": "<f4", "uchar": "u1"}
rows = np.frombuffer(data[end:], dtype=np.dtype([(p[2], types[p[1]]) for p in props]))
print(json.dumps({name: rows[name].astype(float).tolist() for name in rows.dtype.names}))
`;

test("writes binary little-endian PLY that numpy decodes to the same values", async () => {
  const count = 70_000; // more than one write chunk
  const positions = Float32Array.from({ length: count * 3 }, (_, i) => Math.sin(i) * 100);
  const colors = Uint8Array.from({ length: count * 3 }, (_, i) => (i * 7) % 256);
  const error = Float32Array.from({ length: count }, (_, i) => i / 3);
  const path = join(dir, "points.ply");
  await writePointsPly(path, { positions, colors, extra: { error } });

  const header = await readPlyHeader(path);
  assert.equal(header.format, "binary_little_endian 1.0");
  assert.equal(header.vertexCount, count);
  assert.deepEqual(
    header.properties.map((p) => `${p.type} ${p.name}`),
    ["float x", "float y", "float z", "uchar red", "uchar green", "uchar blue", "float error"],
  );
  assert.equal((await stat(path)).size, header.dataOffset + count * 19);

  const { stdout } = await run("python3", ["-c", NUMPY_READER, path], { maxBuffer: 256 * 1024 * 1024 });
  const decoded = JSON.parse(stdout) as Record<string, number[]>;
  for (const [a, axis] of ["x", "y", "z"].entries()) {
    assert.deepEqual(decoded[axis], Array.from({ length: count }, (_, i) => positions[i * 3 + a]!));
  }
  for (const [a, channel] of ["red", "green", "blue"].entries()) {
    assert.deepEqual(decoded[channel], Array.from({ length: count }, (_, i) => colors[i * 3 + a]!));
  }
  assert.deepEqual(decoded.error, Array.from(error));
});

test("replaces an existing file and leaves no temporary files", async () => {
  const path = join(dir, "replace.ply");
  await writeFile(path, "old contents");
  await writePointsPly(path, { positions: new Float32Array([1, 2, 3]), colors: new Uint8Array([4, 5, 6]) });
  const header = await readPlyHeader(path);
  assert.equal(header.vertexCount, 1);
  assert.equal(header.properties.length, 6);
  assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith("replace")), ["replace.ply"]);
});

test("an empty point set is a valid zero-vertex PLY", async () => {
  const path = join(dir, "empty.ply");
  await writePointsPly(path, { positions: new Float32Array(0), colors: new Uint8Array(0) });
  const header = await readPlyHeader(path);
  assert.equal(header.vertexCount, 0);
  assert.equal((await stat(path)).size, header.dataOffset);
});

test("rejects mismatched arrays and bad property names without creating a file", async () => {
  const path = join(dir, "bad.ply");
  const positions = new Float32Array(6);
  await assert.rejects(writePointsPly(path, { positions, colors: new Uint8Array(3) }), /colors has 3 values, expected 6/);
  await assert.rejects(writePointsPly(path, { positions, colors: new Uint8Array(6), extra: { error: new Float32Array(1) } }), /"error" has 1 values, expected 2/);
  await assert.rejects(writePointsPly(path, { positions, colors: new Uint8Array(6), extra: { red: new Float32Array(2) } }), /invalid extra PLY property name "red"/);
  assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith("bad")), []);
});
