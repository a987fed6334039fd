/**
 * ZIP archives: a reader with ZIP64, size, CRC-32 and zip-bomb checks, an atomic streaming
 * writer, and a helper to package a folder.
 */
export { zipFolder } from './zip-folder.ts';
export { type ZipEntry, type ZipReadOptions, ZipReader } from './zip-reader.ts';
export { type ZipEntryOptions, type ZipWriteOptions, ZipWriter } from './zip-writer.ts';
