// Validates a GLB with the Khronos glTF-Validator: `node scripts/validate-glb.ts scene.glb`.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

interface Report {
  issues: { numErrors: number; numWarnings: number; numInfos: number; messages: { code: string; message: string; severity: number }[] };
  info?: Record<string, unknown>;
}
const validator = createRequire(import.meta.url)('gltf-validator') as { validateBytes(data: Uint8Array): Promise<Report> };

const path = process.argv[2];
if (!path) {
  console.error('Usage: node scripts/validate-glb.ts FILE.glb');
  process.exit(2);
}
const report = await validator.validateBytes(new Uint8Array(await readFile(path)));
const { numErrors, numWarnings, numInfos, messages } = report.issues;
console.log(`${path}: ${numErrors} errors, ${numWarnings} warnings, ${numInfos} infos`);
for (const m of messages) console.log(`  [${['error', 'warning', 'info', 'hint'][m.severity]}] ${m.code}: ${m.message}`);
process.exit(numErrors ? 1 : 0);
