"""The one setup step every reference script needs before importing torchvision or timm.

The pinned torchvision 0.28 is CUDA-built: its C extension does not load with the CPU torch, and its fake-op
registrations (torch.library.register_fake, raised when the returned decorator is applied) fail on import. This
makes register_fake and the decorator it returns ignore those failures; torchvision's pure-Python/PIL transforms and
timm then work. Call `tolerate_cuda_torchvision()` before importing torchvision or timm.
"""
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
