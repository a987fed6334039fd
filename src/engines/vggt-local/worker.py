"""Recon's VGGT worker: loads VGGT once, then serves requests as JSON lines over stdio.

Started by Recon's vggt-local engine as `python3 worker.py --weights W [--allow-cpu]`
(or `--check` to report what is installed and exit). Protocol, one JSON object per line:

  in   {"type": "run", "id": ID, "images": [paths, sorted], "out": path}
       {"type": "shutdown"}
  out  {"type": "loading", "weights": W, "device": D}
       {"type": "ready", "loadSeconds": s, "device": D, "dtype": T, ...}
       {"type": "progress", "id": ID, "stage": S, "fraction": f, "message": M}
       {"type": "result", "id": ID, "path": P, "seconds": s, "frames": S, "height": H, "width": W}
       {"type": "error", "id": ID?, "kind": K, "message": M, "fatal": bool}

Error kinds: no_numpy, no_torch, no_cuda, no_vggt, no_weights, load_failed, oom,
bad_input, bad_request, failed. A fatal error is followed by exit.
"""

import json
import os
import sys
import time
import traceback

# The protocol owns the real stdout; anything else that prints (libraries, warnings, C code
# writing to fd 1) goes to stderr, which Recon records as log lines.
_protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr


def emit(message):
    _protocol.write(json.dumps(message) + "\n")
    _protocol.flush()


def fail(kind, message, request_id=None, fatal=False):
    out = {"type": "error", "kind": kind, "message": message, "fatal": fatal}
    if request_id is not None:
        out["id"] = request_id
    emit(out)
    if fatal:
        sys.exit(3)


def parse_args(argv):
    args = {"weights": os.environ.get("VGGT_WEIGHTS", ""), "allow_cpu": False, "check": False}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--weights" and i + 1 < len(argv):
            args["weights"] = argv[i + 1]
            i += 1
        elif arg == "--allow-cpu":
            args["allow_cpu"] = True
        elif arg == "--check":
            args["check"] = True
        i += 1
    return args


def looks_like_path(weights):
    """A local checkpoint, as opposed to a Hugging Face model id such as facebook/VGGT-1B."""
    return (
        os.path.exists(os.path.expanduser(weights))
        or weights.startswith((".", "~", "/"))
        or weights.endswith((".pt", ".pth", ".bin", ".safetensors"))
    )


def import_stack(allow_cpu):
    """Imports numpy, torch and vggt; returns (modules, device) or emits a fatal error."""
    try:
        import numpy  # noqa: F401
    except ImportError as e:
        fail("no_numpy", f"numpy is not installed for {sys.executable}: {e}", fatal=True)
    try:
        import torch
    except ImportError as e:
        fail(
            "no_torch",
            f"PyTorch is not installed for {sys.executable} ({e}). Install a CUDA build of torch "
            "into that Python, or point VGGT_PYTHON at a Python that has it.",
            fatal=True,
        )
    if torch.cuda.is_available():
        device = "cuda"
    elif allow_cpu:
        device = "cpu"
    else:
        fail(
            "no_cuda",
            f"CUDA is not available to torch {getattr(torch, '__version__', '?')} ({sys.executable}): "
            "no NVIDIA GPU is visible or torch is a CPU-only build. VGGT needs a GPU; "
            "set VGGT_ALLOW_CPU=1 to run it on the CPU anyway (very slow).",
            fatal=True,
        )
    try:
        from vggt.models.vggt import VGGT
        from vggt.utils.geometry import unproject_depth_map_to_point_map
        from vggt.utils.load_fn import load_and_preprocess_images
        from vggt.utils.pose_enc import pose_encoding_to_extri_intri
    except ImportError as e:
        fail(
            "no_vggt",
            f"The vggt package is not importable from {sys.executable} ({e}). Install it with "
            "pip install git+https://github.com/facebookresearch/vggt",
            fatal=True,
        )
    return {
        "torch": torch,
        "VGGT": VGGT,
        "unproject": unproject_depth_map_to_point_map,
        "load_images": load_and_preprocess_images,
        "pose_to_matrices": pose_encoding_to_extri_intri,
    }, device


def check(args):
    """One line saying what is missing, without loading the model."""
    report = {"type": "check", "python": sys.executable, "ok": True}
    try:
        import numpy

        report["numpy"] = numpy.__version__
    except ImportError:
        report.update(ok=False, kind="no_numpy", message=f"numpy is not installed for {sys.executable}")
        return emit(report)
    try:
        import torch

        report["torch"] = getattr(torch, "__version__", "?")
        report["cuda"] = bool(torch.cuda.is_available())
        if report["cuda"]:
            report["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        report.update(ok=False, kind="no_torch", message=f"PyTorch is not installed for {sys.executable}")
        return emit(report)
    if not report["cuda"] and not args["allow_cpu"]:
        report.update(ok=False, kind="no_cuda", message=f"torch {report['torch']} sees no CUDA GPU (set VGGT_ALLOW_CPU=1 to use the CPU)")
        return emit(report)
    try:
        import vggt  # noqa: F401
    except ImportError:
        report.update(ok=False, kind="no_vggt", message=f"the vggt package is not installed for {sys.executable}")
        return emit(report)
    weights = args["weights"]
    if not weights:
        report.update(ok=False, kind="no_weights", message="VGGT_WEIGHTS is not set")
    elif looks_like_path(weights) and not os.path.isfile(os.path.expanduser(weights)):
        report.update(ok=False, kind="no_weights", message=f"the weights file {weights} does not exist")
    emit(report)


def is_oom(torch, error):
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom_type is not None and isinstance(error, oom_type)) or "out of memory" in str(error).lower()


def load_model(stack, weights, device):
    torch, VGGT = stack["torch"], stack["VGGT"]
    if not weights:
        fail("no_weights", "VGGT_WEIGHTS is not set: give a checkpoint file (model.pt) or a Hugging Face model id (facebook/VGGT-1B)", fatal=True)
    emit({"type": "loading", "weights": weights, "device": device})
    started = time.time()
    try:
        if looks_like_path(weights):
            path = os.path.expanduser(weights)
            if not os.path.isfile(path):
                fail("no_weights", f"The VGGT weights file {weights} does not exist (VGGT_WEIGHTS)", fatal=True)
            if path.endswith(".safetensors"):
                from safetensors.torch import load_file

                state = load_file(path)
            else:
                state = torch.load(path, map_location="cpu")
            model = VGGT()
            model.load_state_dict(state)
        else:
            model = VGGT.from_pretrained(weights)
        model.eval()
        model = model.to(device)
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - every load failure is reported, then fatal
        traceback.print_exc()
        if is_oom(torch, e):
            fail("oom", f"Out of GPU memory while loading the VGGT weights: {e}", fatal=True)
        kind = "no_weights" if isinstance(e, (OSError, FileNotFoundError)) else "load_failed"
        fail(kind, f"Could not load the VGGT weights {weights}: {type(e).__name__}: {e}", fatal=True)
    load_seconds = time.time() - started
    if device == "cuda":
        dtype = torch.bfloat16 if torch.cuda.get_device_capability()[0] >= 8 else torch.float16
    else:
        dtype = None
    return model, dtype, load_seconds


def to_numpy(torch, value):
    if isinstance(value, torch.Tensor):
        # bf16 tensors have no numpy dtype; predictions are stored as float32 anyway.
        return value.detach().float().cpu().numpy()
    return value


def run_request(stack, model, device, dtype, request):
    import contextlib

    import numpy as np

    torch = stack["torch"]
    rid = request.get("id")
    images = request.get("images")
    out = request.get("out")
    if not isinstance(images, list) or not images or not isinstance(out, str):
        return fail("bad_request", "a run needs a non-empty 'images' list and an 'out' path", rid)
    started = time.time()

    def progress(stage, fraction, message=None):
        emit({"type": "progress", "id": rid, "stage": stage, "fraction": fraction, "message": message})

    progress("preprocessing", 0, f"Loading {len(images)} images")
    try:
        batch = stack["load_images"](images).to(device)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        return fail("bad_input", f"Could not read the images: {type(e).__name__}: {e}", rid)
    frames, height, width = int(batch.shape[0]), int(batch.shape[-2]), int(batch.shape[-1])
    precision = str(dtype).replace("torch.", "") if dtype is not None else "float32"
    progress("inference", 0, f"Running VGGT on {frames} images at {width}x{height} ({device}, {precision})")
    try:
        autocast = torch.autocast(device_type="cuda", dtype=dtype) if dtype is not None else contextlib.nullcontext()
        with torch.no_grad(), autocast:
            predictions = model(batch)
        extrinsic, intrinsic = stack["pose_to_matrices"](predictions["pose_enc"], batch.shape[-2:])
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        del batch
        if is_oom(torch, e):
            with contextlib.suppress(Exception):
                torch.cuda.empty_cache()
            return fail(
                "oom",
                f"Out of GPU memory running VGGT on {frames} images at {width}x{height}: {str(e).splitlines()[0]}",
                rid,
            )
        return fail("failed", f"VGGT failed: {type(e).__name__}: {e}", rid)
    progress("inference", 1, f"Inference took {time.time() - started:.1f} s")

    progress("exporting", 0, "Writing predictions.npz")
    predictions["extrinsic"] = extrinsic
    predictions["intrinsic"] = intrinsic
    arrays = {}
    for key, value in predictions.items():
        if key == "pose_enc_list":
            continue  # a list of tensors; upstream saves it pickled, which readers must skip anyway
        value = to_numpy(torch, value)
        if isinstance(value, np.ndarray):
            arrays[key] = value.squeeze(0).astype(np.float32)
    arrays["world_points_from_depth"] = np.asarray(
        stack["unproject"](arrays["depth"], arrays["extrinsic"], arrays["intrinsic"]), dtype=np.float32
    )
    del predictions, batch
    if device == "cuda":
        torch.cuda.empty_cache()
    tmp = out + ".partial"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, out)
    emit({
        "type": "result",
        "id": rid,
        "path": out,
        "seconds": time.time() - started,
        "frames": frames,
        "height": height,
        "width": width,
        "keys": sorted(arrays),
    })


def main():
    args = parse_args(sys.argv[1:])
    if args["check"]:
        return check(args)
    stack, device = import_stack(args["allow_cpu"])
    model, dtype, load_seconds = load_model(stack, args["weights"], device)
    torch = stack["torch"]
    ready = {"type": "ready", "loadSeconds": load_seconds, "device": device, "torch": getattr(torch, "__version__", "?")}
    ready["dtype"] = str(dtype).replace("torch.", "") if dtype is not None else "float32"
    if device == "cuda":
        ready["gpu"] = torch.cuda.get_device_name(0)
    emit(ready)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except ValueError as e:
            fail("bad_request", f"not JSON: {e}")
            continue
        if request.get("type") == "shutdown":
            break
        try:
            run_request(stack, model, device, dtype, request)
        except Exception as e:  # noqa: BLE001 - the worker stays up for the next request
            traceback.print_exc()
            fail("failed", f"{type(e).__name__}: {e}", request.get("id"))


if __name__ == "__main__":
    main()
