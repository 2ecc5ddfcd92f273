"""Whether reduced precision pays on the device in use.

``dtype="bfloat16"`` runs the frozen network under torch's autocast. It is about twice as fast
as float32 where the hardware computes in bfloat16 (x86 CPUs with the ``avx512_bf16`` or
``amx_bf16`` instructions: Intel Cooper Lake, Sapphire Rapids and later, AMD Zen 4 and later;
ARM CPUs with the ``bf16`` extension; NVIDIA GPUs from Ampere on). Elsewhere torch emulates
bfloat16 with conversions around float32 arithmetic; the featurizer then warns with
:class:`PrecisionWarning`.

Measured through the featurizer (CPU time, one thread, MiniLM-L6 texts and EfficientNet-Lite0
images; oneDNN, which runs the matrix products and convolutions, capped with
``ONEDNN_MAX_CPU_ISA`` on a CPU that has ``avx512_bf16``): bfloat16 ran at 1.7x (text) and 2.1x
(images) the speed of float32 with the bfloat16 instructions, 0.22x and 0.22x with AVX2 only,
and 0.45x and 1.3x with AVX-512 but no bfloat16 instructions. Capping torch's own kernels at
AVX2 (``ATEN_CPU_CAPABILITY=avx2``) kept the speed-up: what counts is what oneDNN can use.
"""

import functools
import os
import platform


class PrecisionWarning(UserWarning):
    """Warn that the precision asked for is likely slower than float32 on this device.

    Emitted for ``dtype="bfloat16"`` on a device without bfloat16 arithmetic; the features
    are computed as asked.
    """


def bfloat16_support(device):
    """Whether ``device`` computes in bfloat16 natively.

    Parameters
    ----------
    device : torch.device

    Returns
    -------
    native : bool or None
        True where bfloat16 is native (about 2x float32), False where torch emulates it
        (slower than float32), None where it cannot tell.
    found : str
        What was looked at, for a message.
    """
    import torch

    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        name = torch.cuda.get_device_name(index)
        if torch.version.hip:  # ROCm GPUs: not judged here
            return None, f"the GPU {name}"
        major, minor = torch.cuda.get_device_capability(index)
        return major >= 8, (
            f"the GPU {name} (compute capability {major}.{minor}; bfloat16 arithmetic needs "
            "8.0, Ampere, or later)"
        )
    if device.type == "cpu":
        return _cpu_bfloat16()
    return None, f"a {device.type} device"


@functools.cache
def _cpu_bfloat16():
    import torch

    machine = platform.machine().lower()
    capability = torch.backends.cpu.get_cpu_capability()
    flags = _cpu_flags()
    if machine in ("x86_64", "amd64", "i386", "i686"):
        try:  # torch's cpuinfo, on every operating system
            instructions = (
                torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
            )
        except AttributeError:
            instructions = None if flags is None else bool({"avx512_bf16", "amx_bf16"} & flags)
        isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
        # oneDNN runs the matrix products and convolutions, where the time goes; it may be
        # capped below the bfloat16 instructions
        capped = isa not in ("", "ALL", "DEFAULT") and not any(
            tag in isa for tag in ("BF16", "AMX", "AVX10", "FP16")
        )
        found = (
            f"the CPU ({'with' if instructions else 'without'} avx512_bf16 or amx_bf16 "
            f"instructions; torch's CPU capability {capability}"
            + (f"; ONEDNN_MAX_CPU_ISA={isa}" if isa else "")
            + ")"
        )
        if instructions is None:
            return None, found
        return bool(instructions) and not capped, found
    if machine in ("aarch64", "arm64"):
        if flags is None:
            return None, f"the {machine} CPU"
        native = "bf16" in flags
        return native, f"the {machine} CPU ({'with' if native else 'without'} the bf16 extension)"
    return None, f"the {machine or 'unknown'} CPU"


def _cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (Linux), or None."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip().lower() in ("flags", "features"):
                    return set(value.split())
    except OSError:
        pass
    return None
