"""The allow-list: every object a spec may reach, and nothing else.

A spec's expressions see a fixed namespace (module aliases, a few safe builtins, the engine's
helpers) plus its own variables.  What they may reach is a *positive* list, built as data when the
engine is imported:

- modules: the namespaces in NAMESPACES (and the passage modules that lead to them), by identity;
- callables and classes: the public ones those namespaces define or re-export from torch/numpy
  (their `__module__` inside torch/numpy/torchvision, not in DENIED_ORIGINS), minus DENIED (file,
  process, code-loading and process-wide-state APIs), by identity;
- instances of allowed classes (tensors, arrays, modules, optimizers, ...), plain data, and
  containers whose elements are allowed (checked when they enter);
- members of allowed classes and objects: methods bound to an allowed object, unbound methods of an
  allowed class, when their name is public and not in DENIED_ATTRS.

Every value that enters a spec's variables or results from one of its expressions goes through
`check_value`; every attribute through `getattr_checked` (per kind of object: modules and classes
expose only what they define, functions and iterators expose nothing).  Anything else -- frames,
code, tracebacks, cells, generators' internals, foreign functions re-exported inside torch, loaders,
ctypes objects, classes not on the list -- is refused with NameRefused: at load time when the chain
is static (`torch.xpu.cast`), at run time otherwise.
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import functools
import importlib
import importlib.util
import re
import sys
import types
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.autograd.functional
import torch.autograd.graph
import torch.nn
import torch.nn.functional
import torch.nn.init
import torch.nn.utils
import torch.nn.utils.parametrizations
import torch.nn.utils.parametrize
import torch.nn.utils.rnn
import torch.optim
import torch.optim.lr_scheduler
import torch.testing
import torch.utils.data
import torch.utils.hooks
from torch.utils.data.dataloader import _BaseDataLoaderIter

from conformance.lang import helpers

try:  # the regex parser of the standard library (sre_parse before 3.11)
    from re import _constants as re_constants  # type: ignore[attr-defined]
    from re import _parser as re_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as re_constants  # type: ignore[no-redef]
    import sre_parse as re_parser  # type: ignore[no-redef]

_REPEATS = (re_constants.MAX_REPEAT, re_constants.MIN_REPEAT) + tuple(
    getattr(re_constants, n) for n in ("POSSESSIVE_REPEAT",) if hasattr(re_constants, n))

# -- the namespaces --------------------------------------------------------------------------------

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

# The namespaces whose public callables and classes specs may use.  None: every public callable
# and class the module holds (less DENIED and foreign ones); a tuple: only those names.
NAMESPACES: dict[str, tuple[str, ...] | None] = {
    "torch": None,
    "torch.nn": None,
    "torch.nn.functional": None,
    "torch.nn.init": None,
    "torch.nn.utils": None,
    "torch.nn.utils.rnn": None,
    "torch.nn.utils.parametrize": None,
    "torch.nn.utils.parametrizations": None,
    "torch.optim": None,
    "torch.optim.lr_scheduler": None,
    "torch.utils.data": None,
    "torch.linalg": None,
    "torch.fft": None,
    "torch.special": None,
    "torch.random": None,
    "torch.return_types": None,
    "torch.autograd": None,
    "torch.autograd.functional": None,
    "torch.autograd.graph": ("Node", "GradientEdge", "get_gradient_edge", "increment_version",
                             "saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks",
                             "register_multi_grad_hook", "allow_mutation_on_saved_tensors"),
    "torch.autograd.gradcheck": ("gradcheck", "gradgradcheck"),
    "torch.testing": ("assert_close", "assert_allclose", "make_tensor"),
    "torch.cuda": ("is_available", "device_count", "current_device", "synchronize", "get_device_name",
                   "get_device_capability", "get_device_properties", "is_bf16_supported", "is_tf32_supported",
                   "is_initialized", "device", "device_of", "Stream", "Event", "stream", "current_stream",
                   "default_stream", "manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed",
                   "get_rng_state", "set_rng_state", "memory_allocated", "max_memory_allocated",
                   "memory_reserved", "max_memory_reserved", "reset_peak_memory_stats", "empty_cache",
                   "mem_get_info", "OutOfMemoryError", "BoolTensor", "ByteTensor", "CharTensor", "ShortTensor",
                   "IntTensor", "LongTensor", "HalfTensor", "BFloat16Tensor", "FloatTensor", "DoubleTensor"),
    "numpy": None,
    "numpy.linalg": None,
    "numpy.fft": None,
    "numpy.random": None,
    "numpy.polynomial": None,
    "numpy.polynomial.polynomial": None,
    "numpy.polynomial.legendre": None,
    "numpy.polynomial.chebyshev": None,
    "numpy.polynomial.hermite": None,
    "numpy.polynomial.hermite_e": None,
    "numpy.polynomial.laguerre": None,
    "torchvision": (),
    "torchvision.transforms": None,
    "torchvision.transforms.functional": None,
    "torchvision.ops": None,
}
# Modules a spec may walk through to reach a namespace, with nothing callable of their own.
PASSAGES = ("torch.utils",)

# The classes of the `torch` namespace itself: documented types only (torch also re-exports JIT,
# file-reader and benchmark classes from torch._C under the same module name).
TORCH_CLASSES = (
    "Tensor", "Size", "dtype", "device", "layout", "memory_format", "qscheme", "finfo", "iinfo",
    "Generator", "Stream", "Event", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
    "autocast", "SymInt", "SymFloat", "SymBool", "TypedStorage", "UntypedStorage", "Storage",
    "AcceleratorError", "OutOfMemoryError", "GradScaler",
    "BoolTensor", "ByteTensor", "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "HalfTensor",
    "BFloat16Tensor", "FloatTensor", "DoubleTensor",
    "BoolStorage", "ByteStorage", "CharStorage", "ShortStorage", "IntStorage", "LongStorage",
    "HalfStorage", "BFloat16Storage", "FloatStorage", "DoubleStorage", "ComplexFloatStorage",
    "ComplexDoubleStorage",
)

_IO = "reads or writes files; use helpers.roundtrip instead"
_CODE = "compiles or loads code, or runs it in another thread or process: not allowed in specs"
_STATE = "changes process-wide state that would leak into later specs: not allowed in specs"
_OUTPUT = "prints or inspects the installation: not allowed in specs"

# Inside the namespaces: callables and classes that are public but not for specs, with the reason.
DENIED: dict[str, str] = {
    **{f"torch.{n}": _IO for n in ("save", "load", "from_file")},
    **{f"torch.{n}": _CODE for n in (
        "compile", "fork", "wait", "parse_ir", "parse_schema", "parse_type_comment", "import_ir_module",
        "import_ir_module_from_buffer", "merge_type_from_type_comment", "unify_type_list", "vmap",
        "cond", "while_loop", "get_device_module", "get_file_path", "prepare_multiprocessing_environment",
        "profiler_allow_cudagraph_cupti_lazy_reinit_cuda12", "classproperty", "read_vitals",
        "vitals_enabled", "set_vital", "thread_safe_generator")},
    **{f"torch.{n}": _STATE for n in (
        "set_num_threads", "set_num_interop_threads", "init_num_threads", "set_printoptions",
        "set_flush_denormal", "set_default_tensor_type", "set_autocast_enabled", "set_autocast_dtype",
        "set_autocast_cpu_enabled", "set_autocast_cpu_dtype", "set_autocast_gpu_dtype",
        "set_autocast_ipu_enabled", "set_autocast_ipu_dtype", "set_autocast_xla_enabled",
        "set_autocast_xla_dtype", "set_autocast_cache_enabled", "clear_autocast_cache",
        "autocast_increment_nesting", "autocast_decrement_nesting")},
    "torch.autograd.set_multithreading_enabled": _STATE,
    "torch.autograd.enforce_grad_layout_policy": _STATE,
    "torch.autograd.handle_torch_function": _CODE,
    "torch.utils.data.get_worker_info": _CODE,
    **{f"numpy.{n}": _IO for n in (
        "load", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt", "fromfile",
        "fromregex", "memmap", "DataSource")},
    **{f"numpy.{n}": _STATE for n in ("set_printoptions", "setbufsize", "seterrcall")},
    **{f"numpy.{n}": _OUTPUT for n in ("info", "show_config", "show_runtime", "test", "get_include")},
    "numpy.random.set_bit_generator": _STATE,
}

# Process-wide state a spec may change: the runner puts it back after every example (see
# conformance/engine/runner.py `GlobalState`).  RNG state needs no restoring: every example reseeds
# torch, and Hypothesis seeds and restores NumPy's global generator around each test.
RESTORED_STATE = (
    "torch.set_default_dtype", "torch.set_default_device", "torch.set_grad_enabled",
    "torch.set_anomaly_enabled", "torch.autograd.set_detect_anomaly", "torch.use_deterministic_algorithms",
    "torch.set_deterministic_debug_mode", "torch.set_float32_matmul_precision", "torch.set_warn_always",
    "numpy.seterr",
)

# Functions and classes whose defining module is one of these are refused wherever they are re-exported.
DENIED_ORIGINS = (
    "torch.hub", "torch.utils.cpp_extension", "torch.utils.model_zoo", "torch.package",
    "torch.multiprocessing", "torch.distributed", "torch.jit", "torch.onnx", "torch.export",
    "torch.library", "torch.utils.tensorboard", "torch.utils.benchmark", "torch.compiler",
    "torch._dynamo", "torch._inductor", "torch._export", "torch.fx", "torch.classes", "torch.ops",
    "torch._ops", "torch.serialization", "torch._utils_internal", "torch._higher_order_ops",
    "torch._functorch", "torch.func", "torch.overrides", "torch.utils.collect_env",
    "torch.utils.data.datapipes", "torch.profiler", "torch.autograd.profiler", "torch._C._profiler",
    "torch.cuda.tunable", "torch.cuda.gds", "torch.cuda.memory", "torch.cuda._memory_viz", "torch.xpu",
    "torch.nn.parallel", "torch._tensor_str", "torch.utils._config_module", "torch.utils._content_store",
    "numpy.ctypeslib", "numpy.f2py", "numpy.distutils", "numpy.testing", "numpy._pytesttester",
    "numpy.lib._npyio_impl", "numpy.lib._datasource", "numpy.lib.format", "numpy.lib._utils_impl",
    "numpy.lib._stride_tricks_impl", "numpy.lib.stride_tricks", "numpy.rec",
    "torchvision.io", "torchvision.datasets", "torchvision.models", "torchvision.utils",
)

# Reading private attributes is refused except for these documented-enough internals.
ALLOWED_PRIVATE = {"_version", "_base", "_is_view"}

# Attribute names refused on every object: file and code access, and object internals that are
# neither dunder nor private (frames, code, globals of generators, tracebacks, Cython functions).
_IO_ATTRS = {"tofile", "dump", "dumps", "save", "load", "from_file", "load_library", "savez", "fromfile",
             "export_chrome_trace", "export_stacks", "export_memory_timeline", "open_files", "list_files",
             "save_image"}
_FORMAT_ATTRS = {"format", "format_map"}  # str.format reads attributes: "{0.__class__}".format(x)
_INTERNAL_ATTRS = {
    "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended", "cr_frame", "cr_code", "cr_await",
    "cr_origin", "ag_frame", "ag_code", "ag_await", "f_globals", "f_builtins", "f_back", "f_locals", "f_code",
    "f_trace", "f_lineno", "tb_frame", "tb_next", "tb_lasti", "func_globals", "func_code", "func_closure",
    "func_dict", "func_defaults", "im_func", "im_self", "im_class", "mro", "ctypes", "cffi", "capsule",
    "compile",
}
DENIED_ATTRS = _IO_ATTRS | _FORMAT_ATTRS | _INTERNAL_ATTRS
# Methods that break memory safety on some types: shrinking a storage (or, for ndarrays, resizing
# without the reference check) leaves tensors and views pointing at freed memory.
_MEMORY_UNSAFE: dict[type, frozenset[str]] = {
    torch.UntypedStorage: frozenset({"resize_"}),
    torch.TypedStorage: frozenset({"resize_"}),
    torch._C.StorageBase: frozenset({"resize_"}),
    np.ndarray: frozenset({"resize"}),
}

SAFE_BUILTINS = (
    "abs all any bool complex dict divmod enumerate filter float frozenset int isinstance len list map max "
    "min pow range reversed round set slice sorted str sum tuple type zip True False None ArithmeticError "
    "AssertionError IndexError KeyError NotImplementedError OverflowError RuntimeError StopIteration "
    "TypeError ValueError ZeroDivisionError"
).split()

# Names that are obvious escape hatches get a specific message rather than "undefined".
FORBIDDEN_BUILTINS = {
    "eval", "exec", "open", "getattr", "setattr", "delattr", "compile", "globals", "locals",
    "vars", "input", "breakpoint", "__import__", "memoryview", "object", "help", "exit", "quit",
    "dir", "iter", "next", "super", "classmethod", "staticmethod", "property", "id", "hasattr",
    "callable", "print", "bytes", "bytearray", "format", "repr", "ascii", "chr", "ord", "hash",
}

MAX_WORKERS = 8               # DataLoader worker processes per loader
MAX_INT_BITS = 1 << 20        # a Python int larger than this (~315,000 digits) is a resource bomb


class NameRefused(Exception):
    """A name, attribute or value a spec may not use; the message says why."""


class BudgetExceeded(NameRefused):
    """A spec ran past its per-example operation budget or built an oversized value."""


def _refuse(what: str, value: Any, why: str = "") -> NameRefused:
    kind = "module" if isinstance(value, types.ModuleType) else type(value).__name__
    return NameRefused(f"spec refused: {what} ({kind}) is not on the allow-list" + (f": {why}" if why else ""))


def _root(module_name: Any) -> str:
    return module_name.split(".")[0] if isinstance(module_name, str) else ""


def _under(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def denied_origin(obj: Any) -> str | None:
    """The denied module an object was defined in, if any."""
    mod = getattr(obj, "__module__", None) if not isinstance(obj, types.ModuleType) else obj.__name__
    if isinstance(mod, str) and _under(mod, DENIED_ORIGINS):
        return mod
    return None


# -- the guarded builtins --------------------------------------------------------------------------

class _TypeOf:
    """`type(x)` with one argument only: the three-argument form builds a class from a dict literal."""

    __slots__ = ()

    def __call__(self, obj: Any, *rest: Any, **kw: Any) -> Any:
        if rest or kw:
            raise NameRefused("spec refused: type() with three arguments builds a class; only type(x) is allowed")
        return check_value(type(obj), f"type({type(obj).__name__} value)")

    def __instancecheck__(self, obj: Any) -> bool:  # isinstance(x, type) keeps working
        return isinstance(obj, type)

    def __repr__(self) -> str:
        return "<built-in type (one argument only)>"


def _pow(base: Any, exp: Any, mod: Any = None) -> Any:
    """pow(base, exp) with the same bound on integer size as `**`."""
    if mod is not None:
        raise NameRefused("spec refused: pow() with three arguments is not allowed; use (a ** b) % m")
    check_int_power(base, exp)
    return pow(base, exp)


_pow.__name__ = _pow.__qualname__ = "pow"
type_of = _TypeOf()


def check_int_power(base: Any, exp: Any) -> None:
    if type(base) in (int, bool) and type(exp) in (int, bool) and exp > 0 and abs(base) > 1:
        if base.bit_length() * exp > MAX_INT_BITS:
            raise BudgetExceeded(f"spec refused: {base} ** {exp} would have about {base.bit_length() * exp:,} bits "
                                 f"(limit {MAX_INT_BITS:,}): a resource bomb, not a behaviour")


def pattern_problem(pattern: Any) -> str | None:
    """Why a `match:` regex is unsafe to run on an error message (None when it is fine): invalid,
    very long, or shaped for catastrophic backtracking -- a repeat inside a repeat (`(a+)+`), an
    alternation inside a repeat (`(a|ab)*`), backreferences, or many unbounded repeats."""
    if not isinstance(pattern, str):
        return f"match must be a string, got {type(pattern).__name__}"
    if len(pattern) > 500:
        return f"match pattern is {len(pattern)} characters long (limit 500)"
    try:
        tree = re_parser.parse(pattern)
    except (re.error, RecursionError, OverflowError) as e:
        return f"invalid regular expression: {e}"
    unbounded = 0

    def walk(items: Any, inside_repeat: bool) -> str | None:
        nonlocal unbounded
        for op, arg in items:
            if op in _REPEATS:
                lo, hi, sub = arg
                many = hi == re_constants.MAXREPEAT or hi > 100
                if many and inside_repeat:
                    return "a repeat inside a repeat (like (a+)+) can backtrack catastrophically"
                unbounded += hi == re_constants.MAXREPEAT
                found = walk(sub, inside_repeat or many)
            elif op is re_constants.BRANCH:
                if inside_repeat:
                    return "an alternation inside a repeat (like (a|ab)*) can backtrack catastrophically"
                found = next((f for b in arg[1] if (f := walk(b, inside_repeat))), None)
            elif op is re_constants.SUBPATTERN:
                found = walk(arg[-1], inside_repeat)
            elif op in (re_constants.ASSERT, re_constants.ASSERT_NOT):
                found = walk(arg[1], inside_repeat)
            elif op in (re_constants.GROUPREF, re_constants.GROUPREF_EXISTS):
                found = "backreferences are not allowed in match patterns"
            else:
                found = None
            if found:
                return found
        return None

    found = walk(tree, False)
    if found is None and unbounded > 3:
        found = f"{unbounded} unbounded repeats (limit 3) can backtrack polynomially on a long message"
    return found


def builtin_namespace() -> dict[str, Any]:
    ns = {name: getattr(builtins, name) for name in SAFE_BUILTINS}
    ns["type"], ns["pow"] = type_of, _pow
    return ns


# -- the per-example budget ----------------------------------------------------------------------------

MAX_OPS = 1_000_000   # loop iterations + comprehension items + consumed/repeated items, per example


class Budget:
    """What one example may spend: loop iterations, comprehension items, the items of iterators and
    ranges handed to functions, and the sizes of sequences built by repetition or concatenation.
    Each example starts with a fresh one, so nested loops are bounded by their product."""

    __slots__ = ("left",)

    def __init__(self, limit: int = MAX_OPS):
        self.left = limit

    def charge(self, n: int, what: str) -> None:
        self.left -= n
        if self.left < 0:
            raise BudgetExceeded(f"spec refused: {what} ran past the budget of {MAX_OPS:,} operations per example "
                                 f"(loop iterations, comprehension items, consumed or repeated items): "
                                 f"a resource bomb or a spec bug")


class CheckedIter:
    """An iterator handed to a function: every item is charged to the budget and checked as it comes out."""

    __slots__ = ("_it", "_budget", "_where")

    def __init__(self, iterable: Any, budget: Budget, where: str):
        self._it, self._budget, self._where = iter(iterable), budget, where

    def __iter__(self) -> CheckedIter:
        return self

    def __next__(self) -> Any:
        value = next(self._it)
        self._budget.charge(1, self._where)
        return check_value(value, self._where)


# -- the allow-list, built once ------------------------------------------------------------------

_PLAIN = (int, float, complex, bool, str, bytes, type(None), type(Ellipsis), type(NotImplemented), slice, range,
          torch.dtype, torch.device, torch.layout, torch.memory_format, torch.qscheme, torch.finfo, torch.iinfo)
_SEQUENCES = (list, tuple, set, frozenset, torch.Size)
_MAPPINGS = (dict, collections.OrderedDict, collections.defaultdict)
# Iterators: allowed as values (their items are checked as they come out), no attributes at all.
_ITERATOR_SAMPLES: tuple[Any, ...] = (
    iter([]), iter(()), iter(range(0)), iter(set()), iter({}), iter({}.values()), iter({}.items()), iter(""),
    iter(b""), reversed([]), reversed(range(0)), reversed({}), zip(), map(abs, ()), filter(None, ()),
    enumerate(()), (_v for _v in range(0)), {}.keys(), {}.values(), {}.items(), iter(np.zeros(1)),
    iter(collections.OrderedDict()), reversed(collections.OrderedDict()),
)
_LAZY: tuple[type, ...] = tuple({type(v) for v in _ITERATOR_SAMPLES}
                                | {contextlib._GeneratorContextManager, _BaseDataLoaderIter, CheckedIter})
# Instances of these (and of every allowed class) are allowed.
INSTANCE_BASES: tuple[type, ...] = (
    torch.Tensor, np.ndarray, np.generic, np.dtype, torch.nn.Module, torch.optim.Optimizer,
    torch.optim.lr_scheduler.LRScheduler, torch.utils.data.Dataset, torch.utils.data.Sampler,
    torch.utils.data.DataLoader, torch.autograd.graph.Node, torch.utils.hooks.RemovableHandle,
    torch.Generator, torch.UntypedStorage, torch.TypedStorage, np.random.Generator, np.random.BitGenerator,
    np.random.RandomState, np.ufunc,
)
# Function-like objects: allowed by identity (on the list) or as members of allowed classes/objects.
_DESCRIPTORS = (types.MethodDescriptorType, types.ClassMethodDescriptorType, types.WrapperDescriptorType,
                types.GetSetDescriptorType, types.MemberDescriptorType)
_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.MethodWrapperType,
              functools.partial, type(np.sum), type(np.random.default_rng), functools._lru_cache_wrapper,
              staticmethod, classmethod, property) + _DESCRIPTORS
# Attributes readable on some callables (ufunc methods); every other callable exposes none.
_UFUNC_ATTRS = {"reduce", "accumulate", "reduceat", "outer", "at", "nin", "nout", "nargs", "ntypes", "types",
                "identity", "signature"}
_MUTABLE_CONTAINERS = (list, dict, set, bytearray, collections.OrderedDict, collections.defaultdict,
                       collections.deque)


class AllowList:
    """The allow-list as data: modules, callables and classes by identity, with where each came from."""

    def __init__(self) -> None:
        self.modules: dict[int, types.ModuleType] = {}
        self.callables: dict[int, tuple[Any, str]] = {}
        self.types: dict[int, tuple[type, str]] = {}
        self.denied: dict[int, tuple[Any, str, str]] = {}      # id -> (object, qualname, reason)
        self.bindings: set[tuple[int, str]] = set()            # (module id, name) of allowed members
        self.shape: dict[str, dict[str, int]] = {}
        self._keep: list[Any] = []

    def add_module(self, name: str, spec: tuple[str, ...] | None) -> None:
        module = sys.modules.get(name)
        if module is None:
            return
        self.modules[id(module)] = module
        if spec is None:
            names = [n for n in vars(module) if not n.startswith("_")]
        else:
            names = list(spec)
        counts = {"callables": 0, "classes": 0, "denied": 0, "foreign": 0, "other": 0}
        for n in names:
            obj = vars(module).get(n, None)
            if obj is None or isinstance(obj, types.ModuleType):
                continue
            qual = f"{name}.{n}"
            if qual in DENIED or id(obj) in self.denied:   # refused under any name it is re-exported as
                self.denied.setdefault(id(obj), (obj, qual, DENIED.get(qual, "")))
                counts["denied"] += 1
                continue
            if isinstance(obj, type):
                if not self._own(obj):
                    counts["foreign"] += 1
                elif name == "torch" and n not in TORCH_CLASSES:
                    counts["other"] += 1        # JIT, file-reader and benchmark classes of torch._C
                else:
                    self.types.setdefault(id(obj), (obj, qual))
                    self.bindings.add((id(module), n))
                    counts["classes"] += 1
            elif callable(obj):
                if not self._own(obj):
                    counts["foreign"] += 1
                elif type(obj) not in _FUNCTIONS and not isinstance(obj, np.ufunc):
                    counts["other"] += 1        # callable objects (numpy's test runner, torch.ops packets)
                else:
                    self.callables.setdefault(id(obj), (obj, qual))
                    self.bindings.add((id(module), n))
                    counts["callables"] += 1
        self.shape[name] = counts

    @staticmethod
    def _own(obj: Any) -> bool:
        """Defined in torch/numpy/torchvision (not a foreign function re-exported there) and not denied."""
        mod = getattr(obj, "__module__", None)
        if mod is None and isinstance(obj, np.ufunc):
            return True
        return _root(mod) in ALLOWED_MODULE_ROOTS and denied_origin(obj) is None

    def add(self, obj: Any, qual: str) -> None:
        if isinstance(obj, type):
            self.types[id(obj)] = (obj, qual)
        else:
            self.callables[id(obj)] = (obj, qual)
        self._keep.append(obj)

    def has_callable(self, obj: Any) -> bool:
        entry = self.callables.get(id(obj))
        return entry is not None and entry[0] is obj

    def has_type(self, obj: Any) -> bool:
        entry = self.types.get(id(obj))
        return entry is not None and entry[0] is obj

    def has_module(self, obj: Any) -> bool:
        return self.modules.get(id(obj)) is obj


def _import_namespaces() -> None:
    """Import the allowed namespaces (the engine does; specs never import anything)."""
    for name in [*NAMESPACES, *PASSAGES]:
        if _root(name) == "torchvision" and importlib.util.find_spec("torchvision") is None:
            continue
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _build() -> AllowList:
    _import_namespaces()
    allow = AllowList()
    for name in PASSAGES:
        if name in sys.modules:
            allow.modules[id(sys.modules[name])] = sys.modules[name]
            allow.shape[name] = {"callables": 0, "classes": 0, "denied": 0, "foreign": 0, "other": 0}
    for name, spec in NAMESPACES.items():
        allow.add_module(name, spec)
    for name in SAFE_BUILTINS:
        obj = getattr(builtins, name)
        if name not in ("type", "pow") and (isinstance(obj, type) or callable(obj)):
            allow.add(obj, f"builtins.{name}")
    allow.add(type_of, "builtins.type")
    allow.add(_pow, "builtins.pow")
    for n in helpers.__all__:
        allow.add(getattr(helpers, n), f"helpers.{n}")
    allow.add(helpers.NAMESPACE.__class__, "helpers")
    allow.shape["builtins"] = {"callables": sum(1 for n in SAFE_BUILTINS if callable(getattr(builtins, n))
                                                and not isinstance(getattr(builtins, n), type)),
                               "classes": sum(1 for n in SAFE_BUILTINS if isinstance(getattr(builtins, n), type)),
                               "denied": 0, "foreign": 0, "other": 0}
    allow.shape["helpers"] = {"callables": sum(1 for n in helpers.__all__ if not isinstance(getattr(helpers, n), type)),
                              "classes": sum(1 for n in helpers.__all__ if isinstance(getattr(helpers, n), type)),
                              "denied": 0, "foreign": 0, "other": 0}
    return allow


ALLOW = _build()
_TRUSTED: dict[int, Any] = {}


def trust(obj: Any) -> None:
    """Allow a replacement of an allowed object made outside the sandbox (a fault of the catalogue, a
    backend shim, a test's monkeypatch): specs cannot install anything themselves."""
    _TRUSTED[id(obj)] = obj
    if isinstance(obj, type):
        _KIND.clear()


def _trusted(obj: Any) -> bool:
    return _TRUSTED.get(id(obj)) is obj


def shape() -> dict[str, dict[str, int]]:
    """How many callables and classes each namespace contributes (and how many it holds that are refused)."""
    return {k: dict(v) for k, v in ALLOW.shape.items()}


# Wrapper functions made by allowed decorators (`torch.no_grad()(f)`): allowed when what they wrap is.
def _probe() -> None:
    pass


_WRAPPER_CODES = {torch.no_grad()(_probe).__code__, torch.enable_grad()(_probe).__code__}


# -- classes: which are allowed, and what their members are ---------------------------------------

_MRO_CLOSURE: set[int] = set()


def _class_allowed(cls: type) -> bool:
    return ALLOW.has_type(cls) or _trusted(cls)


def _in_closure(cls: Any) -> bool:
    """Is `cls` an allowed class or a base of one (the owner of an inherited method)?"""
    if not _MRO_CLOSURE:
        for obj, _ in list(ALLOW.types.values()):
            _MRO_CLOSURE.update(id(c) for c in obj.__mro__)
        for base in INSTANCE_BASES + _SEQUENCES + _MAPPINGS + _PLAIN:
            _MRO_CLOSURE.update(id(c) for c in base.__mro__)
    return isinstance(cls, type) and (id(cls) in _MRO_CLOSURE or _instance_type_allowed(cls))


def _instance_type_allowed(t: type) -> bool:
    return _class_allowed(t) or issubclass(t, INSTANCE_BASES)


# -- value checks ------------------------------------------------------------------------------------

# type -> kind: plain | instance | seq | map | lazy | class | module | callable | refused
_KIND: dict[type, str] = {}


def _kind_of(t: type) -> str:
    k = _KIND.get(t)
    if k is not None:
        return k
    if t in _PLAIN:
        k = "plain"
    elif issubclass(t, type):
        k = "class"
    elif issubclass(t, types.ModuleType):
        k = "module"
    elif t in _SEQUENCES or (issubclass(t, tuple) and _root(t.__module__) in ALLOWED_MODULE_ROOTS
                             and denied_origin(t) is None):
        k = "seq"            # namedtuples of results: torch.return_types.*, load_state_dict's keys
    elif t in _MAPPINGS:
        k = "map"
    elif t in _LAZY or issubclass(t, _BaseDataLoaderIter):
        k = "lazy"
    elif _instance_type_allowed(t):
        k = "instance"
    elif t in _FUNCTIONS:
        k = "callable"
    else:
        k = "refused"
    _KIND[t] = k
    return k


def kind(t: type) -> str:
    """How values of type `t` are treated: plain | instance | seq | map | lazy | class | module | callable | refused."""
    return _KIND.get(t) or _kind_of(t)


def check_value(value: Any, where: str = "a value") -> Any:
    """Return `value` if a spec may hold it, else raise NameRefused naming what and why."""
    k = _KIND.get(type(value)) or _kind_of(type(value))
    if k == "plain" or k == "instance" or k == "lazy":
        return value
    if k == "seq" or k == "map":
        _check_elements(value, where)
        return value
    if k == "class":
        if _class_allowed(value):
            return value
        raise _refuse(f"{where} = class {getattr(value, '__qualname__', value)!r}", value)
    if k == "module":
        if ALLOW.has_module(value):
            return value
        raise NameRefused(f"spec refused: {where} is module {value.__name__!r}, which is outside the allow-list")
    if ALLOW.has_callable(value) or _trusted(value):
        return value
    if k == "callable":
        why = _callable_refusal(value)
        if why is None:
            return value
        raise _refuse(f"{where} = {_describe(value)}", value, why)
    raise _refuse(f"{where} = {_describe(value)}", value)


def _describe(value: Any) -> str:
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    mod = getattr(value, "__module__", None)
    if isinstance(name, str):
        return f"{mod}.{name}" if isinstance(mod, str) else name
    return type(value).__name__ + " object"


def _check_elements(value: Any, where: str) -> None:
    """Every element of a container (iteratively; shared and cyclic containers once)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        items = v.items() if isinstance(v, dict) else v
        for item in items:
            for x in (item if isinstance(v, dict) else (item,)):
                k = _KIND.get(type(x)) or _kind_of(type(x))
                if k == "plain" or k == "instance" or k == "lazy":
                    continue
                if k == "seq" or k == "map":
                    stack.append(x)
                else:
                    check_value(x, f"an element of {where}")


def _callable_refusal(v: Any) -> str | None:
    """None when the function-like `v` is allowed, else why not."""
    if ALLOW.has_callable(v) or _trusted(v):
        return None
    if id(v) in ALLOW.denied and ALLOW.denied[id(v)][0] is v:
        return f"{ALLOW.denied[id(v)][1]} {ALLOW.denied[id(v)][2]}"
    t = type(v)
    if t is types.MethodType:
        func = v.__func__
        if not isinstance(func, types.FunctionType):
            return "a method of an unknown kind"
        origin = func.__module__ if isinstance(func.__module__, str) else ""
        if not (_trusted(func) or _MEMBERS.get(id(func)) is func
                or ((_root(origin) in ALLOWED_MODULE_ROOTS or origin.startswith("conformance."))
                    and denied_origin(func) is None)):
            return f"its function comes from {origin!r}"
        return _bound_refusal(v.__self__, func.__name__)
    if t is types.BuiltinFunctionType:
        owner = v.__self__
        if owner is None or isinstance(owner, types.ModuleType):
            bad = denied_origin(v)
            return f"it comes from {bad!r}" if bad else "a function that is not on the list"
        return _bound_refusal(owner, v.__name__)
    if t in _DESCRIPTORS:
        if not _in_closure(v.__objclass__):
            return f"a member of class {v.__objclass__.__qualname__!r}, which is not on the list"
        return _name_refusal(v.__name__, v.__objclass__)
    if t is types.FunctionType:
        if _MEMBERS.get(id(v)) is v:
            return None     # reached as a public member of an allowed class (its name was checked there)
        if v.__code__ in _WRAPPER_CODES:
            wrapped = getattr(v, "__wrapped__", None)
            return None if wrapped is not None and _allowed_quietly(wrapped) else "it wraps a function that is not on the list"
        owner = _owner_class(v)
        if owner is None:
            bad = denied_origin(v)
            return f"it comes from {bad!r}" if bad else "a function that is not on the list"
        return _name_refusal(v.__name__)
    if t is property:
        return None         # a documented property of an allowed class (its fget/fset are not readable)
    if t is functools.partial:
        ok = _allowed_quietly(v.func) and all(_allowed_quietly(a) for a in v.args) and \
            all(_allowed_quietly(a) for a in v.keywords.values())
        return None if ok else "a partial of something that is not on the list"
    bad = denied_origin(v)
    return f"it comes from {bad!r}" if bad else "a function that is not on the list"


def _allowed_quietly(v: Any) -> bool:
    try:
        check_value(v)
    except NameRefused:
        return False
    return True


def _bound_refusal(owner: Any, name: str) -> str | None:
    """A method bound to `owner` (an object, or a class for classmethods)."""
    if not _allowed_quietly(owner):
        return f"it is bound to a {type(owner).__name__} object, which is not on the list"
    return _name_refusal(name, owner if isinstance(owner, type) else type(owner))


def _name_refusal(name: str, cls: Any = None) -> str | None:
    key = (cls, name)
    found = _NAME_REFUSALS.get(key, _MISSING)
    if found is _MISSING:
        try:
            check_attr_name(name)
            found = _unsafe_member(cls, name) if isinstance(cls, type) else None
        except NameRefused as e:
            found = str(e)
        _NAME_REFUSALS[key] = found
    return found  # type: ignore[return-value]


_NAME_REFUSALS: dict[tuple[Any, str], str | None] = {}


def check_call(f: Any, pos: list[Any], kw: dict[str, Any]) -> None:
    """Allowed callables that are unsafe with some arguments: an ndarray of Python objects built over a
    raw buffer reads whatever bytes the buffer holds as object pointers (np.ndarray(shape, object,
    buffer=...), np.recarray(..., buf=...)): arbitrary memory becomes reachable."""
    if getattr(f, "__name__", None) in ("type", "_type") and f is not type_of:
        # Tensor/Storage.type('a.b') imports module `a` (torch._utils._import_dotted_name): a type name
        # must name an allowed class, found without importing anything.
        for target in [*pos, kw.get("dtype")]:
            if isinstance(target, str):
                try:
                    found = resolve_documented(target)
                except (NotFound, NameRefused):
                    found = None
                if not isinstance(found, type) or not (_class_allowed(found) or _instance_type_allowed(found)):
                    raise NameRefused(f"spec refused: .type({target!r}): a type name must name an allowed torch "
                                      f"class such as 'torch.FloatTensor' (any other name would be imported)")
        return
    if f is torch.utils.data.DataLoader:
        workers = kw.get("num_workers", pos[5] if len(pos) > 5 else 0)
        if isinstance(workers, int) and workers > MAX_WORKERS:
            raise NameRefused(f"spec refused: DataLoader(num_workers={workers}): at most {MAX_WORKERS} worker "
                              f"processes per loader")
        return
    if isinstance(f, type) and issubclass(f, np.ndarray):
        buffer = kw.get("buffer", kw.get("buf", pos[2] if len(pos) > 2 else None))
        if buffer is None:
            return
        dtype = kw.get("dtype", pos[1] if len(pos) > 1 else None)
        try:
            objects = np.dtype(float if dtype is None else dtype).hasobject or "formats" in kw or "names" in kw
        except (TypeError, ValueError):
            objects = True
        if objects:
            raise NameRefused(f"spec refused: {f.__name__}(...) of Python objects over a raw buffer would read "
                              f"the buffer's bytes as object pointers (arbitrary memory): not allowed in specs")


def _unsafe_member(cls: type, name: str) -> str | None:
    for base, members in _MEMORY_UNSAFE.items():
        if name in members and issubclass(cls, base):
            return (f"{base.__qualname__}.{name} can leave tensors or views pointing at freed memory: "
                    f"not allowed in specs")
    return None


def _owner_class(func: types.FunctionType) -> type | None:
    """The allowed class that defines `func` under its own name (an unbound method), if any."""
    parts = func.__qualname__.split(".")
    if len(parts) < 2 or "<locals>" in parts:
        return None
    obj: Any = sys.modules.get(func.__module__) if isinstance(func.__module__, str) else None
    for p in parts[:-1]:
        obj = vars(obj).get(p) if obj is not None else None
    if not isinstance(obj, type) or not _in_closure(obj):
        return None
    raw = vars(obj).get(parts[-1])
    if raw is func or getattr(raw, "__func__", None) is func:
        return obj
    return None


# -- attribute access ------------------------------------------------------------------------------

def check_attr_name(name: str) -> None:
    """Names refused on every object (load time where the name is literal, run time always)."""
    if name in _GOOD_NAMES:
        return
    if name.startswith("__"):
        raise NameRefused(f"dunder attribute {name!r} is not allowed in specs")
    if name.startswith("_") and name not in ALLOWED_PRIVATE:
        raise NameRefused(
            f"private attribute {name!r} is not allowed in specs (allowed: {sorted(ALLOWED_PRIVATE)})"
        )
    if name in _IO_ATTRS:
        raise NameRefused(f"attribute {name!r} reads or writes files; use helpers.roundtrip instead")
    if name in _FORMAT_ATTRS:
        raise NameRefused(f"attribute {name!r} is not allowed in specs: str.format reads attributes of its arguments")
    if name in _INTERNAL_ATTRS:
        raise NameRefused(f"attribute {name!r} is not allowed in specs: it exposes interpreter internals or loads code")
    _GOOD_NAMES.add(name)


_GOOD_NAMES: set[str] = set()


def module_allowed(module: types.ModuleType) -> bool:
    return ALLOW.has_module(module)


def getattr_checked(obj: Any, name: str, where: str = "") -> Any:
    """`obj.name` for a spec: the name, the kind of `obj`, then the value are checked."""
    check_attr_name(name)
    where = where or name
    k = _KIND.get(type(obj)) or _kind_of(type(obj))
    if k == "module":
        if not ALLOW.has_module(obj):
            raise NameRefused(f"spec refused: module {obj.__name__!r} is outside the allow-list")
        d = vars(obj)
        key = (id(obj), name)
        value = d.get(name, _MISSING)
        if _MODULE_MEMBERS.get(key, _MISSING) is value:
            return value        # checked before, unchanged since (a patch by a fault is checked again)
        if value is _MISSING:   # a module's lazy __getattr__ would import: specs never import
            raise AttributeError(f"module {obj.__name__!r} has no attribute {name!r} "
                                 f"(or it is not imported: specs cannot import modules)")
        spec = NAMESPACES.get(obj.__name__, None) if obj.__name__ in NAMESPACES else ()
        if spec is not None and name not in spec and not isinstance(value, types.ModuleType):
            raise _refuse(where, value, f"only {', '.join(spec) or 'its submodules'} of {obj.__name__} may be used")
        if isinstance(value, _MUTABLE_CONTAINERS):
            raise _refuse(where, value, "module-level mutable state")
        if key in ALLOW.bindings and not (ALLOW.has_callable(value) or ALLOW.has_type(value)) \
                and (callable(value) or isinstance(value, type)):
            trust(value)   # installed under an allowed name by code outside the sandbox (a fault, a shim)
        _MODULE_MEMBERS[key] = _checked_member(value, where)
        return value
    if k == "class":
        if not _class_allowed(obj):
            raise _refuse(where, obj)
        if not any(name in vars(c) for c in obj.__mro__):   # `mro` & co. come from the metaclass
            raise NameRefused(f"spec refused: {where}: {name!r} is not an attribute that class "
                              f"{obj.__qualname__!r} defines")
        unsafe = _unsafe_member(obj, name)
        if unsafe:
            raise NameRefused(f"spec refused: {where}: {unsafe}")
        value = getattr(obj, name)
        if isinstance(value, _MUTABLE_CONTAINERS):
            raise _refuse(where, value, "class-level mutable state")
        _bless_member(obj, name, value)
        return _checked_member(value, where)
    if k in ("lazy", "callable", "refused"):
        if k == "callable" and isinstance(obj, np.ufunc) and name in _UFUNC_ATTRS:
            return check_value(getattr(obj, name), where)
        raise NameRefused(f"spec refused: {where}: attributes of {_kind_words(k, obj)} are not allowed "
                          f"(specs may call functions and iterate iterators, not inspect them)")
    if k == "instance" and isinstance(obj, np.ufunc) and name not in _UFUNC_ATTRS:
        raise NameRefused(f"spec refused: {where}: attribute {name!r} of a ufunc is not allowed")
    unsafe = _unsafe_member(type(obj), name)
    if unsafe:
        raise NameRefused(f"spec refused: {where}: {unsafe}")
    value = getattr(obj, name)
    if type(value) is types.MethodType and value.__self__ is obj:
        _bless_member(type(obj), name, value)
    return check_value(value, where)


# Functions an allowed class defines under a public name (its methods, including ones patched in by
# code outside the sandbox): allowed wherever they travel afterwards.
_MEMBERS: dict[int, Any] = {}


def _bless_member(cls: type, name: str, value: Any) -> None:
    func = value.__func__ if type(value) is types.MethodType else value
    if type(func) is not types.FunctionType or _MEMBERS.get(id(func)) is func:
        return
    for c in cls.__mro__:
        raw = vars(c).get(name, _MISSING)
        if raw is not _MISSING:
            if raw is func or getattr(raw, "__func__", None) is func:
                _MEMBERS[id(func)] = func
            return


_MISSING = object()
_MODULE_MEMBERS: dict[tuple[int, str], Any] = {}


def _kind_words(k: str, obj: Any) -> str:
    return {"lazy": f"an iterator ({type(obj).__name__})", "callable": f"a function ({type(obj).__name__})",
            "refused": f"a {type(obj).__name__} object"}[k]


def _checked_member(value: Any, where: str) -> Any:
    """A member of an allowed module or class: refused by identity first (for a precise reason)."""
    entry = ALLOW.denied.get(id(value))
    if entry is not None and entry[0] is value:
        raise NameRefused(f"spec refused: {entry[1]} {entry[2]}")
    origin = None if isinstance(value, types.ModuleType) else denied_origin(value)
    if origin is not None and (isinstance(value, type) or callable(value)) and not _trusted(value):
        raise NameRefused(f"spec refused: {where} comes from {origin!r}, which is outside the allow-list")
    return check_value(value, where)


def safe_getattr(obj: Any, name: str, where: str = "") -> Any:
    return getattr_checked(obj, name, where)


def resolve_alias(alias: str) -> Any:
    """The module behind an alias (ImportError for an optional one that is absent); never imports."""
    module = sys.modules.get(MODULE_ALIASES[alias])
    if module is None or not ALLOW.has_module(module):
        raise ImportError(f"{MODULE_ALIASES[alias]} is not installed")
    return module


# -- documented objects (`source.object`) ----------------------------------------------------------

class NotFound(LookupError):
    pass


def resolve_documented(dotted: str) -> Any:
    """The object `source.object` names, walked from the allowed roots: never imported, and on the list.

    Raises NotFound when it does not exist in the installed packages, NameRefused when it is outside
    the allow-list (a module, class or function specs may not reach).
    """
    parts = dotted.split(".")
    if parts[0] not in ALLOWED_MODULE_ROOTS:
        raise NameRefused(f"{dotted!r} is outside torch/numpy/torchvision")
    obj: Any = sys.modules.get(parts[0])
    if obj is None:
        raise NotFound(f"{dotted!r}: {parts[0]} is not installed")
    for i, p in enumerate(parts[1:], start=2):
        prefix = ".".join(parts[:i])
        if isinstance(obj, types.ModuleType):
            sub = sys.modules.get(prefix)
            if sub is not None and ALLOW.has_module(sub):
                obj = sub   # a submodule shadowed by a function of the same name (torch.autograd.gradcheck)
                continue
            if p not in vars(obj):
                raise NotFound(f"{dotted!r}: {'.'.join(parts[:i - 1])} has no attribute {p!r}")
            obj = getattr_checked(obj, p, prefix)
        elif isinstance(obj, type):
            if not any(p in vars(c) for c in obj.__mro__):
                raise NotFound(f"{dotted!r}: {'.'.join(parts[:i - 1])} has no attribute {p!r}")
            if not (p.startswith("__") and p.endswith("__")):   # Tensor.__getitem__ is documented too
                check_attr_name(p)
            obj = getattr(obj, p)   # a documented member: a method, property or descriptor (never run)
        else:
            raise NotFound(f"{dotted!r}: {'.'.join(parts[:i - 1])} is neither a module nor a class")
    return obj


# Imported for their side effect of making the submodules reachable as attributes.
_ = (np, torch.nn.functional, torch.optim, torch.utils.data)
