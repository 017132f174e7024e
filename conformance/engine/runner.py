"""Running one spec on one device: a Hypothesis test built from the compiled spec.

The test is built once per item; per example it only draws inputs and runs closures.  The last
example's inputs are kept (as private snapshots) because Hypothesis replays the minimal failing
example last: when the test raises, `record.inputs` is the falsifying example.
"""

from __future__ import annotations

import gc
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from hypothesis import Phase, assume, event, example, given, reject, settings, target
from hypothesis import strategies as st

from conformance.engine import backends, profiles
from conformance.lang import checks, names, strategies
from conformance.lang import spec as spec_mod
from conformance.lang.values import snapshot

SEEDS = st.integers(0, 2**31 - 1)


@dataclass
class Record:
    """What one item's run observed (per-item state, kept in the pytest stash)."""

    examples: int = 0
    seed: int | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    draws: strategies.DrawStats = field(default_factory=strategies.DrawStats)  # what was drawn (stats view)
    refused: Exception | None = None  # the sandbox's first refusal: later examples stop after their draws

    @property
    def stats(self) -> dict[str, Any]:
        return self.draws.as_dict()


class GlobalState:
    """Process-wide torch/NumPy settings a spec may change (names.RESTORED_STATE), captured before a
    spec runs and put back after each of its examples, so that no spec sees another one's settings.
    Settings specs may not change at all (thread counts, print options, ...) are refused by the
    allow-list instead; RNG state needs nothing (every example reseeds torch, Hypothesis seeds and
    restores NumPy's global generator)."""

    _SETTINGS: tuple[tuple[Any, Any], ...] = (
        (torch.get_default_dtype, torch.set_default_dtype),
        (torch.is_grad_enabled, torch.set_grad_enabled),
        (lambda: (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
         lambda v: torch.set_anomaly_enabled(*v)),
        (lambda: (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()),
         lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1])),
        (torch.get_deterministic_debug_mode, torch.set_deterministic_debug_mode),
        (torch.get_float32_matmul_precision, torch.set_float32_matmul_precision),
        (torch.is_warn_always_enabled, torch.set_warn_always),
        # the default device: None when unset (setting it to "cpu" would push a device mode on every op)
        (lambda: getattr(getattr(torch, "_GLOBAL_DEVICE_CONTEXT", None), "device_context", None),
         lambda ctx: torch.set_default_device(None if ctx is None else ctx.device)),
        (np.geterr, lambda v: np.seterr(**v)),
    )

    def __init__(self) -> None:
        self.values = [get() for get, _ in self._SETTINGS]

    def restore(self) -> None:
        for (get, put), value in zip(self._SETTINGS, self.values, strict=True):
            if get() != value:
                put(value)


def _to_cpu(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        c = v.detach().cpu()
        return c.requires_grad_(True) if v.requires_grad else c
    if isinstance(v, list):
        return [_to_cpu(x) for x in v]
    return v


def _run_steps(spec: spec_mod.Spec, env: dict[str, Any]) -> None:
    for i, step in enumerate(spec.steps):
        try:
            step.run(env)
        except checks.CheckFailed:
            raise
        except Exception as e:
            e.add_note(f"in step {i + 1} of {spec.id}: {step.text.strip()}")
            raise


def run_example(spec: spec_mod.Spec, device: torch.device, data: Any, record: Record) -> None:
    record.examples += 1
    env = dict(spec_mod.base_namespace())
    env["device"] = device
    seed = data.draw(SEEDS, label="torch.manual_seed")
    backends.seed(device, seed)  # modules and random ops are reproducible from the example (profile's `seed`)
    pinned = data.values if isinstance(data, strategies.Pinned) else {}  # an explicit example
    for name, g in spec.given:
        env[name] = g.pin(pinned[name](env), env, device) if name in pinned else g.draw(data, env, device)
    record.seed = seed
    unsupported = backends.for_device(str(device)).unsupported()
    if unsupported and any(isinstance(v, torch.Tensor) and v.dtype in unsupported for v in env.values()):
        reject()   # the backend's profile says it does not implement this dtype: not this example
    record.inputs = {name: snapshot(env[name]) for name, _ in spec.given}
    backends.sync(device)   # the inputs and their copies exist before any step can fail a lazy graph
    for a in spec.assume:
        assume(checks._truth(a(env)))
    if record.refused is not None:
        raise record.refused  # replaying or shrinking a refused spec: the same draws, not the same bomb
    log = env.get(strategies.LOG_KEY)
    record.draws.add(log)
    if log is not None and not pinned:
        for feature in sorted(log.features_of_sides()):
            event(feature)  # --hypothesis-show-statistics shows them too
    try:
        _steps_and_checks(spec, device, env, record, seed)
    finally:
        env.clear()   # see _forget


def _steps_and_checks(spec: spec_mod.Spec, device: torch.device, env: dict[str, Any], record: Record,
                      seed: int) -> None:
    _run_steps(spec, env)
    backends.sync(device)   # lazy/async backends: the checks read finished values
    for label, fn in spec.targets:
        target(float(fn(env)), label=label)

    cpu_env: dict[str, Any] = {}

    def rerun_on_cpu() -> dict[str, Any]:
        if not cpu_env:
            cpu_env.update(spec_mod.base_namespace())
            cpu_env["device"] = torch.device("cpu")
            cpu_env.update({k: _to_cpu(v) for k, v in record.inputs.items()})
            backends.seed("cpu", seed)
            _run_steps(spec, cpu_env)
        return cpu_env

    backend = backends.for_device(str(device))
    ctx = checks.RunContext(env, device, rerun_on_cpu, backend.error_messages, backend.fast_gradcheck)
    for i, e in enumerate(spec.expect):
        try:
            e.run(ctx)
        except checks.CheckFailed as f:
            raise f.located(i, e.kind, e.line, f"expect[{i}] {e.kind} {_show(e.text[e.kind])} "
                                                f"({spec.file}:{e.line})") from None


def run(test: Any) -> None:
    """Run a test from build_test.  When it fails, its values are released before anything else runs."""
    try:
        test()
    except BaseException as e:
        _forget(e)
        raise


def _forget(e: BaseException | None) -> None:
    """A failed example's values must not outlive it: on a lazy backend (torch_xla) a live tensor whose
    graph failed to compile makes every later sync fail, so one spec's finding would fail every spec
    after it in the process.  The example's namespace is emptied when it ends; this clears the locals
    of the finished frames its exception (and the exceptions chained to it) still holds, then collects
    the young reference cycles those frames sit in (a full collection costs ~0.3 s with torch loaded,
    paid by every failing spec of a fault run; the young generations, milliseconds)."""
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        traceback.clear_frames(e.__traceback__)
        e = e.__cause__ or e.__context__
    gc.collect(1)


def _refused(first: Exception) -> None:
    """Raise the spec's first refusal, always from here (one failure for Hypothesis); later examples
    draw their inputs and stop: a refused escape or a resource bomb is not worth running again."""
    e = type(first)(str(first))
    for note in getattr(first, "__notes__", ()):
        e.add_note(note)
    raise e


def _show(args: Any) -> str:
    return str(args) if not isinstance(args, str) else repr(args)


def build_test(spec: spec_mod.Spec, device: str, record: Record) -> Any:
    dev = torch.device(device)

    state = GlobalState()

    @given(data=st.data())
    def test(data: Any) -> None:
        try:
            run_example(spec, dev, data, record)
        except names.NameRefused as e:
            _forget(e)
            if record.refused is None:
                record.refused = e
            _refused(record.refused)
        except BaseException as e:
            _forget(e)
            raise
        finally:
            state.restore()

    # explicit examples run first, in the order written (the decorator nearest @given runs first)
    for i in reversed(range(len(spec.examples))):
        test = example(data=strategies.Pinned(i, spec.examples[i]))(test)
    budget = settings().max_examples  # a fresh settings() inherits the loaded profile
    if spec.max_examples is not None:
        budget = profiles.spec_budget(budget, spec.max_examples)
    backend = backends.for_device(device)
    if backend.max_examples is not None:   # e.g. xla: every new shape compiles a graph
        budget = min(budget, backend.max_examples)
    changed: dict[str, Any] = {}
    if budget != settings().max_examples:
        changed["max_examples"] = budget
    if not backend.shrink and Phase.shrink in settings().phases:
        changed["phases"] = tuple(p for p in settings().phases if p is not Phase.shrink)
    if changed:
        test = settings(**changed)(test)
    return test
