import { EngineError } from '../engine.ts';
import type { ErrorMessage } from './protocol.ts';

const INSTALL_HINT =
  'On the GPU machine: python3 -m venv ~/vggt && ~/vggt/bin/pip install torch torchvision && ~/vggt/bin/pip install git+https://github.com/facebookresearch/vggt, then set VGGT_PYTHON=~/vggt/bin/python (see the README, "VGGT on your own GPU")';

/** What each error kind of the worker means for the run: the message, a hint, and whether to retry. */
export function workerError(error: ErrorMessage, context: { images: number }): EngineError {
  switch (error.kind) {
    case 'oom':
      return new EngineError(error.message, {
        hint: `The GPU ran out of memory with ${context.images} images. Use fewer or smaller images (VGGT's memory grows with the image count), split the photos into several runs, or use a GPU with more memory`,
      });
    case 'no_torch':
    case 'no_vggt':
    case 'no_numpy':
      return new EngineError(error.message, { hint: INSTALL_HINT });
    case 'no_cuda':
      return new EngineError(error.message, {
        hint: 'Check nvidia-smi and that torch.cuda.is_available() is True in VGGT_PYTHON; set VGGT_ALLOW_CPU=1 only to try it slowly on the CPU',
      });
    case 'no_weights':
      return new EngineError(error.message, {
        hint: 'Set VGGT_WEIGHTS to a checkpoint file (e.g. model.pt from huggingface.co/facebook/VGGT-1B) or to a Hugging Face model id such as facebook/VGGT-1B',
      });
    case 'bad_input':
      return new EngineError(error.message, { hint: 'Upload JPEG or PNG photos that open in an image viewer' });
    default:
      return new EngineError(`The VGGT worker failed: ${error.message}`);
  }
}

export function pythonMissingError(python: string, cause: unknown): EngineError {
  return new EngineError(`Python was not found: VGGT_PYTHON is "${python}", which cannot be started`, {
    hint: 'Install python3 on the GPU machine, or set VGGT_PYTHON to the python of the environment that has torch and vggt',
    cause,
  });
}

export function notConfiguredError(): EngineError {
  return new EngineError('vggt-local is not configured on this worker: VGGT_WEIGHTS is not set', {
    hint: 'Set VGGT_WEIGHTS to a VGGT checkpoint file or a Hugging Face model id (facebook/VGGT-1B) on the GPU machine that runs this engine',
  });
}
