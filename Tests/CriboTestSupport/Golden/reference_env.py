"""The one setup step every reference script needs before importing torchvision or timm.

The pinned torchvision 0.28 is CUDA-built: its C extension does not load with the CPU torch, and its fake-op
registrations (torch.library.register_fake, raised when the returned decorator is applied) fail on import. This
makes register_fake and the decorator it returns ignore those failures; torchvision's pure-Python/PIL transforms and
timm then work. Call `tolerate_cuda_torchvision()` before importing torchvision or timm.
"""
import json
import struct

import torch

_original_register_fake = torch.library.register_fake


def _tolerant_register_fake(*args, **kwargs):
    try:
        decorator = _original_register_fake(*args, **kwargs)
    except Exception:
        return lambda f: f
    if not callable(decorator):
        return decorator

    def apply(f):
        try:
            return decorator(f)
        except Exception:
            return f

    return apply


def tolerate_cuda_torchvision():
    """Installs the tolerant register_fake (idempotent)."""
    torch.library.register_fake = _tolerant_register_fake


def sort_safetensors_metadata(path):
    """Rewrites a safetensors file's JSON header with sorted __metadata__ keys (same byte length, tensors untouched).

    safetensors writes __metadata__ from a HashMap, so its key order varies run to run; sorted, reruns of a golden
    script are byte-identical."""
    with open(path, "r+b") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n).rstrip(b" "))
        if "__metadata__" not in header:
            return
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        new = json.dumps(header, separators=(",", ":")).encode()
        assert len(new) <= n
        f.seek(8)
        f.write(new + b" " * (n - len(new)))
