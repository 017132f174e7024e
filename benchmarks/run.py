"""Benchmarks of the engine, printed as ratios measured side by side in one run.

    python benchmarks/run.py [--quick] [--skip-suite] [--json PATH]

1. Engine overhead: each spec of benchmarks/specs/bench.yaml run by the engine vs its hand-written
   Hypothesis twin (benchmarks/twins.py): same strategies, max_examples and derandomized seed.
   Goal <= 1.15x.
2. Collection: load+validate+compile 1,000 generated specs (in-process), and `pytest --collect-only`
   over them (subprocess, minus the same command on an empty folder).  Goal < 2 s.  Also counts
   compilations during a run: parsing happens once per spec, never per example.
3. Parallel scaling: the whole suite with `-n 2` vs serial.  Goal >= 1.7x on 2 cores.
4. Whole-suite wall time (ci profile) and peak RSS, as figures for the README.
5. Isolation: the suite (without specs/families) with specs in worker processes vs in-process,
   serial and -n 2.  Goal <= 1.10x.

Absolute times on shared machines are noise; ratios of interleaved repetitions are not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import twins  # noqa: E402

from conformance.engine import profiles, runner  # noqa: E402
from conformance.lang import expr, spec  # noqa: E402

BENCH_SPECS = Path(__file__).resolve().parent / "specs" / "bench.yaml"


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def engine_overhead(repeats: int, examples: int) -> dict[str, float]:
    """Median of interleaved timings: engine test / twin test, per spec."""
    specs, errors = spec.load_file(BENCH_SPECS)
    assert not errors, errors
    s = settings(settings.get_profile("ci"), max_examples=examples)
    ratios = {}
    for sp in specs:
        twin = settings(s)(twins.make(twins.TWINS[sp.id]))
        rec = runner.Record()
        engine = settings(s)(runner.build_test(sp, "cpu", rec))
        engine(), twin()  # warm-up: first calls into torch kernels
        e_times, t_times = [], []
        for _ in range(repeats):  # interleave so drifts in machine load hit both equally
            e_times += _time(engine, 1)
            t_times += _time(twin, 1)
        ratios[sp.id] = statistics.median(e_times) / statistics.median(t_times)
    return ratios


SPEC_TEMPLATE = """\
- id: gen/spec-{i}
  title: generated spec number {i} for the collection benchmark
  covers: [B-CR-3]
  source: {{doc: "https://pytorch.org/docs/stable/generated/torch.zeros.html", object: torch.zeros,
           quote: "Returns a tensor filled with the scalar value 0"}}
  given:
    x: {{tensor: {{dtype: [float32, int64], shape: {{max_dims: 3}}}}}}
    k: {{integers: {{min: 1, max: 4}}}}
  steps: ["y = torch.zeros_like(x) + k", "z = y.view(-1)"]
  expect:
    - shape: [y, x.shape]
    - holds: "(y == k).all()"
    - shares_memory: [z, y]
"""


def collection(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "specs"
        folder.mkdir()
        for i in range(n):
            (folder / f"s{i:04d}.yaml").write_text(SPEC_TEMPLATE.format(i=i))
        t0 = time.perf_counter()
        specs, errors = spec.load_paths([folder])
        load_s = time.perf_counter() - t0
        assert len(specs) == n and not errors, errors[:3]

        def collect(path: Path) -> tuple[float, float]:
            """(pytest's own collection time, whole command wall time)."""
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "pytest", str(path), "--collect-only", "-q",
                                   "-p", "no:cacheprovider", "--device", "cpu"], cwd=d, capture_output=True, text=True)
            wall = time.perf_counter() - t
            m = re.search(r"collected in ([0-9.]+)s", proc.stdout)
            if not m or f"{n} tests collected" not in proc.stdout:
                raise RuntimeError(f"collection failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
            return float(m.group(1)), wall

        full, wall = min(collect(folder) for _ in range(2))
    return {"specs": n, "load_validate_compile_s": load_s, "pytest_collect_s": full, "pytest_wall_s": wall}


def compile_counts() -> dict[str, int]:
    """How many times expressions are compiled while one spec runs 25 examples: once per spec."""
    calls = {"n": 0}
    real_block, real_expr = expr.compile_block, expr.compile_expr

    def counting(fn):
        def wrapper(*a, **k):
            calls["n"] += 1
            return fn(*a, **k)
        return wrapper

    expr.compile_block, expr.compile_expr = counting(real_block), counting(real_expr)
    try:
        specs, _ = spec.load_file(BENCH_SPECS)
        at_load = calls["n"]
        rec = runner.Record()
        settings(settings.get_profile("ci"), max_examples=25)(runner.build_test(specs[0], "cpu", rec))()
    finally:
        expr.compile_block, expr.compile_expr = real_block, real_expr
    return {"compiled_at_load": at_load, "compiled_while_running": calls["n"] - at_load, "examples": rec.examples}


def suite(workers: str | None, *extra: str) -> tuple[float, int]:
    """Wall time and peak RSS (KiB, largest single process) of the whole suite."""
    cmd = [sys.executable, "-m", "pytest", "specs", "-q", "-p", "no:cacheprovider", "--device", "cpu",
           "--hypothesis-profile", "ci", *extra]
    if workers:
        cmd += ["-n", workers]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False)
    wall = time.perf_counter() - t0
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def isolation_overhead(repeats: int, *extra: str) -> dict[str, float]:
    """The suite with isolation (worker processes, limits) / without, serial and -n 2, interleaved
    off-on-on-off so that a drift of the machine's load hits both sides alike; median per side."""
    out: dict[str, float] = {}
    for label, workers in (("serial", None), ("n2", "2")):
        times: dict[str, list[float]] = {"off": [], "on": []}
        cpu: dict[str, list[float]] = {"off": [], "on": []}
        for i in range(repeats):
            for mode in (("off", "on") if i % 2 == 0 else ("on", "off")):
                before = _children_cpu()
                times[mode].append(suite(workers, "--spec-isolation", mode, *extra)[0])
                cpu[mode].append(_children_cpu() - before)
        off, on = statistics.median(times["off"]), statistics.median(times["on"])
        out[f"{label}_off_s"], out[f"{label}_on_s"], out[f"{label}_ratio"] = off, on, on / off
        off, on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
        out[f"{label}_off_cpu_s"], out[f"{label}_on_cpu_s"], out[f"{label}_cpu_ratio"] = off, on, on / off
    return out


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far, workers of workers included."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer repetitions and specs (for tests)")
    p.add_argument("--skip-suite", action="store_true", help="skip the whole-suite runs (3 and 4)")
    p.add_argument("--json", help="also write the figures as JSON")
    p.add_argument("--isolation-only", action="store_true", help="only 5. (isolation overhead)")
    p.add_argument("--repeats", type=int, default=2, help="whole-suite repetitions per side in 5. (default 2)")
    args = p.parse_args(argv)
    if args.isolation_only:
        return _isolation_section(args.repeats, args.json)
    profiles.register()
    torch.set_num_threads(1)  # both sides single-threaded: measure the engine, not intra-op scheduling
    out: dict[str, object] = {"torch": torch.__version__}

    print("1. engine overhead (engine / hand-written twin, median of interleaved runs; goal <= 1.15x)")
    ratios = engine_overhead(repeats=3 if args.quick else 9, examples=10 if args.quick else 25)
    for sid, r in ratios.items():
        print(f"   {sid:28} {r:5.2f}x")
    geo = statistics.geometric_mean(ratios.values())
    print(f"   {'geometric mean':28} {geo:5.2f}x")
    out["overhead"] = {**ratios, "geometric_mean": geo}

    n = 100 if args.quick else 1000
    print(f"2. collection of {n} generated specs (goal < 2 s)")
    col = collection(n)
    print(f"   load+validate+compile      {col['load_validate_compile_s']:6.2f} s")
    print(f"   pytest --collect-only      {col['pytest_collect_s']:6.2f} s  ({col['pytest_wall_s']:.2f} s with interpreter start)")
    counts = compile_counts()
    print(f"   compilations: {counts['compiled_at_load']} at load, {counts['compiled_while_running']} "
          f"during {counts['examples']} examples")
    out["collection"], out["compile_counts"] = col, counts

    if not args.skip_suite:
        print("3./4. whole suite, ci profile, --device cpu")
        serial, rss1 = suite(None)
        parallel, rss2 = suite("2")
        print(f"   serial {serial:6.1f} s   -n 2 {parallel:6.1f} s   speed-up {serial / parallel:4.2f}x (goal >= 1.7x)")
        print(f"   peak RSS of one process: {max(rss1, rss2) / 1024:.0f} MiB")
        out["suite"] = {"serial_s": serial, "parallel_s": parallel, "speedup": serial / parallel,
                        "peak_rss_mib": max(rss1, rss2) / 1024, "cpus": os.cpu_count()}
        out["isolation"] = _isolation_section(args.repeats, None, quiet_json=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


def _isolation_section(repeats: int, json_path: str | None, quiet_json: bool = False) -> Any:
    print(f"5. isolation (--spec-isolation on / off, median of {repeats} interleaved; goal <= 1.10x;\n"
          "   CPU seconds are the steadier figure on a shared machine)")
    iso = isolation_overhead(repeats, "--ignore=specs/families")
    for label in ("serial", "n2"):
        print(f"   {label:6} wall off {iso[label + '_off_s']:6.1f} s   on {iso[label + '_on_s']:6.1f} s   "
              f"{iso[label + '_ratio']:4.2f}x   cpu off {iso[label + '_off_cpu_s']:6.1f} s   "
              f"on {iso[label + '_on_cpu_s']:6.1f} s   {iso[label + '_cpu_ratio']:4.2f}x")
    if quiet_json:
        return iso
    if json_path:
        Path(json_path).write_text(json.dumps({"isolation": iso}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
