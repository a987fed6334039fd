// How Recon's server processes are started (bin/recon.js, and the benches that measure them).
// Both settings were measured (bench/upload.ts, bench/npz.ts); npm scripts spell them out too.

/**
 * A small young generation keeps V8 collecting upload buffers (memory outside the JS heap) in
 * cheap scavenges; with the default, a large app falls into full collections: half the upload
 * throughput.
 */
export const NODE_FLAGS = ['--max-semi-space-size=1'];

/** Large array buffers on transparent huge pages: reading a big predictions.npz faults far less. */
export const ENV = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' };
