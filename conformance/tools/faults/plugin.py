"""The fault catalogue as a pytest plugin: `--fault NAMES` (or CONFORMANCE_FAULT) patches torch for a run.

A plugin of its own (entry point `conformance-faults`), so the engine and the spec plugin never know
that faults exist.  The names are exported to the environment so xdist workers inherit them.
"""

from __future__ import annotations

import os

import pytest

from conformance.tools import faults


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("conformance", "torch-conformance").addoption(
        "--fault", default=None, metavar="NAMES",
        help="activate faults of the catalogue (comma-separated) for this run, workers included")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    names = config.getoption("fault", None) or os.environ.get(faults.ENV)
    if not names:
        return
    try:
        undo = faults.activate(names)
    except faults.UnknownFault as e:
        raise pytest.UsageError(str(e)) from None
    previous = os.environ.get(faults.ENV)
    os.environ[faults.ENV] = names

    def cleanup() -> None:
        undo()
        if previous is None:
            os.environ.pop(faults.ENV, None)
        else:
            os.environ[faults.ENV] = previous

    config.add_cleanup(cleanup)
