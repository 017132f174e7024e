"""The package's architecture as tests: one direction of imports, no cycles, results readers without torch.

The layer contract itself is data in pyproject.toml ([tool.importlinter]); `lint-imports` checks it
here and in `tox -e lint`.  These tests also prove the contract bites (a deliberate upward import
breaks it) and that `gate`, `merge` and `report` run where torch, numpy, pytest and Hypothesis are
not installed.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "conformance"
GATE_RESULTS = ROOT / "tests" / "fixtures" / "gate" / "results"

# Imports inside functions that are not about cycles: optional packages, and the CLI's torch-needing
# commands (imported when they run so that gate/merge/report work without torch).
LOCAL_IMPORTS_ALLOWED = {
    ("lang/helpers.py", "pandas"),
}


def _lint_imports(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is not installed (pip install -e '.[test]')"
    return subprocess.run([exe, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_layer_contract_is_kept() -> None:
    proc = _lint_imports(ROOT, ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_layer_contract_fails_on_an_upward_import(tmp_path: Path) -> None:
    """A lower layer importing a higher one is refused: the contract is not decorative."""
    shutil.copytree(PACKAGE, tmp_path / "conformance", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    values = tmp_path / "conformance" / "lang" / "values.py"
    values.write_text(values.read_text() + "\nfrom conformance.outputs import report  # noqa: E402  (deliberately wrong)\n")
    proc = _lint_imports(tmp_path, tmp_path)
    assert proc.returncode != 0, proc.stdout
    assert "BROKEN" in proc.stdout and "conformance.lang.values -> conformance.outputs.report" in proc.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_modules() -> None:
    graph = grimp.build_graph("conformance")
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(m)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert _cycles(graph) == [["p.a", "p.b"]]


def _local_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Import):
                out += [(node.lineno, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                out.append((node.lineno, node.module or "."))
    return out


def test_no_function_local_imports() -> None:
    """Imports sit at the top of a module, where readers and import-linter see them."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for line, name in _local_imports(path):
            if (rel, name.split(".")[0]) not in LOCAL_IMPORTS_ALLOWED:
                found.append(f"conformance/{rel}:{line}: import {name}")
    assert found == []


# -- results readers without torch -------------------------------------------------------------------

BLOCKER = textwrap.dedent('''
    import sys

    class _NotInstalled:
        """Acts as if torch, numpy, pytest and hypothesis were not installed."""
        blocked = ("torch", "numpy", "pytest", "_pytest", "hypothesis")

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.blocked:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, _NotInstalled())
''')


def _without_torch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    code = "import sys; from conformance.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_blocker_really_blocks(tmp_path: Path) -> None:
    proc = _without_torch(tmp_path, "validate", str(ROOT / "specs" / "arith"))
    assert proc.returncode != 0
    assert "blocked by the test" in proc.stderr


def test_gate_merge_report_run_without_torch(tmp_path: Path) -> None:
    clean = GATE_RESULTS / "h200-torch2.11-clean.json"
    fault = GATE_RESULTS / "h200-torch2.11-fault.json"
    merged = tmp_path / "merged.json"
    proc = _without_torch(tmp_path, "merge", str(clean), "-o", str(merged))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(merged.read_text())["schema"] == "torch-conformance/results-set"

    proc = _without_torch(tmp_path, "gate", "--baseline", str(clean), "--current", str(clean))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _without_torch(tmp_path, "gate", "--baseline", str(clean), "--current", str(fault))
    assert proc.returncode == 1, proc.stdout + proc.stderr   # the injected fault is a regression

    page = tmp_path / "index.html"
    proc = _without_torch(tmp_path, "report", str(merged), "-o", str(page))
    assert proc.returncode == 0, proc.stderr
    assert "<table" in page.read_text()


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    proc = _without_torch(tmp_path, "gate", "--baseline", str(bad), "--current", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.startswith("conformance gate: error: ") and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_results_tools_in_a_real_venv_without_torch(tmp_path: Path) -> None:
    """The same, in a fresh virtualenv holding only the results tools' dependencies."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    deps = ["jsonschema", "Jinja2", "packaging", "PyYAML"]
    install = subprocess.run([str(py), "-m", "pip", "install", "-q", *deps], capture_output=True, text=True, timeout=600)
    if install.returncode != 0:
        pytest.skip(f"cannot install {deps} into a fresh venv here: {install.stderr[-300:]}")
    assert subprocess.run([str(py), "-c", "import torch"], capture_output=True).returncode != 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    clean = GATE_RESULTS / "h200-torch2.11-clean.json"
    code = "import sys; from conformance.cli import main; sys.exit(main(sys.argv[1:]))"
    for args in (["gate", "--baseline", str(clean), "--current", str(clean)],
                 ["merge", str(clean), "-o", str(tmp_path / "m.json")],
                 ["report", str(clean), "-o", str(tmp_path / "r.html")]):
        proc = subprocess.run([str(py), "-c", code, *args], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
