import type { NodeIO } from '@gltf-transform/core';

// Loaded on first use (gltf-transform's functions alone take ~0.3 s to import): a server that
// never compresses a GLB never pays for them at start-up.

/** A reader/writer that understands quantized, meshopt-compressed GLBs. */
export async function meshoptIO(): Promise<NodeIO> {
  const [{ NodeIO }, { EXTMeshoptCompression, KHRMeshQuantization }, { MeshoptDecoder, MeshoptEncoder }] = await Promise.all([
    import('@gltf-transform/core'),
    import('@gltf-transform/extensions'),
    import('meshoptimizer'),
  ]);
  await Promise.all([MeshoptEncoder.ready, MeshoptDecoder.ready]);
  return new NodeIO()
    .registerExtensions([EXTMeshoptCompression, KHRMeshQuantization])
    .registerDependencies({ 'meshopt.encoder': MeshoptEncoder, 'meshopt.decoder': MeshoptDecoder });
}

/**
 * Quantizes vertex attributes (KHR_mesh_quantization) and meshopt-compresses the buffers
 * (EXT_meshopt_compression): what three.js's GLTFLoader reads with its MeshoptDecoder.
 */
export async function compressGlb(glb: Uint8Array): Promise<Uint8Array> {
  const [io, { Logger }, { meshopt }, { MeshoptEncoder }] = await Promise.all([
    meshoptIO(),
    import('@gltf-transform/core'),
    import('@gltf-transform/functions'),
    import('meshoptimizer'),
  ]);
  const doc = await io.readBinary(glb);
  doc.setLogger(new Logger(Logger.Verbosity.WARN));
  await doc.transform(meshopt({ encoder: MeshoptEncoder, level: 'medium' }));
  return io.writeBinary(doc);
}
