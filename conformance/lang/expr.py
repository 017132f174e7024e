"""The allow-listed expression language of `steps` and `expect`.

Spec text is parsed with `ast`, checked against a small subset of Python (names, attributes, calls,
subscripts, arithmetic, comparisons, literals, comprehensions, `with`/`for` blocks, assignment) and
compiled once, at load time, into a tree of closures.  Nothing is ever passed to eval/exec: the
closures only call what the namespace (see names.py) holds, so a spec can do no more than the
allow-list lets it.

Every value that enters a spec's variables or results from one of its expressions is checked
against the allow-list (names.check_value): attribute values, call results, subscripts, loop and
comprehension items, unpacked values, `with ... as` values.  Callables are checked when they are
produced (an attribute, a name), so before they are called; iterators handed to functions are
wrapped so that their items are checked as they are consumed.  Each example has a budget of
operations (loop iterations, comprehension items, consumed and repeated items): nested loops are
bounded by their product, and `[0] * 10**10`, `'a' * 10**10`, `10 ** 10**8` are refused before
they allocate.
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
from conformance.lang import helpers, names

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
MAX_OPS = names.MAX_OPS  # operations per example (see names.Budget)
_BUDGET = "<budget>"     # the example's Budget, under a key no spec name can take
helpers_type = helpers.Helpers
_SEQS = (str, bytes, list, tuple)
_INTS = (int, bool)


def budget_of(env: Env) -> names.Budget:
    """The example's operation budget (each example's namespace is fresh, so is its budget)."""
    b = env.get(_BUDGET)
    if b is None:
        b = env[_BUDGET] = names.Budget()
    return b


def _checked(v: Any, where: str) -> Any:
    return names.check_value(v, where)


def _items(v: Any, env: Env, where: str) -> Iterable[Any]:
    """Iterate a value for a spec: each item is charged to the budget and checked."""
    budget = budget_of(env)
    for x in v:
        budget.charge(1, where)
        yield names.check_value(x, where)


def _arg(v: Any, env: Env, where: str) -> Any:
    """A value handed to a function or operator: an iterator is wrapped (its items are checked and
    charged as the callee consumes them); a range is charged in full."""
    t = type(v)
    if t is range:
        budget_of(env).charge(_range_len(v), f"range of {_range_len(v):,} items handed to {where}")
    elif _wraps(t):
        return names.CheckedIter(v, budget_of(env), f"an item consumed by {where}")
    return v


_GUARDED = frozenset({int, bool, str, bytes, list, tuple})
_WRAP: dict[type, bool] = {}


def _wraps(t: type) -> bool:
    """Is `t` an iterator (whose items are produced lazily, so are checked when consumed)?"""
    w = _WRAP.get(t)
    if w is None:
        w = _WRAP[t] = names.kind(t) == "lazy" and hasattr(t, "__next__") and t is not names.CheckedIter
    return w


def _range_len(r: range) -> int:
    try:
        return len(r)
    except OverflowError:
        return MAX_OPS + 1


def _binop(op: Callable[[Any, Any], Any], a: Any, b: Any, env: Env) -> Any:
    """`a <op> b` with the guards against resource bombs, the result checked."""
    ta, tb = type(a), type(b)
    if ta in _GUARDED or tb in _GUARDED:
        _guard_binop(op, a, b, env)
    return names.check_value(op(a, _arg(b, env, "an operator") if _wraps(tb) else b), "an operator result")


def _guard_binop(op: Callable[[Any, Any], Any], a: Any, b: Any, env: Env) -> None:
    ta, tb = type(a), type(b)
    if op in (operator.pow, operator.ipow):
        names.check_int_power(a, b)
    elif op in (operator.lshift, operator.ilshift) and ta in _INTS and tb in _INTS:
        if b > 0 and a.bit_length() + b > names.MAX_INT_BITS:
            raise names.BudgetExceeded(f"spec refused: {a} << {b} would have {a.bit_length() + b:,} bits "
                                       f"(limit {names.MAX_INT_BITS:,})")
    elif op in (operator.mul, operator.imul):
        if ta in _INTS and tb in _INTS:
            if a.bit_length() + b.bit_length() > names.MAX_INT_BITS:
                raise names.BudgetExceeded(f"spec refused: a product of {a.bit_length() + b.bit_length():,} bits "
                                           f"(limit {names.MAX_INT_BITS:,})")
        elif ta in _SEQS and tb in _INTS or ta in _INTS and tb in _SEQS:
            seq, n = (a, b) if ta in _SEQS else (b, a)
            size = len(seq) * max(int(n), 0)
            budget_of(env).charge(size, f"repeating a {type(seq).__name__} into {size:,} items")
    elif op in (operator.add, operator.iadd) and ta in _SEQS and tb is ta:
        size = len(b) if op is operator.iadd else len(a) + len(b)
        budget_of(env).charge(size, f"concatenating {type(a).__name__}s of {size:,} items")
    elif op in (operator.mod, operator.imod) and ta in (str, bytes):
        raise names.NameRefused("spec refused: %-formatting of strings is not allowed in specs; use str() and +")


def _guard_call(f: Any, pos: list[Any], kw: dict[str, Any], env: Env) -> None:
    """Builtin methods whose result size is an argument: str.ljust(10**10), int.to_bytes(10**10); and
    allowed callables that are unsafe with some arguments (names.check_call)."""
    names.check_call(f, pos, kw)
    t = type(f)
    if t is types.BuiltinFunctionType:
        owner, args = f.__self__, pos
    elif t is types.MethodDescriptorType and f.__objclass__ in (str, bytes, int) and pos:
        owner, args = pos[0], pos[1:]
    else:
        return
    name = f.__name__
    if type(owner) in (str, bytes):
        size = 0
        if name in ("ljust", "rjust", "center", "zfill") and args and type(args[0]) in _INTS:
            size = args[0]
        elif name == "expandtabs":
            size = len(owner) * max(int(args[0] if args else kw.get("tabsize", 8)), 1)
        elif name == "replace" and len(args) >= 2 and isinstance(args[1], str | bytes):
            old, new = args[0], args[1]
            size = len(owner) + (len(owner) + 1) * len(new) if not old else len(owner) // max(len(old), 1) * len(new)
        elif name == "join" and args and isinstance(args[0], list | tuple):
            size = sum(len(x) for x in args[0] if isinstance(x, str | bytes)) + len(owner) * len(args[0])
        if size > 10_000:
            budget_of(env).charge(size, f"{type(owner).__name__}.{name} building {size:,} characters")
    elif type(owner) in _INTS and name == "to_bytes":
        length = args[0] if args else kw.get("length", 1)
        if type(length) in _INTS and length > 10_000:
            budget_of(env).charge(length, f"int.to_bytes of {length:,} bytes")


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
                budget = budget_of(env)
                for v in it(env):
                    budget.charge(1, "a for loop")
                    setter(env, names.check_value(v, "a for-loop item"))
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
                env[name] = _binop(op, env[name], value(env), env)

            value = self.expr(node.value)
            return aug_name
        if isinstance(node.target, ast.Subscript):
            obj, index, value = self.expr(node.target.value), self.expr(node.target.slice), self.expr(node.value)

            def aug_item(env: Env) -> None:
                o, i = obj(env), index(env)
                o[i] = _binop(op, names.check_value(o[i], "a subscript"), value(env), env)

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
                    setter(env, names.check_value(v, "a with-statement value"))
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
            n = len(setters)

            def set_many(env: Env, v: Any) -> None:
                values = []
                for x in _items(v, env, "an unpacked value"):
                    values.append(x)
                    if len(values) > n:   # never consume more than one item too many
                        break
                if len(values) != n:
                    more = "more than " if len(values) > n else ""
                    raise ValueError(f"cannot unpack {more}{n if more else len(values)} values into {n} names")
                for s, x in zip(setters, values, strict=True):
                    s(env, x)

            return set_many
        if isinstance(node, ast.Subscript):
            self.refuse_static_target(node.value, node, "assign to an item of")
            obj, index = self.expr(node.value), self.expr(node.slice)

            def set_item(env: Env, v: Any) -> None:
                obj(env)[index(env)] = _arg(v, env, "an item assignment")

            return set_item
        if isinstance(node, ast.Attribute):
            self.attr_name(node)
            if node.attr.startswith("_"):
                raise self.fail(node, f"cannot set attribute {node.attr!r}: private attributes are read-only for specs")
            self.refuse_static_target(node.value, node, f"set attribute {node.attr!r} on")
            obj, attr = self.expr(node.value), node.attr

            def set_attr(env: Env, v: Any) -> None:
                target = obj(env)
                if names.kind(type(target)) != "instance" or isinstance(target, helpers_type):
                    what = f"module {target.__name__!r}" if _is_module(target) else type(target).__name__
                    raise names.NameRefused(f"spec refused: cannot set attribute {attr!r} on {what}: "
                                            f"only attributes of objects a spec made (tensors, modules, ...) can be set")
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

    def refuse_static_target(self, value: ast.expr, node: ast.expr, verb: str) -> None:
        """`torch.x = ...`, `np.y[0] = ...`, `helpers.z = ...`: refused at load time."""
        ok, _, dotted = self.static_chain(value)
        if isinstance(value, ast.Name) and value.id == "helpers":
            ok, dotted = True, "helpers"
        if ok:
            raise self.fail(node, f"cannot {verb} {dotted}: modules, helpers and their members are read-only for specs")

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
                present = node.attr in vars(base) if _is_module(base) else hasattr(base, node.attr)
                if not present:
                    listing = vars(base) if _is_module(base) else dir(base)
                    close = difflib.get_close_matches(node.attr, [a for a in listing if not a.startswith("_")], n=1)
                    raise self.fail(node, f"unknown name {dotted!r}",
                                    f"did you mean {dotted.rsplit('.', 1)[0]}.{close[0]}?" if close else "")
                try:
                    return True, names.getattr_checked(base, node.attr, dotted), dotted
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
            if isinstance(node.value, ast.Name) and node.value.id == "helpers" and attr not in helpers.__all__:
                raise self.fail(node, f"unknown helper {attr!r}", f"helpers: {', '.join(helpers.__all__)}")
            # Looked up again at run time: a patched torch (a fault, a backend shim) must be seen.
            where = dotted if ok and value is not _ABSENT else attr
            return lambda env: names.getattr_checked(obj(env), attr, where)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            obj, index = self.expr(node.value), self.expr(node.slice)
            return lambda env: names.check_value(obj(env)[index(env)], "a subscript")
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
            if op is operator.mod and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str | bytes):
                raise self.fail(node, "%-formatting of strings is not allowed in specs; use str() and +")
            a, b = self.expr(node.left), self.expr(node.right)
            return lambda env: _binop(op, a(env), b(env), env)
        if isinstance(node, ast.UnaryOp):
            uop: Callable[[Any], Any] = _UNARY[type(node.op)]  # type: ignore[assignment]
            a = self.expr(node.operand)
            return lambda env: names.check_value(uop(a(env)), "an operator result")
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
                    result = names.check_value(op(a, _arg(b, env, "`in`") if _wraps(type(b)) else b),
                                               "a comparison")
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
        if isinstance(node.func, ast.Name) and node.func.id == "type" and (len(node.args) != 1 or node.keywords):
            raise self.fail(node, "type() with three arguments builds a class: not allowed in specs (type(x) is)")
        if isinstance(node.func, ast.Name) and node.func.id == "pow" and len(node.args) > 2:
            raise self.fail(node, "pow() with three arguments is not allowed in specs; use (a ** b) % m")
        func = self.expr(node.func)
        args: list[tuple[bool, Fn]] = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.append((True, self.expr(a.value)))
            else:
                args.append((False, self.expr(a)))
        for k in node.keywords:
            if k.arg is not None and k.arg.startswith("_"):
                raise self.fail(node, f"keyword argument {k.arg!r}: names starting with _ are not allowed in specs")
        kwargs: list[tuple[str | None, Fn]] = [(k.arg, self.expr(k.value)) for k in node.keywords]

        def call(env: Env) -> Any:
            f = func(env)   # a checked value: the callee is on the allow-list before it is called
            pos: list[Any] = []
            for star, a in args:
                if star:
                    pos.extend(_items(a(env), env, "a *argument"))
                else:
                    pos.append(_arg(a(env), env, "a function"))
            kw: dict[str, Any] = {}
            for k, v in kwargs:
                if k is None:
                    mapping = v(env)
                    if not isinstance(mapping, dict):
                        raise TypeError(f"argument after ** must be a dict, not {type(mapping).__name__}")
                    for key, val in _items(mapping.items(), env, "a **argument"):
                        if not isinstance(key, str) or key.startswith("_"):
                            raise names.NameRefused(f"spec refused: keyword argument {key!r}: keywords must be "
                                                    f"names that do not start with _")
                        kw[key] = _arg(val, env, "a function")
                else:
                    kw[k] = _arg(v(env), env, "a function")
            _guard_call(f, pos, kw, env)
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
            budget = budget_of(env)
            for v in it(env):
                budget.charge(1, "a comprehension")
                setter(env, names.check_value(v, "a comprehension item"))
                if not conds or all(c(env) for c in conds):
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
    except (RecursionError, MemoryError):
        raise ExprError("expression nested too deeply", "split it into several steps") from None
    except SyntaxError as e:
        shown = text.strip() if len(text.strip()) <= 200 else text.strip()[:200] + "..."
        raise ExprError(f"invalid syntax: {e.msg} in {shown!r}",
                        "steps and expressions use Python syntax", (e.lineno or 1) - 1) from None


def _dedent(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def compile_block(text: str, scope: Scope, namespace: dict[str, Any]) -> Fn:
    """Compile statements (one step, possibly multi-line); names it assigns join ``scope``."""
    tree = _parse(text, "exec")
    assert isinstance(tree, ast.Module)
    try:
        return _Compiler(scope, namespace).block(tree.body)
    except RecursionError:
        raise ExprError("statement nested too deeply", "split it into several steps") from None


def compile_expr(text: str, scope: Scope, namespace: dict[str, Any]) -> Fn:
    """Compile one expression."""
    tree = _parse(text, "eval")
    assert isinstance(tree, ast.Expression)
    try:
        return _Compiler(scope, namespace).expr(tree.body)
    except RecursionError:
        raise ExprError("expression nested too deeply", "split it into several steps") from None


def names_in(text: str) -> set[str]:
    """Free names an expression mentions (for dependency checks in `given`)."""
    try:
        tree = ast.parse(str(text).strip(), mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
