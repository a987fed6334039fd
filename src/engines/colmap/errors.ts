import { EngineError } from '../engine.ts';
import type { ImageReadFailure } from './progress.ts';

export const NOT_INSTALLED = 'COLMAP is not installed — install it with apt-get install colmap';

export function notInstalledError(binary: string, cause: unknown): EngineError {
  return new EngineError(NOT_INSTALLED, {
    hint: `"${binary}" was not found; set COLMAP_BIN to the colmap executable if it lives outside PATH`,
    cause,
  });
}

export function timeoutError(timeoutSeconds: number): EngineError {
  return new EngineError(`COLMAP did not finish within ${timeoutSeconds} s, the run's timeoutSeconds setting`, {
    hint: 'Raise the timeoutSeconds setting, lower maxImageSize, or use matcher "sequential" for photos taken in order',
  });
}

export function unreadableImagesError(failures: ImageReadFailure[], total: number): EngineError {
  const list = failures.map((f) => `${f.name} (${f.reason.replace(/\.$/, '')})`).join(', ');
  const unreadable = failures.some((f) => /read/i.test(f.reason));
  return new EngineError(`COLMAP could not use ${failures.length} of ${total} images: ${list}`, {
    hint: unreadable
      ? 'The file is damaged or in a format COLMAP cannot read; re-export it as JPEG or PNG, or remove it from the run'
      : 'With singleCamera on, every photo must have the same size and come from the same camera; turn it off otherwise',
  });
}

export function registrationError(registered: number, total: number): EngineError {
  const what = registered < 2 ? `none of the ${total} images could be registered` : `only ${registered} of ${total} images could be registered`;
  return new EngineError(`COLMAP built no model: ${what} — the photos need more overlap`, {
    hint: 'Neighbouring photos should overlap by 60–80% and show textured surfaces from slightly different positions (not just turning on the spot); for video frames or long ordered sequences try matcher "sequential"',
  });
}

export function stepFailedError(command: string, code: number | null, signal: string | null, lastLines: string[]): EngineError {
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  const detail = lastLines.findLast((l) => /ERROR|error|Check failed/.test(l)) ?? lastLines.at(-1);
  return new EngineError(`COLMAP ${command} ${how}${detail ? `: ${detail.trim()}` : ''}`, {
    hint: 'The run log has COLMAP\'s full output',
  });
}
