"""Spec loading: YAML text -> validated, compiled `Spec` objects, or located `SpecError`s.

Everything that can be known before running is checked here, once per spec: the JSON Schema, the
behaviour ids, devices, version specifiers, the `given` options, and every expression against the
allow-list.  What comes out is compiled (closures), so running an example re-parses nothing.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import json
import sys
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import torch
import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from conformance.errors import ExprError, SpecError
from conformance.lang import behaviours, checks, expr, families, helpers, names, strategies, yamlmarks
from conformance.lang.drift import ObjectNotFound, resolve
from conformance.lang.dtypes import TORCH_DTYPES


class SpecDeprecation(UserWarning):
    """A spec spelling that still loads but should be updated (shown, unlike DeprecationWarning)."""


@dataclass(frozen=True)
class Step:
    text: str
    run: Any


@dataclass(frozen=True)
class Expectation:
    kind: str
    text: dict            # the raw YAML mapping, for reports and snippets
    args: tuple           # compiled positional arguments
    options: dict         # literal options plus compiled expression/block options
    line: int | None

    def run(self, ctx: checks.RunContext) -> None:
        k = checks.CHECKS[self.kind]
        values = [a(ctx.env) for a in self.args]
        k.fn(ctx, *values, opts=self.options)


@dataclass(frozen=True)
class Known:
    torch: SpecifierSet | None
    device: str | None
    numpy: SpecifierSet | None
    reason: str


@dataclass(frozen=True)
class Spec:
    id: str
    title: str
    covers: tuple[str, ...]
    source: dict
    devices: tuple[str, ...] | None   # None: every device but meta
    torch: SpecifierSet | None
    requires: tuple[str, ...]
    known: tuple[Known, ...]
    max_examples: int | None
    given: tuple[tuple[str, strategies.Given], ...]
    assume: tuple[Any, ...]
    steps: tuple[Step, ...]
    expect: tuple[Expectation, ...]
    file: str
    line: int
    raw: dict = field(repr=False, compare=False)
    id_line: int | None = None        # where `id:` is written (duplicate ids point here)
    examples: tuple = ()              # explicit examples: ({input name: value closure}, ...), run first
    targets: tuple = ()               # (label, closure) pairs for hypothesis.target, after the steps

    @property
    def area(self) -> str:
        return self.id.split("/", 1)[0]


@functools.cache
def schema() -> dict:
    return json.loads(resources.files("conformance.lang").joinpath("schemas/spec.schema.json").read_text())


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(schema())


@functools.cache
def base_namespace() -> dict[str, Any]:
    """What every spec expression can see besides its own variables."""
    ns = names.builtin_namespace()
    for alias in names.MODULE_ALIASES:
        try:
            ns[alias] = names.resolve_alias(alias)
        except ImportError:
            pass  # optional (torchvision): specs that need it declare `requires`
    ns["helpers"] = helpers.NAMESPACE   # read-only: no spec can change what the next one sees
    return ns


# What a value of the wrong type or shape raises deep inside a builder (after the schema passed it).
_BAD_VALUE = (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, RecursionError,
              ImportError)
# What Python's own parser raises for source it will not take (null bytes, too deep nesting).
_BAD_SOURCE = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)


def _said(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


BASE_NAMES = frozenset(list(names.SAFE_BUILTINS) + list(names.MODULE_ALIASES) + ["helpers", "device"])


class _Builder:
    """Builds one Spec from its plain data, raising SpecError at the first located problem."""

    def __init__(self, file: str, lines: dict, prefix: tuple):
        self.file, self.lines, self.prefix = file, lines, prefix
        self.ns = base_namespace()
        self.scope = expr.Scope(BASE_NAMES)

    def err(self, path: tuple, message: str, hint: str = "", extra_lines: int = 0) -> SpecError:
        full = self.prefix + tuple(path)
        line = yamlmarks.line_of(self.lines, full)
        return SpecError(self.file, (line + extra_lines) if line else line,
                         yamlmarks.format_path(tuple(path)), message, hint)

    def guarded(self, path: tuple, build: Any, *args: Any) -> Any:
        """Run one part's builder; a value of the wrong type or shape becomes a located SpecError."""
        try:
            return build(*args)
        except SpecError:
            raise
        except _BAD_VALUE as e:
            raise self.err(path, f"invalid value: {_said(e)}") from None

    def compile_expr(self, path: tuple, text: Any, scope: expr.Scope | None = None) -> Any:
        if not isinstance(text, str):
            return lambda env: text  # a literal argument (number, list, bool, null)
        try:
            return expr.compile_expr(text, scope or self.scope, self.ns)
        except ExprError as e:
            raise self.err(path, e.message, e.hint, e.offset_line) from None
        except _BAD_SOURCE as e:  # e.g. a null byte, or nesting beyond what Python's parser takes
            raise self.err(path, f"cannot compile this expression: {_said(e)}") from None

    def compile_literal_or_expr(self, path: tuple, raw: Any) -> Any:
        if isinstance(raw, list):
            parts = [self.compile_literal_or_expr(path + (i,), r) for i, r in enumerate(raw)]
            return lambda env: [p(env) for p in parts]
        return self.compile_expr(path, raw)

    def compile_block(self, path: tuple, text: Any, scope: expr.Scope | None = None) -> Any:
        try:
            return expr.compile_block(text, scope or self.scope, self.ns)
        except ExprError as e:
            raise self.err(path, e.message, e.hint, e.offset_line) from None
        except _BAD_SOURCE as e:
            raise self.err(path, f"cannot compile these statements: {_said(e)}") from None

    def build(self, raw: dict) -> Spec:
        if "seed" in raw["source"]:
            # `source.seed` named the study note, which read as an RNG seed: the key is now `note`.
            line = yamlmarks.line_of(self.lines, self.prefix + ("source", "seed"))
            warnings.warn(f"{self.file}:{line}: source.seed is deprecated, write source.note "
                          f"(the study note a promise comes from; `seed` is easily read as an RNG seed)",
                          SpecDeprecation, stacklevel=2)
            source = {("note" if k == "seed" else k): v for k, v in raw["source"].items()}
            raw = {**raw, "source": source}
        known_ids = behaviours.ids()
        for i, cid in enumerate(raw.get("covers", [])):
            if known_ids and cid not in known_ids:
                close = difflib.get_close_matches(cid, sorted(known_ids), n=1)
                raise self.err(("covers", i), f"unknown behaviour id {cid!r}",
                               f"did you mean {close[0]!r}?" if close else "see behaviours.md")
        self.guarded(("source", "object"), self.check_object, raw["source"].get("object"), raw.get("requires", []))
        devices = raw.get("devices", "all")
        if devices != "all":
            for i, d in enumerate(devices):
                try:
                    torch.device(d)
                except (RuntimeError, ValueError):
                    raise self.err(("devices", i), f"unknown device {d!r}",
                                   "use torch device types such as cpu, cuda, meta, mps, xpu") from None
        for i, k in enumerate(raw.get("known", [])):
            if k.get("device") is not None:
                try:
                    torch.device(k["device"])
                except (RuntimeError, ValueError):
                    raise self.err(("known", i, "device"), f"unknown device {k['device']!r}",
                                   "use a torch device string such as cpu, cuda, cuda:1, mps, xpu") from None
        spec_torch = self.specifier(("torch",), raw.get("torch"))
        known = tuple(
            Known(self.specifier(("known", i, "torch"), k.get("torch")), k.get("device"),
                  self.specifier(("known", i, "numpy"), k.get("numpy")), k["reason"])
            for i, k in enumerate(raw.get("known", []))
        )
        given = []
        for name, opts in (raw.get("given") or {}).items():
            if not str(name).isidentifier() or name in BASE_NAMES:
                raise self.err(("given", name), f"invalid input name {name!r}",
                               "use a Python identifier that is not torch/nn/F/optim/np/helpers/device or a builtin")
            ctx = strategies.Ctx(expr.Scope(self.scope.known), self.ns)
            try:
                given.append((name, strategies.build_one(opts, ctx, name)))
            except strategies.OptionError as e:
                raise self.err(("given", name, *self._keypath(opts, e.key)), e.message, e.hint) from None
            except SpecError:
                raise
            except _BAD_VALUE as e:  # an option of the wrong type or shape that no check named
                raise self.err(("given", name), f"invalid options for input {name!r}: {_said(e)}",
                               "see the `given` table in the README for each kind's options") from None
            self.scope.known.add(name)
        examples = self.examples(raw.get("examples"), given)
        assume = tuple(self.compile_expr(("assume", i), a) for i, a in enumerate(raw.get("assume", [])))
        steps = tuple(Step(s, self.compile_block(("steps", i), s)) for i, s in enumerate(raw.get("steps", [])))
        settings_ = raw.get("settings") or {}
        target = settings_.get("target")
        targets = tuple((t, self.compile_expr(("settings", "target") + ((i,) if isinstance(target, list) else ()), t))
                        for i, t in enumerate(target if isinstance(target, list) else [target] if target else []))
        expect = tuple(self.guarded(("expect", i), self.expectation, i, e) for i, e in enumerate(raw["expect"]))
        return Spec(
            id=raw["id"], title=raw["title"], covers=tuple(raw.get("covers", [])), source=raw["source"],
            devices=None if devices == "all" else tuple(devices), torch=spec_torch,
            requires=tuple(raw.get("requires", [])), known=known,
            max_examples=settings_.get("max_examples"),
            given=tuple(given), assume=assume, steps=steps, expect=expect,
            file=self.file, line=yamlmarks.line_of(self.lines, self.prefix) or 1, raw=raw,
            id_line=yamlmarks.line_of(self.lines, self.prefix + ("id",)),
            examples=tuple(examples), targets=targets,
        )

    def examples(self, raw: Any, given: list) -> list:
        """`examples:` -> compiled explicit examples (see strategies/explicit.py), errors located."""
        def ctx_for(names: list[str]) -> strategies.Ctx:
            return strategies.Ctx(expr.Scope(BASE_NAMES | set(names)), self.ns)
        try:
            return strategies.compile_examples(raw, given, ctx_for)
        except strategies.OptionError as e:
            parts = tuple(int(p) if p.isdigit() else p
                          for p in str(e.key).replace("[", ".").replace("]", "").split(".") if p)
            raise self.err(("examples", *parts), e.message, e.hint) from None

    def check_object(self, dotted: str | None, requires: list[str]) -> None:
        """`source.object` must exist in the installed torch (or in an optional package that is absent)."""
        if dotted is None:
            return
        root = dotted.split(".")[0]
        if root in requires and root not in sys.modules and importlib.util.find_spec(root) is None:
            return  # optional package absent: the spec is skipped, its object cannot be checked
        if root not in names.ALLOWED_MODULE_ROOTS:
            raise self.err(("source", "object"), f"source.object {dotted!r} is outside torch/numpy/torchvision")
        try:
            resolve(dotted)   # walked from the imported roots, never imported, and on the allow-list
        except ObjectNotFound as e:
            raise self.err(("source", "object"), f"documented object does not exist: {e}",
                           "name the object as reachable from the installed torch, e.g. torch.Tensor.view") from None
        except names.NameRefused as e:
            raise self.err(("source", "object"), f"source.object {dotted!r} is not on the allow-list: {e}",
                           "name a documented torch/numpy object that specs may use") from None

    @staticmethod
    def _keypath(opts: Any, key: str) -> tuple:
        kind = next(iter(opts)) if isinstance(opts, dict) and opts else None
        parts = tuple(p for p in str(key).replace("[", ".").replace("]", "").split(".") if p)
        if kind is None or (parts and parts[0] == kind):
            return parts
        return (kind, *parts)

    def specifier(self, path: tuple, text: str | None) -> SpecifierSet | None:
        if text is None:
            return None
        try:
            return SpecifierSet(text)
        except InvalidSpecifier:
            raise self.err(path, f"invalid version specifier {text!r}", "use PEP 440, e.g. '>=2.1,<2.14'") from None

    def expectation(self, i: int, item: dict) -> Expectation:
        path = ("expect", i)
        found = [k for k in item if k in checks.CHECKS]
        if len(found) != 1:
            unknown = [k for k in item if k not in checks.COMMON_OPTIONS]
            if not found:
                close = difflib.get_close_matches(str(unknown[0]) if unknown else "", sorted(checks.CHECKS), n=1)
                raise self.err(path + ((unknown[0],) if unknown else ()),
                               f"unknown check kind {unknown[0] if unknown else ''!r}",
                               f"did you mean {close[0]!r}?" if close else f"known checks: {', '.join(sorted(checks.CHECKS))}")
            raise self.err(path, f"one check per expectation, found {found}", "split it into separate list items")
        kind_name = found[0]
        kind = checks.CHECKS[kind_name]
        allowed = set(kind.options) | set(kind.expr_options) | set(kind.block_options) | set(checks.COMMON_OPTIONS)
        for key in item:
            if key != kind_name and key not in allowed:
                raise self.err(path + (key,), f"unknown option {key!r} for check {kind_name!r}",
                               f"allowed: {sorted(allowed - set(checks.COMMON_OPTIONS)) or 'none'}")
        for key in kind.required:
            if key not in item:
                raise self.err(path + (kind_name,), f"check {kind_name!r} needs option {key!r}")
        raw_args = item[kind_name]
        if len(kind.params) == 1 and not kind.variadic:
            raw_args = [raw_args]
        elif not isinstance(raw_args, list):
            raw_args = [raw_args] if kind.variadic else raw_args
        if not isinstance(raw_args, list) or (not kind.variadic and len(raw_args) != len(kind.params)):
            raise self.err(path + (kind_name,),
                           f"check {kind_name!r} takes {len(kind.params)} argument(s) ({', '.join(kind.params)}), got {raw_args!r}",
                           f"write `{kind_name}: [{', '.join(kind.params)}]`")
        options: dict[str, Any] = {k: item[k] for k in kind.options if k in item}
        if kind_name == "raises":
            exc = self.ns.get(str(raw_args[0]))
            try:
                exc_type = checks.exception_type(exc)
            except TypeError:
                raise self.err(path + (kind_name,), f"{raw_args[0]!r} is not an allowed exception type",
                               "use RuntimeError, ValueError, TypeError, IndexError, ...") from None
            args: tuple = (lambda env: exc_type,)
            problem = names.pattern_problem(options["match"]) if "match" in options else None
            if problem:
                raise self.err(path + ("match",), problem, "match a distinctive literal part of the message")
        elif kind_name == "dtype":
            target = raw_args[1]
            if isinstance(target, str) and target in names_dtypes():
                fixed = names_dtypes()[target]
                args = (self.compile_expr(path + (kind_name, 0), raw_args[0]), lambda env, d=fixed: d)
            else:
                args = tuple(self.compile_literal_or_expr(path + (kind_name, j), a) for j, a in enumerate(raw_args))
        else:
            args = tuple(self.compile_literal_or_expr(path + (kind_name, j), a) for j, a in enumerate(raw_args))
        for key in kind.expr_options:
            if key in item:
                options[key] = self.compile_literal_or_expr(path + (key,), item[key])
        for key in kind.block_options:
            if key in item:
                block = item[key] if isinstance(item[key], str) else "\n".join(item[key])
                options[key] = self.compile_block(path + (key,), block, expr.Scope(self.scope.known))
        if kind_name == "matches_cpu":
            options["_fns"] = args
        return Expectation(kind_name, item, args, options, yamlmarks.line_of(self.lines, self.prefix + path))


def names_dtypes() -> dict[str, torch.dtype]:
    return TORCH_DTYPES


def _schema_error(file: str, lines: dict, error: jsonschema.ValidationError) -> SpecError:
    path = tuple(error.absolute_path)
    message, hint = error.message, ""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            path = path + (extra[0],)
            close = difflib.get_close_matches(str(extra[0]), sorted(allowed), n=1)
            message = f"unknown key {extra[0]!r}"
            hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(sorted(allowed))}"
    elif error.validator == "required":
        message = error.message.replace("is a required property", "is required")
    elif error.validator == "type":
        message = f"expected {error.validator_value}, got {type(error.instance).__name__} {yamlmarks_short(error.instance)}"
    line = yamlmarks.line_of(lines, path)
    return SpecError(file, line, yamlmarks.format_path(path), message, hint)


def yamlmarks_short(x: Any) -> str:
    text = repr(x)
    return text if len(text) < 60 else text[:57] + "..."


def _best_errors(data: Any) -> list[jsonschema.ValidationError]:
    """Schema errors, preferring the specific error inside a spec over the top-level oneOf."""
    errors = list(_validator().iter_errors(data))
    if not errors:
        return []
    # Validate each spec directly against the spec definition for precise messages.
    spec_validator = jsonschema.Draft202012Validator({**schema()["$defs"]["spec"], "$defs": schema()["$defs"]})
    items = data if isinstance(data, list) else [data]
    out = []
    for idx, item in enumerate(items):
        for e in sorted(spec_validator.iter_errors(item), key=lambda e: list(e.absolute_path).__len__()):
            if isinstance(data, list):
                e.path.appendleft(idx)
            out.append(e)
    return out or errors


def load_text(text: str, file: str) -> tuple[list[Spec], list[SpecError]]:
    """Load every spec of one file.  Errors are returned, not raised: one bad spec hides nothing."""
    try:
        data, lines = yamlmarks.load(text)
    except yamlmarks.DuplicateKey as e:
        return [], [SpecError(file, e.line, yamlmarks.format_path(e.path + (e.key,)), f"duplicate key {e.key!r}",
                              "YAML would silently keep the last one")]
    except yamlmarks.Refused as e:
        return [], [SpecError(file, e.line, "", e.message, e.hint)]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        # The parser notices an unclosed bracket or quote lines later: also say where it began.
        ctx, ctx_mark = getattr(e, "context", None), getattr(e, "context_mark", None)
        began = (f" ({ctx} that starts at line {ctx_mark.line + 1})"
                 if ctx and ctx_mark and mark and ctx_mark.line != mark.line else "")
        return [], [SpecError(file, mark.line + 1 if mark else None, "",
                              f"YAML syntax error: {getattr(e, 'problem', None) or e}{began}",
                              "check indentation and quoting")]
    if data is None:
        return [], [SpecError(file, 1, "", "empty spec file", "a spec needs at least id, title, covers, source, expect")]
    if not isinstance(data, dict | list):
        return [], [SpecError(file, 1, "", f"a spec file holds a mapping or a list of mappings, got {type(data).__name__}")]
    family_errors: list[SpecError] = []
    if families.is_family(data):
        data, lines, family_errors = families.expand(data, lines, file)
        if not data:
            return [], family_errors
    errors = [_schema_error(file, lines, e) for e in _best_errors(data)]
    if errors:
        return [], errors[:1] + [e for e in errors[1:] if (e.line, e.key) != (errors[0].line, errors[0].key)][:9]
    specs, out_errors = [], list(family_errors)
    for idx, raw in enumerate(data if isinstance(data, list) else [data]):
        prefix = (idx,) if isinstance(data, list) else ()
        try:
            specs.append(_Builder(file, lines, prefix).build(raw))
        except SpecError as e:
            out_errors.append(e)
    return specs, out_errors


def load_file(path: str | Path, display: str | None = None) -> tuple[list[Spec], list[SpecError]]:
    """Load one file.  Whatever goes wrong becomes a SpecError for this file, never an exception:
    one broken file must not stop the collection of the others."""
    p = Path(path)
    name = display or str(path)
    try:
        size = p.stat().st_size
        if size > 4 * yamlmarks.MAX_CHARS:  # UTF-8: at most 4 bytes a character; load_text checks exactly
            return [], [SpecError(name, 1, "", f"spec file too large ({size} bytes)", "split it into several spec files")]
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return [], [SpecError(name, None, "", f"cannot read spec file: {e}")]
    try:
        return load_text(text, name)
    except Exception as e:  # noqa: BLE001 - a loader bug still names the file instead of ending the run
        return [], [SpecError(name, None, "", f"internal error while loading this file: {type(e).__name__}: {e}",
                              "please report it with this file")]


DEFAULT_SPECS = "specs"


def default_specs() -> str:
    """./specs when present, else the specs folder beside the package (an editable install)."""
    if Path(DEFAULT_SPECS).is_dir():
        return DEFAULT_SPECS
    beside = Path(__file__).resolve().parents[2] / "specs"
    return str(beside) if beside.is_dir() else DEFAULT_SPECS


def spec_files(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml")))
        else:
            out.append(p)
    return out


def load_paths(paths: list[str | Path]) -> tuple[list[Spec], list[SpecError]]:
    """Load many files; also reports duplicate ids across files."""
    specs: list[Spec] = []
    errors: list[SpecError] = []
    for f in spec_files(paths):
        s, e = load_file(f)
        specs.extend(s)
        errors.extend(e)
    errors.extend(duplicate_ids(specs))
    return specs, errors


def duplicate_ids(specs: list[Spec]) -> list[SpecError]:
    seen: dict[str, Spec] = {}
    out = []
    for s in specs:
        if s.id in seen:
            first = seen[s.id]
            out.append(SpecError(s.file, s.id_line or s.line, "id", f"duplicate spec id {s.id!r}",
                                 f"first defined at {first.file}:{first.id_line or first.line}; ids must be unique"))
        else:
            seen[s.id] = s
    return out
