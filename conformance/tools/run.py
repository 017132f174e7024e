"""`conformance run`: the suite through pytest, then (optionally) the HTML report."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pytest

from conformance import results
from conformance.lang import spec
from conformance.outputs import report, stats


def cmd_run(args: argparse.Namespace, extra: list[str]) -> int:
    pytest_args = [*(args.paths or [spec.default_specs()]), "--hypothesis-profile", args.profile]
    if args.device:
        pytest_args += ["--device", args.device]
    if args.json:
        pytest_args += ["--conformance-json", args.json]
    if args.n is not None:
        pytest_args += ["-n", str(args.n)]
    if args.html and not args.json:
        args.json = str(Path(args.html).with_suffix(".json"))
        pytest_args += ["--conformance-json", args.json]
    scratch = None
    if getattr(args, "stats", False) and not args.json:
        scratch = tempfile.TemporaryDirectory(prefix="conformance-stats-")
        args.json = str(Path(scratch.name) / "results.json")
        pytest_args += ["--conformance-json", args.json]
    code = int(pytest.main(pytest_args + ["-p", "no:cacheprovider", *extra]))
    if args.html:
        report.render([args.json], Path(args.html))
        print(f"conformance: report written to {args.html}")
    if getattr(args, "stats", False) and Path(args.json).exists():
        print(stats.table(results.load(Path(args.json))))
    if scratch is not None:
        scratch.cleanup()
    return code
