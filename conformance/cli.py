"""`conformance`: a thin command-line face over the engine's parts.

Each subcommand parses its arguments and calls one module; none holds logic of its own.  Every
ConformanceError is reported here, once, as one line on stderr with exit code 2.  Nothing imports
this module.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import results
from conformance.errors import ConformanceError
from conformance.lang import behaviours, spec
from conformance.outputs import gate, report
from conformance.results import merge
from conformance.tools import docs_check, mutate


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
    code = int(pytest.main(pytest_args + ["-p", "no:cacheprovider", *extra]))
    if args.html:
        report.render([args.json], Path(args.html))
        print(f"conformance: report written to {args.html}")
    return code


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


def cmd_merge(args: argparse.Namespace, extra: list[str]) -> int:
    merged = merge.merge_files(args.files)
    for w in merged.warnings:
        print(f"warning: {w}", file=sys.stderr)
    merge.write_set(merged, Path(args.output))
    print(f"conformance merge: {len(args.files)} file(s) -> {len(merged.documents)} environment(s) in {args.output}")
    if args.split:
        out = Path(args.split)
        for env, doc in zip(merged.envs, merged.documents, strict=True):
            name = f"results-{env.slug}.json"
            results.write(doc, out / name)
            print(f"  {out / name}")
    return 0


def _register_merge(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="merge results files from many machines into one results set",
                       description="Merge results JSON files (single runs or results sets) into one set with "
                                   "one document per environment (torch x NumPy major x device). A spec x "
                                   "device held by two runs of one environment: the newer run wins, with a "
                                   "warning naming both files.")
    p.add_argument("files", nargs="+", metavar="RESULTS.json")
    p.add_argument("-o", "--output", required=True, metavar="MERGED.json", help="write the results set here")
    p.add_argument("--split", metavar="DIR",
                   help="also write each environment as a plain results document into DIR "
                        "(for tools that read single runs)")
    p.set_defaults(func=cmd_merge)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="conformance", description="PyTorch conformance suite")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the specs (wraps pytest); extra args after -- go to pytest")
    run.add_argument("paths", nargs="*", help=f"spec files or folders (default: {spec.DEFAULT_SPECS}/)")
    run.add_argument("--device", help="comma-separated devices, e.g. cpu,cuda (default: cpu,cuda)")
    run.add_argument("--profile", default="ci", choices=["dev", "ci", "thorough", "mutate"], help="Hypothesis profile")
    run.add_argument("-n", help="pytest-xdist workers (a number or auto)")
    run.add_argument("--json", help="write results JSON here")
    run.add_argument("--html", help="also render the HTML report here")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check specs without running them")
    val.add_argument("paths", nargs="*")
    val.set_defaults(func=cmd_validate)

    lst = sub.add_parser("list", help="list specs, or coverage of behaviours.md with --coverage")
    lst.add_argument("paths", nargs="*")
    lst.add_argument("--coverage", action="store_true", help="every behaviour id with the specs covering it")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)

    docs_check.register(sub)
    mutate.register(sub)
    gate.register(sub)
    _register_merge(sub)
    report.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, extra))
    except ConformanceError as e:
        print(f"conformance {args.command}: error: {e}", file=sys.stderr, flush=True)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
