import { defineConfig } from 'vite';

// `vite build web` (npm run build:web) writes web/dist, which `recon serve` serves at /.
// `vite web` serves the app with hot reload and sends API calls to a server on :3000.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // three.js is most of the bundle; it is loaded once and cached (hashed names).
    chunkSizeWarningLimit: 900,
  },
  server: { proxy: { '/api': { target: 'http://127.0.0.1:3000', changeOrigin: false } } },
});
