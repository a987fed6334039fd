import { api, type CameraInfo, describeError, downloadFile, type Run } from '../api.ts';
import { errorBox, h, replaceChildren, spinner, statusPill } from '../dom.ts';
import { formatDuration, formatPercent, formatWhen, humanize, runDuration } from '../format.ts';
import { navigate, type Page } from '../router.ts';
import { settingsForm } from '../settings-form.ts';
import { SPLAT_FORMATS } from '../splat-formats.ts';
import type { SplatViewer } from '../splat-viewer.ts';
import { applyStageEvent, type StageEvent, stagesList } from '../stages-view.ts';
import { SceneViewer } from '../viewer.ts';

const TERMINAL = new Set(['completed', 'failed', 'canceled']);
const LOG_LINES = 400;

const ARTIFACT_LABELS: Record<string, string> = {
  glb: 'Scene · GLB',
  predictions: 'Predictions · NPZ',
  colmap: 'COLMAP model · ZIP',
  ply: 'Point cloud · PLY',
  preview: 'Preview · JPEG',
  sog: 'Splats · SOG',
  'splat-ply': 'Splats · PLY',
  spz: 'Splats · SPZ',
  'splat-compressed-ply': 'Splats · compressed PLY',
  'splat-viewer': 'Splat viewer · HTML',
  'splat-scene': 'Undistorted scene · ZIP',
  'splat-preview': 'Training preview · PNG',
  metrics: 'Metrics · JSON',
};

const STAGE_LABELS: Record<string, string> = { waiting: 'Waiting for a worker' };

interface StageMark {
  name: string;
  firstAt: number;
  lastAt: number;
  progress: number;
}

interface StreamEvent extends StageEvent {
  type: 'status' | 'progress' | 'log' | 'retry' | 'stage';
  at?: string;
  status?: string;
  stage?: string | null;
  progress?: number;
  message?: string | null;
  lines?: string[];
  error?: string;
  errorHint?: string;
  delayMs?: number;
  nextAttempt?: number;
}

export const runPage: Page = (root, params) => {
  const runId = params.runId ?? '';
  document.title = `${runId} · Recon`;
  const host = h('section', { class: 'page' }, spinner('Loading the run…'));
  root.append(host);
  let run: Run | undefined;
  let source: EventSource | undefined;
  let viewer: SceneViewer | undefined;
  let splatViewer: SplatViewer | undefined;
  // The training preview shown now (a blob: URL) and when it was last fetched.
  let previewUrl: string | undefined;
  let previewFetchedAt = 0;
  // The camera photo shown now: a blob: URL (fetched with the key) and the fetch in flight.
  let photoUrl: string | undefined;
  let photoFetch: AbortController | undefined;
  let disposed = false;
  let resultsShown = false;
  // A finished run's stream is only a replay: it fills in the stages and log, not the state.
  let finishedOnLoad = false;
  const stages: StageMark[] = [];
  const logLines: string[] = [];

  // Parts updated in place while events arrive.
  const pill = h('span', null);
  const meta = h('p', { class: 'run-meta' });
  const bar = h('progress', { max: 1, value: 0, 'aria-labelledby': 'progress-label' });
  const progressLabel = h('p', { id: 'progress-label', class: 'progress-label' });
  const timeline = h('ol', { class: 'timeline', 'aria-label': 'Stages' });
  const connection = h('p', { class: 'muted small', role: 'status' });
  const errorHost = h('div', null);
  const logPre = h('pre', { class: 'log', tabindex: 0, 'aria-label': 'Run log' });
  const logCount = h('span', { class: 'muted small' });
  const cancelButton = h('button', { type: 'button', class: 'button-danger', onclick: () => void cancel() }, 'Cancel run');
  const stagesView = stagesList();
  const previewImage = h('img', { alt: 'The splats as they train, rendered from the first training view' });
  const previewFigure = h('figure', { class: 'train-preview', hidden: true }, previewImage, h('figcaption', null, 'Training preview: the splats rendered from a training view, updated as they train'));
  const liveCard = h(
    'section',
    { class: 'card live', 'aria-labelledby': 'live-heading' },
    h('h2', { id: 'live-heading' }, 'Progress'),
    progressLabel,
    bar,
    timeline,
    stagesView.element,
    previewFigure,
    connection,
  );
  const resultHost = h('div', { class: 'results' });

  function renderHead() {
    if (!run) return;
    replaceChildren(pill, statusPill(run.status));
    const duration = runDuration(run);
    replaceChildren(
      meta,
      h('span', null, run.engine),
      h('span', null, `${run.images.length} ${run.images.length === 1 ? 'photo' : 'photos'}`),
      h('span', null, h('time', { datetime: run.requestedAt, title: new Date(run.requestedAt).toLocaleString() }, `requested ${formatWhen(run.requestedAt)}`)),
      duration !== undefined ? h('span', null, `${run.finishedAt ? 'took' : 'running for'} ${formatDuration(duration)}`) : null,
      run.attempt > 1 ? h('span', null, `attempt ${run.attempt}`) : null,
      run.parentRunId ? h('span', null, 'rerun of ', h('a', { href: `/runs/${run.parentRunId}`, class: 'mono' }, run.parentRunId)) : null,
    );
    cancelButton.hidden = TERMINAL.has(run.status);
  }

  function renderProgress() {
    if (!run) return;
    const terminal = TERMINAL.has(run.status);
    bar.value = run.status === 'completed' ? 1 : run.progress;
    const stage = run.stage ? (STAGE_LABELS[run.stage] ?? humanize(run.stage)) : humanize(run.status);
    const position = run.queuePosition ? ` · number ${run.queuePosition} in the queue` : '';
    replaceChildren(
      progressLabel,
      h('strong', null, terminal ? humanize(run.status) : stage),
      terminal ? null : ` · ${formatPercent(run.progress)}${position}`,
      run.message && !terminal ? h('span', { class: 'muted' }, ` — ${run.message}`) : null,
    );
    replaceChildren(
      timeline,
      stages.map((mark, index) => {
        const next = stages[index + 1];
        const current = !next && !terminal;
        const failed = !next && run?.status === 'failed';
        const state = failed ? 'failed' : current ? 'active' : 'done';
        const took = next ? next.firstAt - mark.firstAt : terminal ? mark.lastAt - mark.firstAt : undefined;
        return h(
          'li',
          { class: `stage stage-${state}`, ...(current && { 'aria-current': 'step' }) },
          h('span', { class: 'stage-dot', 'aria-hidden': 'true' }),
          h('span', { class: 'stage-name' }, STAGE_LABELS[mark.name] ?? humanize(mark.name)),
          h('span', { class: 'stage-detail' }, current ? formatPercent(mark.progress) : took !== undefined ? formatDuration(took) : ''),
        );
      }),
      terminal
        ? h(
            'li',
            { class: `stage stage-end stage-${run.status}` },
            h('span', { class: 'stage-dot', 'aria-hidden': 'true' }),
            h('span', { class: 'stage-name' }, humanize(run.status)),
            h('span', { class: 'stage-detail' }),
          )
        : null,
    );
    replaceChildren(
      errorHost,
      run.status === 'failed'
        ? errorBox('The run failed', run.error ?? 'No error message was recorded.', run.errorHint ?? 'Check the log below; then change the settings or photos and run it again.')
        : run.status === 'canceled'
          ? h('div', { class: 'notice' }, h('strong', null, 'Canceled'), h('p', null, run.message ?? 'The run was canceled.'))
          : null,
    );
  }

  function renderStages() {
    if (!run) return;
    // A run of several stages shows them instead of its engines' step timeline.
    stagesView.element.hidden = run.stages.length < 2;
    timeline.hidden = run.stages.length > 1;
    stagesView.render(run.stages);
  }

  /** Fetches the latest training preview (with the key), at most every 2 s. */
  function refreshPreview(force = false) {
    if (!force && Date.now() - previewFetchedAt < 2000) return;
    previewFetchedAt = Date.now();
    api
      .artifactObjectUrl(runId, 'splat-preview')
      .then((url) => {
        if (disposed) return URL.revokeObjectURL(url);
        if (previewUrl) URL.revokeObjectURL(previewUrl);
        previewUrl = url;
        previewImage.src = url;
        previewFigure.hidden = false;
      })
      .catch(() => {});
  }

  function renderLog() {
    logPre.textContent = logLines.slice(-LOG_LINES).join('\n') || 'No log lines yet.';
    logCount.textContent = logLines.length > LOG_LINES ? `last ${LOG_LINES} of ${logLines.length} lines` : `${logLines.length} lines`;
    logPre.scrollTop = logPre.scrollHeight;
  }

  function noteStage(event: StreamEvent, at: number) {
    const last = stages.at(-1);
    if (last && last.name === event.stage) {
      last.lastAt = at;
      last.progress = event.progress ?? last.progress;
    } else stages.push({ name: event.stage!, firstAt: at, lastAt: at, progress: event.progress ?? 0 });
  }

  function onEvent(event: StreamEvent) {
    if (!run) return;
    const at = event.at ? new Date(event.at).getTime() : Date.now();
    if (event.type === 'log' && event.lines) {
      logLines.push(...event.lines);
      renderLog();
      if (!finishedOnLoad && event.lines.some((line) => line.startsWith('artifact splat-preview stored'))) refreshPreview();
      return;
    }
    if (event.type === 'stage') {
      if (!finishedOnLoad && applyStageEvent(run.stages, event)) renderStages();
      return;
    }
    if (!finishedOnLoad && applyStageEvent(run.stages, event)) renderStages();
    if (event.type === 'retry') {
      logLines.push(`retrying (attempt ${event.nextAttempt}) in ${formatDuration(event.delayMs ?? 0)}: ${event.error}`);
      renderLog();
      return;
    }
    if (finishedOnLoad) {
      if (event.stage) noteStage(event, at);
      if (event.type === 'status' && event.status && TERMINAL.has(event.status)) {
        source?.close();
        source = undefined;
      }
      renderProgress();
      return;
    }
    if (event.type === 'status' && event.status) {
      run.status = event.status as Run['status'];
      if (event.error) run.error = event.error;
      if (event.errorHint) run.errorHint = event.errorHint;
    }
    if (event.stage !== undefined) run.stage = event.stage;
    if (run.stage !== 'waiting') run.queuePosition = null;
    if (typeof event.progress === 'number') run.progress = event.progress;
    if (event.message !== undefined) run.message = event.message;
    if (event.stage) noteStage(event, at);
    else if (stages.length) stages.at(-1)!.lastAt = at;
    if (event.type === 'status' && event.status && TERMINAL.has(event.status)) {
      source?.close();
      source = undefined;
      connection.textContent = '';
      void refresh();
      return;
    }
    renderHead();
    renderProgress();
  }

  function follow() {
    source = new EventSource(api.streamUrl(runId));
    source.onmessage = (message) => {
      connection.textContent = '';
      try {
        onEvent(JSON.parse(message.data) as StreamEvent);
      } catch {}
    };
    source.onerror = () => {
      if (!source) return;
      // CLOSED: the server said there is nothing more (204) or refused; read the final state.
      if (source.readyState === EventSource.CLOSED) {
        source = undefined;
        void refresh();
      } else connection.textContent = 'Connection lost — reconnecting…';
    };
  }

  async function refresh() {
    try {
      run = await api.getRun(runId);
    } catch (error) {
      if (!disposed) connection.textContent = `Could not refresh the run: ${describeError(error)}`;
      return;
    }
    if (disposed) return;
    renderHead();
    renderProgress();
    renderStages();
    if (run.status === 'completed') void renderResults(run);
    else if (TERMINAL.has(run.status)) void renderResults(run, false);
  }

  async function cancel() {
    cancelButton.disabled = true;
    try {
      run = await api.cancel(runId);
      renderHead();
      renderProgress();
    } catch (error) {
      replaceChildren(errorHost, errorBox('Could not cancel the run', describeError(error)));
    } finally {
      cancelButton.disabled = false;
    }
  }

  async function renderResults(done: Run, withScene = true) {
    if (resultsShown) return;
    resultsShown = true;
    const parts: HTMLElement[] = [];
    const hasSplats = SPLAT_FORMATS.some((format) => done.artifacts[format.kind]);
    // Spark (with its WebAssembly) is most of the app's weight: loaded only for runs with splats.
    if (withScene && hasSplats) parts.push((await import('../splat-section.ts')).splatSection(done, (created) => (splatViewer = created)));
    else if (withScene && done.artifacts.glb) parts.push(viewerSection(done));
    parts.push(downloadsSection(done));
    parts.push(await rerunSection(done));
    if (!disposed) replaceChildren(resultHost, parts);
  }

  function viewerSection(done: Run): HTMLElement {
    const stage = h('div', { class: 'viewer-canvas', 'data-state': 'loading' });
    const status = h('p', { class: 'viewer-status', role: 'status' }, 'Loading the scene…');
    const sizeInput = h('input', { type: 'range', id: 'point-size', min: 1, max: 8, step: 0.5, value: '2' });
    const sizeOut = h('output', { for: 'point-size', class: 'muted small' }, '2 px');
    const cameraList = h('ul', { class: 'camera-list', 'aria-label': 'Cameras' }, h('li', { class: 'muted small' }, 'Loading cameras…'));
    const photo = h('figure', { class: 'camera-photo', hidden: true });
    let cameras: CameraInfo[] = [];
    const resetButton = h('button', { type: 'button', class: 'button-quiet', disabled: true, onclick: () => viewer?.resetView() }, 'Reset view');
    sizeInput.addEventListener('input', () => {
      viewer?.setPointSize(Number(sizeInput.value));
      sizeOut.textContent = `${sizeInput.value} px`;
    });

    const select = (camera: CameraInfo, button: HTMLButtonElement) => {
      for (const other of cameraList.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
      viewer?.flyTo(camera);
      const name = camera.imageName ?? done.images[camera.index];
      const img = name ? h('img', { alt: `Photo ${name}, taken by camera ${camera.index + 1}` }) : null;
      replaceChildren(
        photo,
        img,
        h('figcaption', null, `Camera ${camera.index + 1}`, name ? h('span', { class: 'mono' }, ` · ${name}`) : null),
      );
      photo.hidden = false;
      photoFetch?.abort();
      if (!img || !name) return;
      const fetching = new AbortController();
      photoFetch = fetching;
      api
        .imageObjectUrl(done.runId, name, fetching.signal)
        .then((url) => {
          if (fetching.signal.aborted || disposed) return URL.revokeObjectURL(url);
          if (photoUrl) URL.revokeObjectURL(photoUrl);
          photoUrl = url;
          img.src = url;
        })
        .catch((error) => {
          if (fetching.signal.aborted) return;
          img.replaceWith(h('p', { class: 'muted small' }, `The photo could not be loaded: ${describeError(error)}`));
        });
    };

    queueMicrotask(async () => {
      try {
        viewer = new SceneViewer(stage);
      } catch {
        stage.dataset.state = 'error';
        replaceChildren(status, 'This browser cannot show 3D scenes (WebGL is unavailable). The downloads below still work.');
        return;
      }
      const [scene, cams] = await Promise.allSettled([viewer.load(done.artifacts.glb!, api.authHeaders()), api.cameras(done.runId)]);
      if (disposed) return;
      if (cams.status === 'fulfilled') {
        cameras = cams.value.cameras;
        replaceChildren(
          cameraList,
          cameras.map((camera) => {
            const name = camera.imageName ?? done.images[camera.index];
            const button: HTMLButtonElement = h(
              'button',
              { type: 'button', class: 'camera-button', 'aria-pressed': 'false', onclick: () => select(camera, button) },
              h('span', { class: 'camera-index' }, String(camera.index + 1)),
              h('span', { class: 'camera-name' }, name ?? `Camera ${camera.index + 1}`),
            );
            return h('li', null, button);
          }),
        );
      } else replaceChildren(cameraList, h('li', { class: 'muted small' }, `No cameras: ${describeError(cams.reason)}`));
      if (scene.status === 'fulfilled') {
        if (cameras[0]) viewer?.resetView(cameras[0]);
        stage.dataset.state = 'ready';
        stage.dataset.points = String(scene.value.points);
        resetButton.disabled = false;
        replaceChildren(status, `${scene.value.points.toLocaleString()} points · ${cameras.length} cameras`);
      } else {
        stage.dataset.state = 'error';
        replaceChildren(status, `The scene could not be shown: ${describeError(scene.reason)}`);
      }
    });

    return h(
      'section',
      { class: 'card viewer', 'aria-labelledby': 'viewer-heading' },
      h('div', { class: 'card-head' }, h('h2', { id: 'viewer-heading' }, 'Scene'), status),
      h(
        'div',
        { class: 'viewer-layout' },
        stage,
        h(
          'div',
          { class: 'viewer-side' },
          h('div', { class: 'field' }, h('label', { for: 'point-size' }, 'Point size ', sizeOut), sizeInput),
          resetButton,
          h('h3', null, 'Cameras'),
          h('p', { class: 'muted small' }, 'Choose one to see the scene from where its photo was taken.'),
          cameraList,
          photo,
        ),
      ),
    );
  }

  function downloadsSection(done: Run): HTMLElement {
    const downloadError = h('div', null);
    // A plain link cannot send the key: with one saved, fetch the file and save the blob.
    const downloadLink = (type: string, url: string) => {
      const label = ARTIFACT_LABELS[type] ?? type;
      const link = h('a', { class: 'button', href: url, download: '', 'data-artifact': type }, label);
      link.addEventListener('click', (event) => {
        if (!api.authHeaders().authorization || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        if (link.getAttribute('aria-busy') === 'true') return;
        link.setAttribute('aria-busy', 'true');
        link.textContent = `${label} · downloading…`;
        replaceChildren(downloadError);
        downloadFile(url)
          .catch((error) => replaceChildren(downloadError, errorBox(`Could not download ${label}`, describeError(error))))
          .finally(() => {
            link.removeAttribute('aria-busy');
            link.textContent = label;
          });
      });
      return link;
    };
    const available = Object.entries(done.artifacts);
    const missing = Object.entries(done.unavailableArtifacts ?? {});
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'downloads-heading' },
      h('h2', { id: 'downloads-heading' }, 'Downloads'),
      available.length
        ? h(
            'ul',
            { class: 'downloads' },
            available.map(([type, url]) => h('li', null, downloadLink(type, url))),
          )
        : h('p', { class: 'muted' }, 'This run produced no files.'),
      downloadError,
      missing.length
        ? h(
            'ul',
            { class: 'unavailable muted small' },
            missing.map(([type, reason]) => h('li', null, `${ARTIFACT_LABELS[type] ?? type}: not available — ${reason}`)),
          )
        : null,
    );
  }

  async function rerunSection(done: Run): Promise<HTMLElement> {
    const section = h('section', { class: 'card', 'aria-labelledby': 'rerun-heading' });
    const engines = await api.engines().catch(() => undefined);
    const engine = engines?.engines.find((e) => e.id === done.engine);
    if (!engine) {
      return h('section', { class: 'card' }, h('h2', null, 'Run again'), h('p', { class: 'muted' }, `The ${done.engine} engine is not offered by this server.`));
    }
    const form = settingsForm(engine.settingsSchema, done.settings);
    const errors = h('div', null);
    // A run of several stages can start again from any of them, reusing what the earlier ones made.
    const fromStage =
      done.stages.length > 1
        ? h(
            'select',
            { id: 'rerun-from-stage', name: 'fromStage' },
            h('option', { value: '' }, 'The first stage (everything again)'),
            done.stages.slice(1).map((stage) => h('option', { value: stage.name, disabled: !done.stages.slice(0, done.stages.indexOf(stage)).every((s) => s.status === 'completed' || s.status === 'reused') }, stage.name)),
          )
        : null;
    const submit = h('button', { type: 'submit', class: 'button-primary' }, 'Run again with these settings');
    const element = h(
      'form',
      {
        onsubmit: async (event: SubmitEvent) => {
          event.preventDefault();
          if (!(event.target as HTMLFormElement).reportValidity()) return;
          submit.disabled = true;
          try {
            const from = fromStage?.value;
            const child = from ? await api.rerunFrom(done.runId, from, form.values()) : await api.rerun(done.runId, form.values());
            navigate(`/runs/${child.runId}`);
          } catch (error) {
            replaceChildren(errors, errorBox('Could not start the rerun', describeError(error)));
            submit.disabled = false;
          }
        },
      },
      fromStage
        ? h('div', { class: 'field' }, h('label', { for: 'rerun-from-stage' }, 'Run again from stage'), fromStage, h('p', { class: 'field-help' }, "The stages before it are not run again: their outputs are reused (their settings must stay as they were)."))
        : null,
      form.element,
      h('div', { class: 'form-actions' }, submit, errors),
    );
    section.append(
      h(
        'details',
        { class: 'rerun' },
        h('summary', null, h('h2', { id: 'rerun-heading' }, 'Run again with changed settings')),
        h('p', { class: 'muted small' }, `Same ${done.images.length} photos, same engine (${engine.title}); the new run links back to this one.`),
        element,
      ),
    );
    return section;
  }

  api
    .getRun(runId)
    .then((loaded) => {
      if (disposed) return;
      run = loaded;
      finishedOnLoad = TERMINAL.has(loaded.status);
      replaceChildren(
        host,
        h(
          'div',
          { class: 'page-head run-head' },
          h('div', null, h('p', { class: 'eyebrow' }, h('a', { href: '/runs' }, 'History'), ' / Run'), h('h1', { class: 'mono run-id' }, runId), meta),
          h('div', { class: 'run-actions' }, pill, cancelButton),
        ),
        errorHost,
        liveCard,
        resultHost,
        h(
          'section',
          { class: 'card', 'aria-labelledby': 'log-heading' },
          h('details', { open: !TERMINAL.has(loaded.status) }, h('summary', null, h('h2', { id: 'log-heading' }, 'Log'), ' ', logCount), logPre),
        ),
      );
      renderHead();
      renderProgress();
      renderStages();
      renderLog();
      if (loaded.artifacts['splat-preview'] && !TERMINAL.has(loaded.status)) refreshPreview(true);
      // The stream replays the whole history (stages, log) and then follows live.
      follow();
      if (TERMINAL.has(loaded.status)) void renderResults(loaded, loaded.status === 'completed');
    })
    .catch((error) => {
      document.title = 'Run not found · Recon';
      replaceChildren(
        host,
        h('h1', null, 'Run unavailable'),
        errorBox('Could not load this run', describeError(error), 'Check the address, or find the run in History.'),
        h('p', null, h('a', { href: '/runs' }, '← History')),
      );
    });

  return () => {
    disposed = true;
    source?.close();
    viewer?.dispose();
    splatViewer?.dispose();
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    photoFetch?.abort();
    if (photoUrl) URL.revokeObjectURL(photoUrl);
  };
};
