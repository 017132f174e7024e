"""The allow-list: every name a spec may reach, and nothing else.

A spec's expressions see a fixed namespace (module aliases, a few safe builtins, the engine's
helpers) plus its own variables.  Attribute access is checked twice: statically at load time for
chains that start at a module alias (so `torch.frobnicate` is a load error), and at run time for
every attribute of every value (so no value can lead to `os`, a dunder, or a file-writing function).
"""

from __future__ import annotations

import builtins
import importlib
import types
from typing import Any

import numpy as np
import torch
import torch.nn
import torch.nn.functional
import torch.optim
import torch.utils.data

# Module aliases visible to specs.  torchvision is optional and resolved lazily.
MODULE_ALIASES: dict[str, str] = {
    "torch": "torch",
    "nn": "torch.nn",
    "F": "torch.nn.functional",
    "optim": "torch.optim",
    "np": "numpy",
    "torchvision": "torchvision",
}
ALLOWED_MODULE_ROOTS = ("torch", "numpy", "torchvision")

SAFE_BUILTINS = (
    "abs all any bool dict divmod enumerate float int isinstance len list max min range reversed "
    "round set slice sorted str sum tuple type zip True False None ArithmeticError AssertionError "
    "IndexError KeyError NotImplementedError OverflowError RuntimeError StopIteration TypeError "
    "ValueError ZeroDivisionError"
).split()

# Names that are obvious escape hatches get a specific message rather than "undefined".
FORBIDDEN_BUILTINS = {
    "eval", "exec", "open", "getattr", "setattr", "delattr", "compile", "globals", "locals",
    "vars", "input", "breakpoint", "__import__", "memoryview", "object", "help", "exit", "quit",
}

# Reading private attributes is refused except for these documented-enough internals.
ALLOWED_PRIVATE = {"_version", "_base", "_is_view"}

# Attribute names that touch files or deserialize, on any object.
DENIED_ATTRS = {"tofile", "dump", "dumps", "save", "load", "from_file", "load_library", "savez", "format", "format_map",
                # np.rec.fromfile reads files; profiler traces and file datapipes write/read paths
                "fromfile", "export_chrome_trace", "export_stacks", "export_memory_timeline",
                "open_files", "list_files", "save_image"}

# Submodules that load code, touch files, spawn processes or compile: refused even inside torch/numpy.
DENIED_MODULES = (
    "torch.hub", "torch.utils.cpp_extension", "torch.utils.model_zoo", "torch.package",
    "torch.multiprocessing", "torch.distributed", "torch.jit", "torch.onnx", "torch.export",
    "torch.library", "torch.utils.tensorboard", "torch.utils.benchmark", "torch.compiler",
    "torch._dynamo", "torch.fx", "torch.classes", "torch.ops", "numpy.ctypeslib", "numpy.lib",
    "numpy.f2py", "numpy.distutils", "numpy.testing",
    # collect_env.run() runs a shell command; the rest read or write files.
    "torch.utils.collect_env", "torch.utils.data.datapipes", "torch.profiler", "torch.autograd.profiler",
    "torch.cuda.tunable", "torch.cuda.gds", "torchvision.io", "torchvision.datasets",
)
DENIED_QUALNAMES = (
    "torch.save", "torch.load", "torch.from_file", "torch.compile", "numpy.load", "numpy.save",
    "numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "numpy.loadtxt", "numpy.genfromtxt",
    "numpy.fromfile", "numpy.memmap", "numpy.fromregex", "numpy.DataSource",
)


class NameRefused(Exception):
    """An attribute or name a spec may not use; the message says why."""


def _denied_objects() -> set[int]:
    ids = set()
    for qual in DENIED_QUALNAMES:
        mod, _, attr = qual.rpartition(".")
        obj = getattr(importlib.import_module(mod), attr, None)
        if obj is not None:
            ids.add(id(obj))
    return ids


_DENIED_IDS = _denied_objects()


def module_allowed(module: types.ModuleType) -> bool:
    name = module.__name__
    if name.split(".")[0] not in ALLOWED_MODULE_ROOTS:
        return False
    return not _denied_module_name(name)


def check_attr_name(name: str) -> None:
    if name.startswith("__"):
        raise NameRefused(f"dunder attribute {name!r} is not allowed in specs")
    if name.startswith("_") and name not in ALLOWED_PRIVATE:
        raise NameRefused(
            f"private attribute {name!r} is not allowed in specs (allowed: {sorted(ALLOWED_PRIVATE)})"
        )
    if name in DENIED_ATTRS:
        raise NameRefused(f"attribute {name!r} reads or writes files; use helpers.roundtrip instead")


def _denied_module_name(name: str) -> bool:
    return any(name == d or name.startswith(d + ".") for d in DENIED_MODULES)


def check_value(value: Any, where: str) -> Any:
    """Refuse values a spec must never hold: foreign modules and file/code-loading functions."""
    if isinstance(value, types.ModuleType) and not module_allowed(value):
        raise NameRefused(f"{where} is module {value.__name__!r}, which is outside the allow-list")
    # A function or class defined in a denied module stays denied when re-exported elsewhere
    # (torch.CompilationUnit is torch.jit's; torch.utils.data.IterDataPipe opens files by name).
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType) and \
            _denied_module_name(str(getattr(value, "__module__", None) or "")):
        raise NameRefused(f"{where} comes from {value.__module__!r}, which is outside the allow-list")
    if id(value) in _DENIED_IDS:
        raise NameRefused(f"{where} is not allowed in specs (it reads/writes files or loads code)")
    return value


def safe_getattr(obj: Any, name: str, where: str = "") -> Any:
    check_attr_name(name)
    return check_value(getattr(obj, name), where or name)


def resolve_alias(alias: str) -> Any:
    """Import the module behind an alias (ImportError for an optional one that is absent)."""
    return importlib.import_module(MODULE_ALIASES[alias])


def builtin_namespace() -> dict[str, Any]:
    return {name: getattr(builtins, name) for name in SAFE_BUILTINS}


# Imported for their side effect of making the submodules reachable as attributes.
_ = (np, torch.nn.functional, torch.optim, torch.utils.data)
