"""`conformance docs-check`: print each spec's documentation drift (lang/drift.py computes it)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

import torch

from conformance.errors import UsageError
from conformance.lang import spec
from conformance.lang.drift import check_sources, summary


def cmd_docs_check(args: argparse.Namespace, extra: list[str]) -> int:
    if args.torch_docs != "installed":
        raise UsageError("only --torch-docs installed is supported (no network here)")
    specs, errors = spec.load_paths(args.paths or [spec.default_specs()])
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    drifts = check_sources({s.id: s.source for s in specs}, args.threshold)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"torch": torch.__version__, "summary": summary(drifts),
                       "specs": [asdict(d) for d in drifts]}, f, indent=1)
    for d in drifts:
        if d.status != "current" or args.verbose:
            print(f"{d.status:9} {d.spec_id:50} {d.object or '-'}" + (f"  ({d.similarity})" if d.similarity else "")
                  + (f"  {d.reason}" if d.reason else ""))
            if d.diff and args.verbose:
                print("  " + d.diff.replace("\n", "\n  "))
    s = summary(drifts)
    print(" / ".join(f"{k} {v}" for k, v in s.items()))
    if errors:
        return 2
    return 1 if s["reworded"] or s["missing"] else 0
