// The reference for bench/footprint.ts: the embedded store alone — PGlite opened on the data folder
// and migrated, as Recon opens it (src/db/database.ts) — then idle. Prints "ready <ms>" once open.
import { openStore } from '../../src/db/database.ts';

const started = performance.now();
const store = await openStore({ dataDir: process.argv[2]! });
console.log(`ready ${Math.round(performance.now() - started)}`);
process.on('SIGTERM', () => void store.close().then(() => process.exit(0)));
setInterval(() => {}, 1 << 30);
