"""`conformance`: a thin command-line face over the engine's parts.

Each subcommand parses its arguments and calls one module; none holds logic of its own.  Every
ConformanceError is reported here, once, as one line on stderr with exit code 2.  Nothing imports
this module.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from conformance import results
from conformance.errors import ConformanceError
from conformance.outputs import gate, report, stats
from conformance.results import merge

# `gate`, `merge` and `report` read results JSON only and must run where torch is not installed, so
# the commands that load specs or run torch import their modules when they run (not to dodge a cycle:
# nothing imports this module).


def _torch_command(module: str, name: str) -> Any:
    def run(args: argparse.Namespace, extra: list[str]) -> int:
        mod = importlib.import_module(f"conformance.tools.{module}")
        return int(getattr(mod, name)(args, extra))
    return run


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


def _register_docs_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("docs-check", help="check each spec's quoted promise against the installed torch docstrings")
    p.add_argument("paths", nargs="*")
    p.add_argument("--torch-docs", default="installed", help="where to read documentation from (installed)")
    p.add_argument("--threshold", type=float, default=0.8, help="similarity for 'reworded' (default 0.8)")
    p.add_argument("--json", help="write the drift report as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="list current quotes and diffs too")
    p.set_defaults(func=_torch_command("docs_check", "cmd_docs_check"))


def _register_mutate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mutate", help="run the suite against injected faults and score how many it catches",
                       description="Run the suite once per fault of the catalogue (after a clean run that "
                                   "must pass) and report which specs caught which fault.  Arguments after "
                                   "`--` go to every pytest run.")
    p.add_argument("paths", nargs="*", help="spec files or folders (default: specs/)")
    p.add_argument("--faults", help="comma-separated fault names (default: the whole catalogue)")
    p.add_argument("--jobs", "-j", type=int, default=1, help="pytest runs in parallel (default 1)")
    p.add_argument("--json", help="write the mutation document (schemas/mutate.schema.json) here")
    p.add_argument("--threshold", type=float, default=100.0,
                   help="exit 1 when fewer than this percentage of the faults are killed (default 100)")
    p.add_argument("--list", action="store_true", help="print the fault catalogue and exit")
    p.add_argument("--device", default=os.environ.get("CONFORMANCE_DEVICES") or "cpu",
                   help="device(s) the specs run on (default: $CONFORMANCE_DEVICES, else cpu)")
    p.add_argument("--profile", default="mutate", choices=["mutate", "dev", "ci", "thorough"],
                   help="Hypothesis profile (default mutate: ci's examples without shrinking)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed to one pytest run (default 900)")
    p.set_defaults(func=_torch_command("mutate", "cmd_mutate"))


def cmd_stats(args: argparse.Namespace, extra: list[str]) -> int:
    print(stats.table(results.load(Path(args.file)), forms=not args.no_forms))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="conformance", description="PyTorch conformance suite")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the specs (wraps pytest); extra args after -- go to pytest")
    run.add_argument("paths", nargs="*", help="spec files or folders (default: specs/)")
    run.add_argument("--device", help="comma-separated devices, e.g. cpu,cuda (default: cpu,cuda)")
    run.add_argument("--profile", default="ci", choices=["dev", "ci", "thorough", "mutate"], help="Hypothesis profile")
    run.add_argument("-n", help="pytest-xdist workers (a number or auto)")
    run.add_argument("--json", help="write results JSON here")
    run.add_argument("--html", help="also render the HTML report here")
    run.add_argument("--stats", action="store_true",
                     help="print what each spec's examples drew: equal sides, sizes 0/1, call forms")
    run.set_defaults(func=_torch_command("run", "cmd_run"))

    st = sub.add_parser("stats", help="what each spec's examples drew (equal sides, sizes 0/1, call forms), "
                                      "from a results JSON")
    st.add_argument("file", metavar="RESULTS.json")
    st.add_argument("--no-forms", action="store_true", help="one line per spec, without the call forms")
    st.set_defaults(func=cmd_stats)

    val = sub.add_parser("validate", help="check specs without running them")
    val.add_argument("paths", nargs="*")
    val.set_defaults(func=_torch_command("inventory", "cmd_validate"))

    lst = sub.add_parser("list", help="list specs; --coverage: behaviours.md covered; --api: public torch API covered")
    lst.add_argument("paths", nargs="*")
    lst.add_argument("--coverage", action="store_true", help="every behaviour id with the specs covering it")
    lst.add_argument("--api", action="store_true",
                     help="the installed torch's public callables per namespace, covered by a spec's source.object or not")
    lst.add_argument("--uncovered", action="store_true", help="with --api: also list the uncovered callables")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=_torch_command("inventory", "cmd_list"))

    _register_docs_check(sub)
    _register_mutate(sub)
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
