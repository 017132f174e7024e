"""Which devices a run targets, whether each is present, and whether a spec applies to it.

Any torch device string works (`cpu`, `cuda`, `cuda:1`, `meta`, `mps`, `xpu`, a PrivateUse1
backend's name).  An absent device is never a pass: its items are skipped with a reason that the
results and the report show as "not run".
"""

from __future__ import annotations

import functools
import platform
import shutil
import subprocess
from typing import Any

import torch

from conformance.engine import backends
from conformance.errors import UsageError

DEFAULT_DEVICES = ("cpu", "cuda")  # cuda is always listed so CPU-only runs show it as "not run"


class DeviceError(UsageError):
    """A device string torch does not know."""


def parse(option: str | None) -> list[str]:
    """`--device cpu,cuda:1` -> ['cpu', 'cuda:1'], validated as torch device strings."""
    if not option:
        return list(DEFAULT_DEVICES)
    out = []
    for part in option.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            torch.device(part)
        except (RuntimeError, ValueError) as e:
            raise DeviceError(f"--device: {part!r} is not a torch device string ({e})") from None
        if part not in out:
            out.append(part)
    if not out:
        raise DeviceError(f"--device: no device in {option!r}; expected e.g. cpu,cuda")
    return out


@functools.cache
def availability(device: str) -> tuple[bool, str]:
    """(available, reason-if-not).  Probing allocates one empty tensor on the device."""
    missing = backends.prepare(device)   # the backend's profile: environment, then its imports
    if missing:
        return False, missing
    d = torch.device(device)
    if d.type == "cpu" or d.type == "meta":
        return True, ""
    if d.type == "cuda":
        if not torch.cuda.is_available():
            return False, "cuda not available"
        if d.index is not None and d.index >= torch.cuda.device_count():
            return False, f"{device} not available (device_count={torch.cuda.device_count()})"
        return True, ""
    try:
        torch.empty(0, device=d)
    except Exception as e:  # noqa: BLE001 - any failure means the backend is not usable here
        return False, f"{device} not available ({type(e).__name__}: {str(e).splitlines()[0][:120]})"
    return True, ""


def applies(spec_devices: tuple[str, ...] | None, device: str) -> tuple[bool, str]:
    """Does a spec (its `devices:` list of types) apply to this device?"""
    dtype = torch.device(device).type
    if spec_devices is None:
        if dtype == "meta":
            return False, "not applicable: meta has no data; spec does not list meta"
        return True, ""
    if dtype in spec_devices or device in spec_devices:
        return True, ""
    return False, f"not applicable: spec applies to {', '.join(spec_devices)} only"


def _driver_version() -> str | None:
    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def describe(device: str) -> dict[str, Any]:
    """Facts about one device, shaped like an array-api dashboard `execution_target`."""
    d = torch.device(device)
    ok, reason = availability(device)
    info: dict[str, Any] = {"name": device, "type": d.type, "available": ok, "reason": reason or None}
    target = {"kind": d.type, "backend": "torch", "device_model": None, "runtime_version": None,
              "driver_version": None}
    if d.type == "cpu":
        target.update(kind="cpu", device_model=platform.processor() or platform.machine(),
                      runtime_version=torch.__version__)
    elif d.type == "cuda" and ok:
        idx = d.index if d.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        info["capability"] = f"{props.major}.{props.minor}"
        info["memory_bytes"] = props.total_memory
        target.update(kind="gpu", device_model=props.name, runtime_version=torch.version.cuda,
                      driver_version=_driver_version())
    elif d.type == "cuda":
        target.update(kind="gpu", runtime_version=torch.version.cuda)
    else:
        # Any other backend describes itself in its profile (engine/backend_profiles/*.yaml).
        target.update({k: v for k, v in backends.describe_target(device).items() if v is not None})
    info["execution_target"] = target
    return info
