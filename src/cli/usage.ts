/** Help for each command (`recon <command> --help`). */
export const HELP = {
  run: `Usage: recon run <files|folders…> [options]

Upload images and reconstruct them. Folders contribute their .jpg/.png/.webp/.heic files.
Without RECON_URL an embedded server is started on RECON_DATA_DIR (default ./data) for the
duration of the command, and the command waits for the run.

Options:
  --engine ID          engine to use (see: recon engines); the server's default otherwise
  --set key=value      an engine setting; repeatable; numbers and true/false are typed
                       (e.g. --set confThreshold=45 --set maskSky=true)
  --webhook URL        POST the run's outcome to this URL (Standard Webhooks signed)
  --wait               follow the run with live progress until it finishes
  --out DIR            after success, download every artifact into DIR (implies --wait)
  -v, --verbose        also print the engine's log lines
  --json               print only JSON (the run) for scripts
  -h, --help

Exit codes: 0 completed (or queued without --wait), 1 failed or canceled, 2 usage error.`,

  rerun: `Usage: recon rerun <runId> [--set key=value …] [--engine ID] [--wait] [--out DIR] [--json]

Run the same images again as a new run; --set values are merged over the original settings.
Exit codes as for recon run.`,

  ls: `Usage: recon ls [--status S[,S…]] [--engine ID] [--limit N] [--offset N] [--json]

List runs, newest first. Statuses: queued, uploading, processing, fetching, completed, failed, canceled.`,

  status: `Usage: recon status <runId> [--json]

Show a run: status, stage and progress, settings, timings, error and hint, artifacts.
Exits 1 when the run failed.`,

  logs: `Usage: recon logs <runId> [-f] [--json]

Print the run's log lines and status changes. -f, --follow keeps following until the run
finishes (then exits 1 if it failed or was canceled). --json prints one event per line.`,

  download: `Usage: recon download <runId> [--type T[,T…]] [--out DIR|FILE] [--json]

Save artifacts (glb, predictions, colmap, ply, preview, sog). Without --type, every available
artifact. --out is a folder (default: the current one), or a file name when one type is asked.`,

  cancel: `Usage: recon cancel <runId> [--json]

Cancel a queued or running run.`,

  inspect: `Usage: recon inspect <file> [--json]

Summarise an .npz, a .glb or a COLMAP model folder.`,

  demo: `Usage: recon demo [--splat] [--exit]

Reconstruct the bundled photos (demo/photos) with COLMAP on an embedded server, with live
progress. With --splat, run the Gaussian splat pipeline on them instead (COLMAP, training on the
CPU with the quick preset, SOG/SPZ compression, metrics: a few minutes), to view in the browser.
In a terminal it keeps serving afterwards until Ctrl-C; --exit stops when done.`,
} as const;

/** Prints a help text; returns exit code 0. */
export function printHelp(text: string): number {
  console.log(text);
  return 0;
}
