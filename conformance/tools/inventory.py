"""`conformance validate` and `conformance list`: which specs exist, and whether they load."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from conformance.lang import api, behaviours, spec


def cmd_validate(args: argparse.Namespace, extra: list[str]) -> int:
    specs, errors = spec.load_paths(args.paths or [spec.default_specs()])
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    print(f"{len(specs)} spec(s) valid, {len(errors)} error(s)")
    return 1 if errors else 0


def cmd_list(args: argparse.Namespace, extra: list[str]) -> int:
    specs, errors = spec.load_paths(args.paths or [spec.default_specs()])
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if args.api:
        return _list_api(specs, args.json, args.uncovered) or (1 if errors else 0)
    if args.coverage:
        cov = behaviours.coverage(specs)
        text = {b.id: b.text for b in behaviours.load()}
        if args.json:
            print(json.dumps({"coverage": cov, "uncovered": [k for k, v in cov.items() if not v]}, indent=1))
        else:
            for bid, ids in cov.items():
                mark = ", ".join(ids) if ids else "UNCOVERED"
                print(f"{bid:9} {text.get(bid, '(not in behaviours.md)')[:60]:60}  {mark}")
            covered = sum(1 for v in cov.values() if v)
            print(f"\n{covered}/{len(cov)} behaviour ids covered by {len(specs)} specs")
        return 1 if errors else 0
    rows: list[dict[str, Any]] = [
        {"id": s.id, "title": s.title, "covers": list(s.covers), "devices": list(s.devices or ["all"]),
         "file": f"{s.file}:{s.line}"} for s in specs
    ]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            print(f"{r['id']:55} {','.join(r['covers']):18} {','.join(r['devices']):10} {r['title']}")
        print(f"\n{len(rows)} specs")
    return 1 if errors else 0


def _list_api(specs: list[spec.Spec], as_json: bool, show_uncovered: bool) -> int:
    """`list --api`: the installed torch's public callables, covered or not, per namespace."""
    cov = api.coverage(specs)
    if as_json:
        print(json.dumps(cov, indent=1))
        return 0
    for ns, v in cov["namespaces"].items():
        n = len(v["covered"])
        print(f"{ns:22} {n:4} of {v['total']:4} covered ({100.0 * n / max(v['total'], 1):5.1f}%)")
        if show_uncovered:
            for name in v["uncovered"]:
                print(f"    uncovered  {name}")
    if cov["outside"]:
        print(f"also cited, outside these namespaces: {len(cov['outside'])} ({', '.join(cov['outside'][:8])}, ...)")
    print(f"\n{cov['covered']} of {cov['total']} public callables covered "
          f"({100.0 * cov['covered'] / max(cov['total'], 1):.1f}%) by {len(specs)} specs")
    return 0
