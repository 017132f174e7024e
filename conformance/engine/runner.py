"""Running one spec on one device: a Hypothesis test built from the compiled spec.

The test is built once per item; per example it only draws inputs and runs closures.  The last
example's inputs are kept (as private snapshots) because Hypothesis replays the minimal failing
example last: when the test raises, `record.inputs` is the falsifying example.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conformance.lang import checks
from conformance.lang import spec as spec_mod
from conformance.lang.values import snapshot

SEEDS = st.integers(0, 2**31 - 1)


@dataclass
class Record:
    """What one item's run observed (per-item state, kept in the pytest stash)."""

    examples: int = 0
    seed: int | None = None
    inputs: dict[str, Any] = field(default_factory=dict)


def seed_torch(seed: int, device: torch.device) -> None:
    """Seed the generators an example can use.  On cpu/meta only the CPU generator: torch.manual_seed
    also queues lazy seeding of every accelerator backend (with a recorded stack trace), which costs
    milliseconds per example on a machine without them."""
    if device.type in ("cpu", "meta"):
        torch.random.default_generator.manual_seed(seed)
    else:
        torch.manual_seed(seed)


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
    seed_torch(seed, device)  # modules and random ops are reproducible from the example
    for name, g in spec.given:
        env[name] = g.draw(data, env, device)
    record.seed = seed
    record.inputs = {name: snapshot(env[name]) for name, _ in spec.given}
    for a in spec.assume:
        assume(checks._truth(a(env)))
    _run_steps(spec, env)

    cpu_env: dict[str, Any] = {}

    def rerun_on_cpu() -> dict[str, Any]:
        if not cpu_env:
            cpu_env.update(spec_mod.base_namespace())
            cpu_env["device"] = torch.device("cpu")
            cpu_env.update({k: _to_cpu(v) for k, v in record.inputs.items()})
            seed_torch(seed, torch.device("cpu"))
            _run_steps(spec, cpu_env)
        return cpu_env

    ctx = checks.RunContext(env, device, rerun_on_cpu)
    for i, e in enumerate(spec.expect):
        try:
            e.run(ctx)
        except checks.CheckFailed as f:
            raise checks.CheckFailed(f"expect[{i}] {e.kind} {_show(e.text[e.kind])} "
                                     f"({spec.file}:{e.line}): {f}") from None


def _show(args: Any) -> str:
    return str(args) if not isinstance(args, str) else repr(args)


def build_test(spec: spec_mod.Spec, device: str, record: Record) -> Any:
    dev = torch.device(device)

    @given(data=st.data())
    def test(data: Any) -> None:
        run_example(spec, dev, data, record)

    if spec.max_examples is not None:
        current = settings().max_examples  # a fresh settings() inherits the loaded profile
        test = settings(max_examples=min(current, spec.max_examples))(test)
    return test
