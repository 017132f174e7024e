"""The expression language: what specs can write, and every way out of the allow-list that is closed."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
import pytest
import torch

from conformance.errors import ExprError
from conformance.lang import expr, names, spec

NS = spec.base_namespace()


def _scope(env: dict[str, Any]) -> expr.Scope:
    return expr.Scope(set(spec.BASE_NAMES) | set(env))


def run(text: str, **env: Any) -> dict[str, Any]:
    """Compile statements against the allow-list, run them, return the spec's own variables."""
    fn = expr.compile_block(text, _scope(env), NS)
    full = {**NS, "device": torch.device("cpu"), **env}
    fn(full)
    return {k: v for k, v in full.items() if k not in NS}


def evaluate(text: str, **env: Any) -> Any:
    return expr.compile_expr(text, _scope(env), NS)({**NS, "device": torch.device("cpu"), **env})


def refused_at_load(text: str, **env: Any) -> str:
    with pytest.raises(ExprError) as info:
        expr.compile_block(text, _scope(env), NS)
    return info.value.message


X = torch.arange(6.0).reshape(2, 3)


# -- load time: names, dunders, builtins ---------------------------------------------------------

@pytest.mark.parametrize("text", [
    "open('/etc/passwd')", "eval('1')", "exec('y = 1')", "__import__('os')", "getattr(torch, 'save')",
    "setattr(torch, 'add', None)", "globals()", "locals()", "vars(torch)", "compile('1', 'f', 'eval')",
    "breakpoint()", "input()", "object", "memoryview(b'')",
])
def test_escape_builtins_are_refused_by_name(text: str):
    assert "is not allowed in specs" in refused_at_load(text)


@pytest.mark.parametrize("text", ["os.system('true')", "sys.modules", "subprocess", "builtins.open"])
def test_modules_that_are_not_aliases_are_undefined(text: str):
    assert "undefined name" in refused_at_load(text)


@pytest.mark.parametrize("text", [
    "x.__class__", "x.__class__.__bases__", "torch.__dict__", "torch.Tensor.__subclasses__()",
    "().__class__.__base__", "type(x).__mro__", "torch.add.__self__", "helpers.roundtrip.__globals__",
    "x.__reduce_ex__(2)",
])
def test_dunder_attributes_are_refused(text: str):
    assert "dunder attribute" in refused_at_load(text, x=X)


@pytest.mark.parametrize("text", ["torch._C", "x._grad_fn", "np._core", "torch.nn.Module._apply"])
def test_private_attributes_are_refused(text: str):
    assert "private attribute" in refused_at_load(text, x=X)


def test_the_documented_private_attributes_are_readable():
    out = run("v = x.view(6)\nbase = v._base\nver = x._version\nis_view = v._is_view()", x=X.clone())
    assert out["base"] is out["x"] and out["is_view"] is True and isinstance(out["ver"], int)


# -- load time: file I/O and modules outside the allow-list ------------------------------------

@pytest.mark.parametrize("text", [
    "torch.save(x, 'leak.pt')", "torch.load('leak.pt')", "np.load('leak.npy')", "np.save('leak', a)",
    "a.tofile('leak.bin')", "x.numpy().tofile('leak.bin')", "a.dump('leak.pkl')", "a.dumps()",
    "torch.from_file('leak.bin')", "torch.UntypedStorage.from_file('leak.bin')",
    "x.untyped_storage().from_file('leak.bin')", "np.rec.fromfile('leak.bin')", "torch.jit.load('m.pt')",
    "torch.profiler.profile().export_chrome_trace('trace.json')",
])
def test_file_io_is_refused_by_attribute_name(text: str):
    assert "reads or writes files" in refused_at_load(text, x=X, a=X.numpy())


@pytest.mark.parametrize("text", [
    "'{0.__class__}'.format(x)", "str.format('{0.__class__}', x)", "'{x}'.format_map({'x': x})",
])
def test_str_format_is_refused_because_it_reads_attributes(text: str):
    assert "str.format reads attributes" in refused_at_load(text, x=X)


@pytest.mark.parametrize("text", [
    "np.fromfile('leak.bin')", "np.loadtxt('leak.txt')", "np.genfromtxt('leak.txt')", "np.memmap('leak.bin')",
    "np.savetxt('leak.txt', a)", "np.fromregex('leak.txt', 'x', 'i4')", "torch.compile(torch.add)",
])
def test_file_io_and_compiling_functions_are_refused_by_identity(text: str):
    message = refused_at_load(text, a=X.numpy())
    assert "not allowed in specs" in message or "reads or writes files" in message


@pytest.mark.parametrize("text,module", [
    ("torch.os.getcwd()", "os"), ("torch.sys.modules", "sys"), ("F.torch.os", "os"),
    ("torch.serialization.pickle", "torch.serialization"), ("torch.xpu.cast", "torch.xpu"),
    ("np.lib.npyio", "numpy.lib"), ("torch.hub.list('x/y')", "torch.hub"),
    ("torch.multiprocessing.spawn", "torch.multiprocessing"), ("torch.jit.script", "torch.jit"),
    # torch.utils.collect_env.run() hands its argument to a shell
    ("torch.utils.collect_env.run('touch /tmp/conformance-escape')", "torch.utils.collect_env"),
    ("torch.utils.data.datapipes.iter.FileOpener", "torch.utils.data.datapipes"),
    ("torch.cuda.tunable", "torch.cuda.tunable"),
])
def test_modules_outside_the_allow_list_are_refused_at_load(text: str, module: str):
    message = refused_at_load(text)
    assert f"module {module!r}" in message and "outside the allow-list" in message


@pytest.mark.parametrize("text", ["np.ctypeslib.as_array", "np.testing.assert_equal", "np.f2py.run_main"])
def test_modules_that_are_not_imported_stay_unreachable(text: str):
    # numpy and torch load these lazily on first attribute access: specs never trigger an import
    assert "unknown name" in refused_at_load(text)


@pytest.mark.parametrize("text,origin", [
    ("torch.CompilationUnit('def f(x: int) -> int: return x')", "torch.jit"),
    ("torch.utils.data.IterDataPipe", "torch.utils.data.datapipes"),
])
def test_re_exports_of_denied_modules_are_refused(text: str, origin: str):
    message = refused_at_load(text)
    assert f"comes from '{origin}" in message


@pytest.mark.parametrize("text,message", [
    ("import os", "import statements are not allowed"),
    ("from os import path", "import statements are not allowed"),
    ("f = lambda v: v", "lambdas are not allowed"),
    ("def f():\n    return 1", "function bodies are not allowed"),
    ("class A:\n    pass", "class definitions are not allowed"),
    ("while True:\n    pass", "while loops are not allowed"),
    ("try:\n    y = 1\nexcept Exception:\n    pass", "try blocks are not allowed"),
    ("del x", "del is not allowed"),
    ("global x", "global statements are not allowed"),
    ("raise ValueError('no')", "raise is not allowed"),
    ("assert x.sum() > 0", "assert is not allowed"),
    ("y = f'{x}'", "f-strings are not allowed"),
    ("y = (z := 1)", "walrus"),
    ("for i in range(2):\n    pass\nelse:\n    pass", "for/else is not allowed"),
    ("y = {**d}", "dict unpacking"),
    ("torch = 1", "cannot assign to 'torch'"),
    ("ys = [np for np in range(3)]", "cannot assign to 'np'"),
    ("with torch.no_grad(), torch.enable_grad():\n    pass", "one context manager per with"),
])
def test_statements_outside_the_subset_are_refused(text: str, message: str):
    assert message in refused_at_load(text, x=X, d={})


def test_syntax_errors_and_error_lines_inside_a_block():
    assert "invalid syntax" in refused_at_load("y = (1,")
    with pytest.raises(ExprError) as info:
        expr.compile_block("y = 1\nz = y + 1\nw = nowhere", _scope({}), NS)
    assert info.value.offset_line == 2 and "undefined name 'nowhere'" in info.value.message


def test_unknown_torch_names_are_load_errors_with_a_suggestion():
    message = refused_at_load("torch.frobnicate(1)")
    assert "unknown name 'torch.frobnicate'" in message
    with pytest.raises(ExprError) as info:
        expr.compile_expr("torch.zeroes(2)", _scope({}), NS)
    assert "torch.zeros" in info.value.hint


def test_a_later_variable_is_undefined_earlier():
    assert "undefined name 'later'" in refused_at_load("y = later + 1\nlater = 2")


# -- run time: values whose attributes lead out of the allow-list ------------------------------

@pytest.mark.parametrize("text", [
    "t = torch\np = t.os",                       # a module held in a variable
    "ms = [np, torch]\np = ms[1].sys",           # ... or inside a list
    "u = torch.utils\np = u.collect_env",        # a denied submodule reached through a value
    "n = np\np = n.lib",
    "p = [m.os for m in [torch]]",               # ... or inside a comprehension
    "q = [torch][0]\np = q.serialization",
])
def test_attributes_of_values_are_checked_at_run_time(text: str):
    fn = expr.compile_block(text, _scope({}), NS)   # nothing static to refuse: names are variables
    with pytest.raises(names.NameRefused, match="outside the allow-list"):
        fn({**NS})


@pytest.mark.parametrize("text", [
    "torch.add = torch.sub", "torch.Tensor.view = torch.Tensor.clone", "np.sum = np.prod", "F.relu = F.gelu",
    "helpers.roundtrip = torch.add", "torch.nn.functional.x = 1",
])
def test_specs_cannot_patch_modules_or_types(text: str):
    assert "cannot set attribute" in refused_at_load(text)


@pytest.mark.parametrize("text", [
    "t = torch\nt.add = t.sub", "T = torch.Tensor\nT.view = T.clone", "h = helpers\nh.roundtrip = torch.add",
    "f = torch.add\nf.x = 1",
])
def test_specs_cannot_patch_modules_or_types_held_in_variables(text: str):
    originals = (torch.add, torch.Tensor.view, spec.base_namespace()["helpers"].roundtrip)
    fn = expr.compile_block(text, _scope({}), NS)
    with pytest.raises(names.NameRefused, match="cannot set attribute"):
        fn({**NS})
    assert (torch.add, torch.Tensor.view, spec.base_namespace()["helpers"].roundtrip) == originals


def test_attributes_of_ordinary_objects_can_be_set():
    m = torch.nn.Linear(2, 2)
    out = run("m.weight = nn.Parameter(torch.zeros(2, 2))\nm.bias.requires_grad = False", m=m)
    assert torch.equal(out["m"].weight, torch.zeros(2, 2)) and not m.bias.requires_grad


def test_torch_chains_are_looked_up_again_at_run_time(monkeypatch: pytest.MonkeyPatch):
    fn = expr.compile_expr("torch.add(x, 1)", _scope({"x": X}), NS)
    monkeypatch.setattr(torch, "add", torch.sub)  # a patched backend must be what the spec observes
    assert torch.equal(fn({**NS, "x": X}), X - 1)


def test_nothing_is_passed_to_eval_or_exec(monkeypatch: pytest.MonkeyPatch):
    def forbidden(*args: Any, **kw: Any) -> Any:
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    out = run("y = torch.cat([x, x * 2], dim=0)\nz = [v.sum().item() for v in y]\nw = {k: k ** 2 for k in range(3)}",
              x=X)
    assert out["z"] == [3.0, 12.0, 6.0, 24.0] and out["w"] == {0: 0, 1: 1, 2: 4}


# -- comprehensions, blocks, assignment ---------------------------------------------------------

def test_comprehension_variables_do_not_leak():
    assert "undefined name 'i'" in refused_at_load("ys = [i * 2 for i in range(3)]\nz = i")
    out = run("ys = [i * 2 for i in range(3)]")
    assert out["ys"] == [0, 2, 4] and "i" not in out


def test_comprehension_variable_does_not_clobber_an_outer_one():
    out = run("v = 5\nys = [v for v in range(3)]\nk = v")
    assert out["ys"] == [0, 1, 2] and out["v"] == 5 and out["k"] == 5


def test_comprehensions_see_outer_variables_and_nest():
    out = run("grid = [[i * j + k for j in range(2)] for i in range(3) if i != 1]\n"
              "s = {d % 2 for d in range(5)}\ng = list(t + 1 for t in range(3))\n"
              "pairs = {i: j for i, j in zip(range(2), 'ab')}", k=10)
    assert out["grid"] == [[10, 10], [10, 12]]
    assert out["s"] == {0, 1} and out["g"] == [1, 2, 3] and out["pairs"] == {0: "a", 1: "b"}


def test_with_block_applies_its_context_and_restores_it():
    x = torch.ones(3, requires_grad=True)
    out = run("with torch.no_grad():\n    y = x * 2\n    inside = torch.is_grad_enabled()\nz = x * 2", x=x)
    assert out["inside"] is False and out["y"].requires_grad is False
    assert out["z"].requires_grad is True and torch.is_grad_enabled()


def test_with_as_binds_the_context_value():
    out = run("with torch.random.fork_rng() as fork:\n    r = torch.rand(2)\nn = fork is None")
    assert out["n"] is True and out["r"].shape == (2,)


def test_for_loops_with_unpacking_and_if():
    out = run("total = 0\nseen = []\nfor i, v in enumerate([3, 4, 5]):\n    if i % 2 == 0:\n        total += v\n"
              "    else:\n        seen.append(v)")
    assert out["total"] == 8 and out["seen"] == [4]


def test_runaway_loops_are_stopped():
    fn = expr.compile_block("for i in range(10 ** 9):\n    pass", _scope({}), NS)
    with pytest.raises(names.BudgetExceeded, match="ran past the budget of 1,000,000 operations"):
        fn({**NS})


def test_the_budget_bounds_the_product_of_nested_loops():
    # each loop is short; together they are 10**8 iterations: the per-example budget stops them
    fn = expr.compile_block("n = 0\nfor i in range(10 ** 4):\n    for j in range(10 ** 4):\n        n += 1",
                            _scope({}), NS)
    env = {**NS}
    with pytest.raises(names.BudgetExceeded, match="a for loop ran past the budget"):
        fn(env)
    assert env["n"] < expr.MAX_OPS


def test_aug_assign_is_in_place_on_tensors():
    x = torch.zeros(3)
    version = x._version
    out = run("y = x\ny += 1\nx[0] += 5\nx *= 2", x=x)
    assert out["y"] is x and out["x"] is x     # __iadd__ / __imul__, not a new binding
    assert x.tolist() == [12.0, 2.0, 2.0]
    assert x._version > version


def test_aug_assign_is_in_place_on_ndarrays_and_rebinds_immutables():
    a = np.zeros(2)
    out = run("b = a\nb += 3\nn = 1\nn += 1\nt = (1,)\nt += (2,)", a=a)
    assert out["b"] is a and a.tolist() == [3.0, 3.0]
    assert out["n"] == 2 and out["t"] == (1, 2)


def test_aug_assign_needs_a_defined_name():
    assert "undefined name 'nope'" in refused_at_load("nope += 1")


def test_assignment_targets_unpack_and_index():
    out = run("a, (b, c) = 1, (2, 3)\nd = torch.zeros(3)\nd[1:] = torch.tensor([7.0, 8.0])\ne = d[..., -1]")
    assert (out["a"], out["b"], out["c"]) == (1, 2, 3) and out["d"].tolist() == [0.0, 7.0, 8.0]
    assert out["e"].item() == 8.0
    with pytest.raises(ValueError, match="cannot unpack more than 2 values into 2 names"):
        run("a, b = [1, 2, 3]")
    with pytest.raises(ValueError, match="cannot unpack 1 values into 2 names"):
        run("a, b = [1]")


def test_expressions_cover_the_documented_subset():
    env = {"x": X, "s": (2, 3)}
    assert evaluate("torch.zeros(*s, dtype=torch.int64).shape", **env) == (2, 3)
    assert evaluate("x @ x.t()", **env).shape == (2, 2)
    assert evaluate("-x[0, 1:] if x.dim() == 2 and not x.is_cuda else None", **env).tolist() == [-1.0, -2.0]
    assert evaluate("0 < 1 <= 1 != 2", **env) is True
    assert evaluate("x.dtype is torch.float32 and x.dtype is not torch.int64", **env) is True
    assert evaluate("3 in [1, 2, 3] and 4 not in {1: 2}", **env) is True
    assert evaluate("helpers.roundtrip(x)", **env).equal(X)  # file I/O only through helpers
    assert evaluate("isinstance(F.relu(x), torch.Tensor) and isinstance(optim.SGD, type)", **env) is True


def test_names_in_lists_free_names():
    assert expr.names_in("x.shape[0] + len(ys) * k") >= {"x", "ys", "k", "len"}
    assert expr.names_in("not python (") == set()
