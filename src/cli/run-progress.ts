import type { RunStreamEvent, RunView, UploadProgress } from '../sdk/client.ts';
import { formatBytes } from '../sdk/format.ts';
import { formatDuration } from './format.ts';
import { ProgressLine } from './progress-bar.ts';

const STAGE_LABELS: Record<string, string> = { waiting: 'queued', starting: 'starting' };

/** A run of several stages names the stage with the engine's step (`train › training`). */
const labelOf = (step: string, pipelineStage: string | undefined) => (pipelineStage && step !== 'waiting' ? `${pipelineStage} › ${step}` : step);

/** Progress within the stage when the event says (runs of several stages), else the run's. */
const stageFraction = (event: { progress?: number; stageProgress?: number }) => event.stageProgress ?? event.progress;

/**
 * How `recon run`, `recon rerun` and `recon demo` show a run: an upload bar, then one bar per
 * engine stage that turns into a "✓ stage  time" line when the next stage starts, retries as
 * they happen, and the outcome.
 */
export class RunProgressDisplay {
  readonly #bar: ProgressLine;
  readonly #verbose: boolean;
  #stage: string | undefined;
  #stageStarted = 0;
  #uploadStarted = 0;
  #fraction: number | undefined = 0;
  #message = '';
  #ticker: ReturnType<typeof setInterval> | undefined;
  readonly #tty: boolean;
  #stages = false;

  constructor(options: { stream?: NodeJS.WriteStream; verbose?: boolean } = {}) {
    this.#bar = new ProgressLine(options.stream ?? process.stdout);
    this.#tty = (options.stream ?? process.stdout).isTTY === true;
    this.#verbose = options.verbose ?? false;
  }

  line(text: string) {
    this.#bar.log(text);
  }

  /** The run shown: one of several stages names its stage beside each engine step. */
  follow(run: Pick<RunView, 'stages'>) {
    this.#stages = run.stages.length > 1;
  }

  upload(progress: UploadProgress) {
    this.#uploadStarted ||= Date.now();
    const fraction = progress.total ? progress.loaded / progress.total : 0;
    this.#bar.update('upload', fraction, `${progress.filesDone}/${progress.files} files · ${formatBytes(progress.loaded)} of ${formatBytes(progress.total)}`);
  }

  uploaded(files: number, bytes: number) {
    const took = this.#uploadStarted ? Date.now() - this.#uploadStarted : 0;
    this.#bar.done(`  ✓ ${'upload'.padEnd(11)} ${files} images, ${formatBytes(bytes)} in ${formatDuration(took)}`);
  }

  event(event: RunStreamEvent) {
    switch (event.type) {
      case 'status':
        if (event.status === 'processing' || event.status === 'fetching') {
          const stage = labelOf(event.stage ?? event.status, this.#stages ? event.pipelineStage : undefined);
          this.#enter(stage, (this.#stages ? stageFraction(event) : event.progress) ?? (stage === this.#stage ? this.#fraction : undefined), event.message ?? '');
        } else if (event.status === 'completed') {
          this.#close('✓');
        } else if (event.status === 'failed' || event.status === 'canceled') {
          this.#close(event.status === 'failed' ? '✗' : '■');
        }
        return;
      case 'progress':
        this.#enter(labelOf(event.stage, this.#stages ? event.pipelineStage : undefined), this.#stages ? stageFraction(event) : event.progress, event.message ?? '');
        return;
      case 'stage':
        return;
      case 'retry':
        this.#close('↻');
        this.#bar.log(`  ↻ attempt ${event.nextAttempt} in ${formatDuration(event.delayMs)} after: ${event.error}`);
        return;
      case 'log':
        if (this.#verbose) for (const line of event.lines) this.#bar.log(`    │ ${line}`);
        return;
    }
  }

  /** Says that the stream could not be used and progress now comes from polling. */
  fallback(reason: Error) {
    this.#bar.log(`  (${reason.message}; polling instead)`);
  }

  /** Prints the outcome; returns the exit code (0 completed, 1 otherwise). */
  finish(run: RunView): number {
    this.#close(run.status === 'completed' ? '✓' : run.status === 'failed' ? '✗' : '■');
    const took = run.finishedAt ? ` in ${formatDuration(Date.parse(run.finishedAt) - Date.parse(run.requestedAt))}` : '';
    if (run.status === 'completed') {
      this.#bar.log(`\nRun ${run.runId} completed${took}.`);
      return 0;
    }
    if (run.status === 'failed') {
      this.#bar.log(`\nRun ${run.runId} failed${took}: ${run.error ?? 'no reason given'}`);
      if (run.errorHint) this.#bar.log(`Hint: ${run.errorHint}`);
      return 1;
    }
    this.#bar.log(`\nRun ${run.runId} was ${run.status}${run.message ? `: ${run.message}` : ''}.`);
    return 1;
  }

  #enter(stage: string, fraction: number | undefined, message: string) {
    if (stage !== this.#stage) {
      this.#close('✓');
      this.#stage = stage;
      this.#stageStarted = Date.now();
      // On a terminal the stage's clock ticks even while the engine is quiet (a long COLMAP matcher).
      if (this.#tty) {
        this.#ticker = setInterval(() => this.#render(), 1000);
        this.#ticker.unref();
      }
    }
    this.#fraction = fraction;
    this.#message = message || this.#message;
    this.#render();
  }

  #render() {
    if (!this.#stage) return;
    const label = STAGE_LABELS[this.#stage] ?? this.#stage;
    const elapsed = Math.floor((Date.now() - this.#stageStarted) / 1000);
    const clock = this.#tty ? `${Math.floor(elapsed / 60)}:${String(elapsed % 60).padStart(2, '0')}  ` : '';
    this.#bar.update(label, this.#fraction, `${clock}${this.#message}`);
  }

  #close(mark: string) {
    clearInterval(this.#ticker);
    if (!this.#stage) return;
    const label = STAGE_LABELS[this.#stage] ?? this.#stage;
    const took = formatDuration(Date.now() - this.#stageStarted);
    const detail = mark === '✓' ? took : `${took} at ${Math.round((this.#fraction ?? 0) * 100)}%${this.#message ? ` — ${this.#message}` : ''}`;
    this.#bar.done(`  ${mark} ${label.padEnd(this.#stage.includes('›') ? 24 : 11)} ${detail}`);
    this.#stage = undefined;
    this.#message = '';
  }
}
