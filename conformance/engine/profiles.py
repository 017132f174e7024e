"""Hypothesis profiles of the suite: dev, ci (default, derandomized) and thorough.

Hypothesis registers its own `ci` profile and loads it by itself when the CI environment variable
is set; we register ours under the same names at import time and load the chosen one explicitly
after every other plugin (see plugin.pytest_configure), so a run always uses what is written here.
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
