// Test page: the web app's SplatViewer (Spark) renders a PLY exactly as one camera sees it, so the
// test can compare the pixels with Recon's own renderer.
import type { CameraInfo } from '../../../web/src/api.ts';
import { SplatViewer } from '../../../web/src/splat-viewer.ts';

declare global {
  interface Window {
    renderSplat(plyUrl: string, camera: CameraInfo, width: number, height: number): Promise<string>;
  }
}

window.renderSplat = async (plyUrl, camera, width, height) => {
  const host = document.getElementById('host')!;
  host.style.width = `${width}px`;
  host.style.height = `${height}px`;
  const viewer = new SplatViewer(host);
  const bytes = new Uint8Array(await (await fetch(plyUrl)).arrayBuffer());
  await viewer.show(bytes, 'splat.ply');
  await viewer.matchCamera(camera, width, height);
  // Spark sorts in a worker: give it a few frames to settle on this view.
  for (let i = 0; i < 30; i++) await new Promise((resolve) => requestAnimationFrame(resolve));
  return viewer.canvas.toDataURL('image/png');
};
