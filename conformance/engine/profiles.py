"""Hypothesis profiles of the suite: dev, ci (default, derandomized), thorough, and mutate (ci's
examples without shrinking, for fault runs).

Hypothesis registers its own `ci` profile and loads it by itself when the CI environment variable
is set; we register ours under the same names at import time and load the chosen one explicitly
after every other plugin (see pytest_plugin/hooks.py: pytest_configure), so a run always uses what is written here.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, settings

DEFAULT = "ci"
_COMMON: dict[str, Any] = dict(
    deadline=None,  # first calls into torch kernels are slow; timing is the benchmark's job
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.differing_executors],
)
PROFILES: dict[str, dict[str, Any]] = {
    "dev": dict(max_examples=10, **_COMMON),
    "ci": dict(max_examples=25, derandomize=True, database=None, **_COMMON),
    "thorough": dict(max_examples=300, **_COMMON),
    # Fault runs only need to know *whether* a spec fails: same examples as ci, no shrinking, and
    # the first failure ends a spec.
    "mutate": dict(max_examples=25, derandomize=True, database=None, report_multiple_bugs=False,
                   phases=(Phase.explicit, Phase.reuse, Phase.generate), **_COMMON),
}


# A spec's `settings: {max_examples: N}` is its own budget: below the profile's it lowers it (costly
# specs); above, it raises it (cheap specs, or specs whose faults hide in rare inputs), at most to
# RAISE_CAP times the profile's, so a quick profile stays quick.
RAISE_CAP = 4


def spec_budget(profile_examples: int, spec_examples: int) -> int:
    """The examples one spec runs under a profile with `profile_examples`."""
    if spec_examples <= profile_examples:
        return spec_examples
    return min(spec_examples, RAISE_CAP * profile_examples)


# Isolation limits of one spec x device item (see conformance.pytest_plugin.isolation).  The slowest
# item of the shipped suite takes a few seconds under the ci profile on a loaded 2-core machine; the
# limit is generous so that only a hang reaches it.  Overridden by --spec-timeout.
SPEC_TIMEOUT_S: dict[str, float] = {"dev": 60.0, "ci": 60.0, "mutate": 60.0, "thorough": 600.0}
DEFAULT_SPEC_TIMEOUT_S = 60.0        # a profile registered elsewhere
SPEC_MEMORY_MB = 8192                # data memory (RLIMIT_DATA) of a process running specs (--spec-memory)


def spec_timeout(name: str) -> float:
    return SPEC_TIMEOUT_S.get(name, DEFAULT_SPEC_TIMEOUT_S)


def register() -> None:
    for name, kw in PROFILES.items():
        settings.register_profile(name, **kw)


def describe(name: str) -> dict[str, Any]:
    s = settings.get_profile(name)
    return {
        "name": name,
        "max_examples": s.max_examples,
        "derandomize": s.derandomize,
        "deadline": None if s.deadline is None else s.deadline.total_seconds(),
        "database": None if s.database is None else type(s.database).__name__,
        "ours": name in PROFILES,
    }


register()
