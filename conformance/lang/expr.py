"""The allow-listed expression language of `steps` and `expect`.

Spec text is parsed with `ast`, checked against a small subset of Python (names, attributes, calls,
subscripts, arithmetic, comparisons, literals, comprehensions, `with`/`for` blocks, assignment) and
compiled once, at load time, into a tree of closures.  Nothing is ever passed to eval/exec: the
closures only call what the namespace (see names.py) holds, so a spec can do no more than the
allow-list lets it.
"""

from __future__ import annotations

import ast
import difflib
import operator
import textwrap
import types
from collections.abc import Callable, Iterable
from typing import Any

from conformance.errors import ExprError
from conformance.lang import names

Env = dict[str, Any]
Fn = Callable[[Env], Any]

_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.MatMult: operator.matmul, ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}
# In-place operators matter: `x += 1` on a tensor is `x.__iadd__`, an in-place op.
_AUGOPS = {
    ast.Add: operator.iadd, ast.Sub: operator.isub, ast.Mult: operator.imul, ast.Div: operator.itruediv,
    ast.FloorDiv: operator.ifloordiv, ast.Mod: operator.imod, ast.Pow: operator.ipow,
    ast.MatMult: operator.imatmul, ast.BitAnd: operator.iand, ast.BitOr: operator.ior,
    ast.BitXor: operator.ixor,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_, ast.Invert: operator.invert}
_CMP = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_REFUSED_NODES = {
    ast.Import: "import statements are not allowed in specs",
    ast.ImportFrom: "import statements are not allowed in specs",
    ast.Lambda: "lambdas are not allowed in specs; use a helpers.* builder or a torch function",
    ast.FunctionDef: "function bodies are not allowed in specs; use helpers.* builders",
    ast.AsyncFunctionDef: "function bodies are not allowed in specs",
    ast.ClassDef: "class definitions are not allowed in specs; use helpers.Module / helpers.Dataset",
    ast.Global: "global statements are not allowed", ast.Nonlocal: "nonlocal is not allowed",
    ast.Delete: "del is not allowed", ast.While: "while loops are not allowed (use for over range)",
    ast.Try: "try blocks are not allowed; use the `raises` check", ast.Raise: "raise is not allowed",
    ast.NamedExpr: "the walrus operator is not allowed", ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed", ast.YieldFrom: "yield is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
}
MAX_LOOP = 100_000  # a for loop over anything longer is a spec bug, not a behaviour


class Scope:
    """Names known at a point of a spec: the base namespace plus variables defined so far."""

    def __init__(self, known: Iterable[str]):
        self.known = set(known)

    def child(self) -> Scope:
        return Scope(self.known)


class _Compiler:
    def __init__(self, scope: Scope, namespace: dict[str, Any]):
        self.scope = scope
        self.ns = namespace  # used only to resolve module-alias chains statically

    # -- errors -------------------------------------------------------------------------------
    def fail(self, node: ast.AST, message: str, hint: str = "") -> ExprError:
        return ExprError(message, hint, getattr(node, "lineno", 1) - 1)

    # -- statements ---------------------------------------------------------------------------
    def block(self, stmts: list[ast.stmt]) -> Fn:
        fns = [self.stmt(s) for s in stmts]

        def run(env: Env) -> None:
            for fn in fns:
                fn(env)

        return run

    def stmt(self, node: ast.stmt) -> Fn:
        if type(node) in _REFUSED_NODES:
            raise self.fail(node, _REFUSED_NODES[type(node)])
        if isinstance(node, ast.Expr):
            return self.expr(node.value)
        if isinstance(node, ast.Assign):
            value = self.expr(node.value)
            setters = [self.target(t) for t in node.targets]

            def assign(env: Env) -> None:
                v = value(env)
                for s in setters:
                    s(env, v)

            return assign
        if isinstance(node, ast.AugAssign):
            return self.augassign(node)
        if isinstance(node, ast.With):
            return self.with_(node)
        if isinstance(node, ast.For):
            if node.orelse:
                raise self.fail(node, "for/else is not allowed")
            it = self.expr(node.iter)
            setter = self.target(node.target)
            body = self.block(node.body)

            def loop(env: Env) -> None:
                for i, v in enumerate(it(env)):
                    if i >= MAX_LOOP:
                        raise RuntimeError(f"spec loop ran over {MAX_LOOP} iterations")
                    setter(env, v)
                    body(env)

            return loop
        if isinstance(node, ast.If):
            test = self.expr(node.test)
            body = self.block(node.body)
            orelse = self.block(node.orelse)
            return lambda env: body(env) if test(env) else orelse(env)
        if isinstance(node, ast.Pass):
            return lambda env: None
        if isinstance(node, ast.Assert):
            raise self.fail(node, "assert is not allowed in steps; use the `expect` checks (e.g. holds)")
        raise self.fail(node, f"{type(node).__name__} statements are not allowed in specs")

    def augassign(self, node: ast.AugAssign) -> Fn:
        op = _AUGOPS.get(type(node.op))
        if op is None:
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        if isinstance(node.target, ast.Name):
            name = node.target.id
            if name not in self.scope.known:
                raise self.undefined(node.target)

            def aug_name(env: Env) -> None:
                env[name] = op(env[name], value(env))

            value = self.expr(node.value)
            return aug_name
        if isinstance(node.target, ast.Subscript):
            obj, index, value = self.expr(node.target.value), self.expr(node.target.slice), self.expr(node.value)

            def aug_item(env: Env) -> None:
                o, i = obj(env), index(env)
                o[i] = op(o[i], value(env))

            return aug_item
        raise self.fail(node, "augmented assignment needs a name or a subscript target")

    def with_(self, node: ast.With) -> Fn:
        if len(node.items) != 1:
            raise self.fail(node, "use one context manager per with statement")
        item = node.items[0]
        ctx = self.expr(item.context_expr)
        setter = self.target(item.optional_vars) if item.optional_vars is not None else None
        body = self.block(node.body)

        def run(env: Env) -> None:
            with ctx(env) as v:
                if setter:
                    setter(env, v)
                body(env)

        return run

    def target(self, node: ast.expr) -> Callable[[Env, Any], None]:
        if isinstance(node, ast.Name):
            if node.id in names.MODULE_ALIASES or node.id == "helpers":
                raise self.fail(node, f"cannot assign to {node.id!r}: it names an allowed module")
            self.scope.known.add(node.id)
            name = node.id

            def set_name(env: Env, v: Any) -> None:
                env[name] = v

            return set_name
        if isinstance(node, ast.Tuple | ast.List):
            setters = [self.target(e) for e in node.elts]

            def set_many(env: Env, v: Any) -> None:
                values = list(v)
                if len(values) != len(setters):
                    raise ValueError(f"cannot unpack {len(values)} values into {len(setters)} names")
                for s, x in zip(setters, values, strict=True):
                    s(env, x)

            return set_many
        if isinstance(node, ast.Subscript):
            obj, index = self.expr(node.value), self.expr(node.slice)

            def set_item(env: Env, v: Any) -> None:
                obj(env)[index(env)] = v

            return set_item
        if isinstance(node, ast.Attribute):
            self.attr_name(node)
            obj, attr = self.expr(node.value), node.attr

            def set_attr(env: Env, v: Any) -> None:
                target = obj(env)
                if isinstance(target, type) or type(target).__module__ in ("builtins",) or _is_module(target):
                    raise names.NameRefused(f"cannot set attribute {attr!r} on {type(target).__name__}")
                setattr(target, attr, v)

            return set_attr
        raise self.fail(node, f"cannot assign to {type(node).__name__}")

    # -- expressions --------------------------------------------------------------------------
    def undefined(self, node: ast.Name) -> ExprError:
        if node.id in names.FORBIDDEN_BUILTINS:
            return self.fail(node, f"name {node.id!r} is not allowed in specs",
                             "specs may only use torch, nn, F, optim, np, helpers, safe builtins and their own variables")
        close = difflib.get_close_matches(node.id, sorted(self.scope.known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "define it in `given` or in an earlier step"
        return self.fail(node, f"undefined name {node.id!r}", hint)

    def attr_name(self, node: ast.Attribute) -> None:
        try:
            names.check_attr_name(node.attr)
        except names.NameRefused as e:
            raise self.fail(node, str(e)) from None

    def static_chain(self, node: ast.expr) -> tuple[bool, Any, str]:
        """Resolve `alias.a.b` at load time; (True, value, dotted) when the chain starts at an alias."""
        if isinstance(node, ast.Name) and node.id in names.MODULE_ALIASES:
            try:
                return True, names.resolve_alias(node.id), node.id
            except ImportError:
                return True, _ABSENT, node.id  # optional module: the spec's `requires` skips it
        if isinstance(node, ast.Attribute):
            ok, base, dotted = self.static_chain(node.value)
            if ok and base is not _ABSENT:
                self.attr_name(node)
                dotted = f"{dotted}.{node.attr}"
                if not hasattr(base, node.attr):
                    close = difflib.get_close_matches(node.attr, [a for a in dir(base) if not a.startswith("_")], n=1)
                    raise self.fail(node, f"unknown name {dotted!r}",
                                    f"did you mean {dotted.rsplit('.', 1)[0]}.{close[0]}?" if close else "")
                try:
                    return True, names.check_value(getattr(base, node.attr), dotted), dotted
                except names.NameRefused as e:
                    raise self.fail(node, str(e)) from None
            return ok, base, dotted
        return False, None, ""

    def expr(self, node: ast.expr) -> Fn:
        if type(node) in _REFUSED_NODES:
            raise self.fail(node, _REFUSED_NODES[type(node)])
        if isinstance(node, ast.Constant):
            v = node.value
            return lambda env: v
        if isinstance(node, ast.Name):
            if node.id not in self.scope.known:
                raise self.undefined(node)
            name = node.id
            return lambda env: env[name]
        if isinstance(node, ast.Attribute):
            self.attr_name(node)
            ok, value, dotted = self.static_chain(node)  # load-time check of `torch.x.y` chains
            obj, attr = self.expr(node.value), node.attr
            if ok and value is not _ABSENT:
                # Looked up again at run time: a patched torch (a fault, a backend shim) must be seen.
                return lambda env: names.check_value(getattr(obj(env), attr), dotted)
            return lambda env: names.safe_getattr(obj(env), attr)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            obj, index = self.expr(node.value), self.expr(node.slice)
            return lambda env: obj(env)[index(env)]
        if isinstance(node, ast.Slice):
            lo, hi, st = (self.expr(p) if p is not None else None for p in (node.lower, node.upper, node.step))
            return lambda env: slice(lo(env) if lo else None, hi(env) if hi else None, st(env) if st else None)
        if isinstance(node, ast.Tuple):
            parts = [self.expr(e) for e in node.elts]
            return lambda env: tuple(p(env) for p in parts)
        if isinstance(node, ast.List):
            parts = [self.expr(e) for e in node.elts]
            return lambda env: [p(env) for p in parts]
        if isinstance(node, ast.Set):
            parts = [self.expr(e) for e in node.elts]
            return lambda env: {p(env) for p in parts}
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise self.fail(node, "dict unpacking (**) is not allowed in literals")
            keys = [self.expr(k) for k in node.keys if k is not None]
            vals = [self.expr(v) for v in node.values]
            return lambda env: {k(env): v(env) for k, v in zip(keys, vals, strict=True)}
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
            a, b = self.expr(node.left), self.expr(node.right)
            return lambda env: op(a(env), b(env))
        if isinstance(node, ast.UnaryOp):
            uop: Callable[[Any], Any] = _UNARY[type(node.op)]  # type: ignore[assignment]
            a = self.expr(node.operand)
            return lambda env: uop(a(env))
        if isinstance(node, ast.BoolOp):
            parts = [self.expr(v) for v in node.values]
            if isinstance(node.op, ast.And):
                def and_(env: Env) -> Any:
                    v = True
                    for p in parts:
                        v = p(env)
                        if not v:
                            return v
                    return v
                return and_

            def or_(env: Env) -> Any:
                v = False
                for p in parts:
                    v = p(env)
                    if v:
                        return v
                return v
            return or_
        if isinstance(node, ast.Compare):
            left = self.expr(node.left)
            ops = [_CMP[type(o)] for o in node.ops]
            rights = [self.expr(c) for c in node.comparators]

            def compare(env: Env) -> Any:
                a = left(env)
                result: Any = True
                for op, r in zip(ops, rights, strict=True):
                    b = r(env)
                    result = op(a, b)
                    if len(ops) > 1 and not _truthy(result):
                        return result
                    a = b
                return result
            return compare
        if isinstance(node, ast.IfExp):
            t, a, b = self.expr(node.test), self.expr(node.body), self.expr(node.orelse)
            return lambda env: a(env) if t(env) else b(env)
        if isinstance(node, ast.ListComp | ast.GeneratorExp | ast.SetComp):
            return self.comprehension(node)
        if isinstance(node, ast.DictComp):
            return self.comprehension(node)
        if isinstance(node, ast.Starred):
            raise self.fail(node, "starred expressions are only allowed as call arguments")
        raise self.fail(node, f"{type(node).__name__} expressions are not allowed in specs")

    def call(self, node: ast.Call) -> Fn:
        if isinstance(node.func, ast.Name) and node.func.id not in self.scope.known:
            raise self.undefined(node.func)
        func = self.expr(node.func)
        args: list[tuple[bool, Fn]] = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.append((True, self.expr(a.value)))
            else:
                args.append((False, self.expr(a)))
        kwargs: list[tuple[str | None, Fn]] = [(k.arg, self.expr(k.value)) for k in node.keywords]

        def call(env: Env) -> Any:
            f = func(env)
            pos: list[Any] = []
            for star, a in args:
                if star:
                    pos.extend(a(env))
                else:
                    pos.append(a(env))
            kw: dict[str, Any] = {}
            for k, v in kwargs:
                if k is None:
                    kw.update(v(env))
                else:
                    kw[k] = v(env)
            return names.check_value(f(*pos, **kw), "a call result")

        return call

    def comprehension(self, node: Any) -> Fn:
        outer = self.scope
        self.scope = outer.child()
        try:
            gens = []
            for g in node.generators:
                if g.is_async:
                    raise self.fail(node, "async comprehensions are not allowed")
                it = self.expr(g.iter)
                setter = self.target(g.target)
                conds = [self.expr(c) for c in g.ifs]
                gens.append((it, setter, conds))
            if isinstance(node, ast.DictComp):
                key, val = self.expr(node.key), self.expr(node.value)
                elt = lambda env: (key(env), val(env))  # noqa: E731
            else:
                elt = self.expr(node.elt)
        finally:
            self.scope = outer

        def produce(env: Env, level: int) -> Iterable[Any]:
            it, setter, conds = gens[level]
            for i, v in enumerate(it(env)):
                if i >= MAX_LOOP:
                    raise RuntimeError(f"spec comprehension ran over {MAX_LOOP} items")
                setter(env, v)
                if all(c(env) for c in conds):
                    if level + 1 == len(gens):
                        yield elt(env)
                    else:
                        yield from produce(env, level + 1)

        kind = type(node)

        def run(env: Env) -> Any:
            local = dict(env)  # comprehension variables do not leak into the spec's namespace
            items = produce(local, 0)
            if kind is ast.ListComp:
                return list(items)
            if kind is ast.SetComp:
                return set(items)
            if kind is ast.DictComp:
                return dict(items)
            return iter(list(items))

        return run


class _Absent:
    def __repr__(self) -> str:
        return "<absent optional module>"


_ABSENT = _Absent()


def _is_module(x: Any) -> bool:
    return isinstance(x, types.ModuleType)


def _truthy(x: Any) -> bool:
    try:
        return bool(x)
    except RuntimeError:  # a multi-element tensor: chained comparisons mean "all"
        return bool(x.all())


def _parse(text: str, mode: str) -> ast.AST:
    if not isinstance(text, str):
        raise ExprError(f"expected an expression string, got {type(text).__name__} {text!r}")
    try:
        return ast.parse(text.strip() if mode == "eval" else _dedent(text), mode=mode)
    except SyntaxError as e:
        raise ExprError(f"invalid syntax: {e.msg} in {text.strip()!r}",
                        "steps and expressions use Python syntax", (e.lineno or 1) - 1) from None


def _dedent(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def compile_block(text: str, scope: Scope, namespace: dict[str, Any]) -> Fn:
    """Compile statements (one step, possibly multi-line); names it assigns join ``scope``."""
    tree = _parse(text, "exec")
    assert isinstance(tree, ast.Module)
    return _Compiler(scope, namespace).block(tree.body)


def compile_expr(text: str, scope: Scope, namespace: dict[str, Any]) -> Fn:
    """Compile one expression."""
    tree = _parse(text, "eval")
    assert isinstance(tree, ast.Expression)
    return _Compiler(scope, namespace).expr(tree.body)


def names_in(text: str) -> set[str]:
    """Free names an expression mentions (for dependency checks in `given`)."""
    try:
        tree = ast.parse(str(text).strip(), mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
