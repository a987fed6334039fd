import { api, type CameraInfo, describeError, type Run } from './api.ts';
import { formatBytes } from '../../src/sdk/format.ts';
import { h, replaceChildren } from './dom.ts';
import { SPLAT_FORMATS } from './splat-formats.ts';
import { SplatViewer } from './splat-viewer.ts';

interface FormatMetrics {
  bytes?: number;
  gaussians?: number;
  testPsnr?: number | null;
  testSsim?: number | null;
  trainPsnr?: number | null;
}

const fixed = (value: number | null | undefined, digits: number) => (typeof value === 'number' ? value.toFixed(digits) : '–');

/** The evaluate stage's numbers per format (bytes, Gaussians, held-out and training PSNR/SSIM). */
function metricsOf(run: Run): Record<string, FormatMetrics> {
  const evaluate = run.stages.find((s) => s.engine === 'splat-evaluate')?.summary as { formats?: Record<string, FormatMetrics> } | undefined;
  return evaluate?.formats ?? {};
}

/**
 * The trained splats in Spark: a format switch (PLY, SOG, SPZ, compressed PLY) to see what
 * compression changed, the run's cameras to fly to, and the evaluation's numbers beside them.
 */
export function splatSection(run: Run, onViewer: (viewer: SplatViewer | undefined) => void): HTMLElement {
  const formats = SPLAT_FORMATS.filter((format) => run.artifacts[format.kind]);
  const metrics = metricsOf(run);
  const canvasHost = h('div', { class: 'viewer-canvas splat-canvas', 'data-state': 'loading' });
  const status = h('p', { class: 'viewer-status', role: 'status' }, 'Loading the splats…');
  const cameraList = h('ul', { class: 'camera-list', 'aria-label': 'Cameras' }, h('li', { class: 'muted small' }, 'Loading cameras…'));
  let viewer: SplatViewer | undefined;
  let cameras: CameraInfo[] = [];
  let loading: AbortController | undefined;

  const show = async (kind: string) => {
    const format = SPLAT_FORMATS.find((f) => f.kind === kind);
    if (!viewer || !format) return;
    loading?.abort();
    const fetching = new AbortController();
    loading = fetching;
    canvasHost.dataset.state = 'loading';
    replaceChildren(status, `Loading ${format.label}…`);
    try {
      const bytes = await api.artifactBytes(run.runId, kind, fetching.signal);
      if (fetching.signal.aborted) return;
      const { splats } = await viewer.show(bytes, format.file);
      if (fetching.signal.aborted) return;
      canvasHost.dataset.state = 'ready';
      canvasHost.dataset.format = kind;
      canvasHost.dataset.splats = String(splats);
      replaceChildren(status, `${format.label}: ${splats.toLocaleString()} splats · ${formatBytes(bytes.length)}`);
    } catch (error) {
      if (fetching.signal.aborted) return;
      canvasHost.dataset.state = 'error';
      replaceChildren(status, `The splats could not be shown: ${describeError(error)}`);
    }
  };

  const formatSwitch = h(
    'fieldset',
    { class: 'format-switch' },
    h('legend', null, 'Format'),
    formats.map((format, index) => {
      const m = metrics[format.kind];
      const input = h('input', { type: 'radio', name: 'splat-format', value: format.kind, checked: index === 0, onchange: () => void show(format.kind) });
      return h(
        'label',
        { class: 'format-option' },
        input,
        h('span', null, format.label),
        h('span', { class: 'format-meta' }, [m?.bytes !== undefined ? formatBytes(m.bytes) : null, m?.testPsnr != null ? `${fixed(m.testPsnr, 2)} dB held-out` : null].filter(Boolean).join(' · ')),
      );
    }),
  );
  const rows = formats.filter((f) => metrics[f.kind]);
  const metricsTable = rows.length
    ? h(
        'table',
        { class: 'metrics' },
        h('caption', { class: 'visually-hidden' }, 'Quality of each format'),
        h('thead', null, h('tr', null, ['Format', 'Size', 'Splats', 'PSNR held-out', 'SSIM', 'PSNR train'].map((label) => h('th', { scope: 'col' }, label)))),
        h(
          'tbody',
          null,
          rows.map((f) => {
            const m = metrics[f.kind]!;
            return h('tr', null, h('td', null, f.label), h('td', null, m.bytes !== undefined ? formatBytes(m.bytes) : '–'), h('td', null, m.gaussians?.toLocaleString() ?? '–'), h('td', null, fixed(m.testPsnr, 2)), h('td', null, fixed(m.testSsim, 3)), h('td', null, fixed(m.trainPsnr, 2)));
          }),
        ),
      )
    : h('p', { class: 'muted small' }, 'No evaluation yet.');

  queueMicrotask(async () => {
    try {
      viewer = new SplatViewer(canvasHost);
      onViewer(viewer);
    } catch {
      canvasHost.dataset.state = 'error';
      replaceChildren(status, 'This browser cannot show splats (WebGL2 is unavailable). The downloads below still work.');
      return;
    }
    const cams = await api.cameras(run.runId).then((c) => c.cameras, (error: unknown) => error);
    if (Array.isArray(cams)) {
      cameras = cams;
      viewer.useCameras(cameras);
      replaceChildren(
        cameraList,
        cameras.map((camera) => {
          const name = camera.imageName ?? run.images[camera.index];
          const button: HTMLButtonElement = h(
            'button',
            {
              type: 'button',
              class: 'camera-button',
              'aria-pressed': 'false',
              onclick: () => {
                for (const other of cameraList.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
                viewer?.viewFrom(camera);
              },
            },
            h('span', { class: 'camera-index' }, String(camera.index + 1)),
            h('span', { class: 'camera-name' }, name ?? `Camera ${camera.index + 1}`),
          );
          return h('li', null, button);
        }),
      );
    } else replaceChildren(cameraList, h('li', { class: 'muted small' }, `No cameras: ${describeError(cams)}`));
    if (formats[0]) await show(formats[0].kind);
    if (cameras[0]) viewer.resetView(cameras[0]);
  });

  return h(
    'section',
    { class: 'card viewer', 'aria-labelledby': 'splat-heading' },
    h('div', { class: 'card-head' }, h('h2', { id: 'splat-heading' }, 'Gaussian splats'), status),
    h(
      'div',
      { class: 'viewer-layout' },
      canvasHost,
      h(
        'div',
        { class: 'viewer-side' },
        formatSwitch,
        h('button', { type: 'button', class: 'button-quiet', onclick: () => viewer?.resetView(cameras[0]) }, 'Reset view'),
        h('h3', null, 'Cameras'),
        h('p', { class: 'muted small' }, 'Choose one to see the splats from where its photo was taken.'),
        cameraList,
      ),
    ),
    h('h3', null, 'Quality'),
    h('p', { class: 'muted small' }, 'PSNR (dB) and SSIM against the photos: on held-out photos, never trained on, and on training photos.'),
    metricsTable,
  );
}
