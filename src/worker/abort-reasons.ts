/** Why a worker aborted an engine: the worker decides what happens to the run from this. */
export class RunCanceled extends Error {
  constructor() {
    super('The run was canceled');
  }
}
export class WorkerShutdown extends Error {
  constructor() {
    super('The worker is shutting down');
  }
}
export class RunTimeLimit extends Error {
  readonly seconds: number;
  constructor(seconds: number) {
    super(`The run exceeded the maximum run time of ${seconds} s`);
    this.seconds = seconds;
  }
}
