"""Op families: one YAML table of callables that share a property shape, expanded into plain specs.

A family file is a mapping with `family:` instead of `id:`::

    family: unary                      # each row becomes the spec `unary/<row name>`
    title: "{{object}} is elementwise and matches NumPy"    # optional; default per row below
    defaults: {differentiable: true}   # values every row starts from
    template:                          # an ordinary spec body, without `id`
      covers: [B-AR-1]
      source: {doc: "{{doc}}", object: "{{object}}", quote: "{{quote}}"}
      given: {x: {tensor: {dtype: "{{dtypes}}", elements: {min: "{{min}}", max: "{{max}}"}}}}
      steps: ["y = {{call}}"]
      expect:
        - matches_numpy: y
          numpy: "{{numpy}}"
        - when: differentiable         # spliced only for rows where `differentiable` is true
          then:
            - gradcheck: ...
    rows:
      - {name: sin, object: torch.sin, quote: "...", call: "torch.sin(x)", numpy: "np.sin(x)"}

Substitution is textual and row-local: a string that is exactly ``"{{key}}"`` takes the row's value as
is (a list stays a list); ``{{key}}`` inside a longer string is replaced by ``str(value)``; a list item
that is exactly ``"{{key}}"`` whose value is a list is spliced in.  ``when: key`` / ``when: not key``
items are kept (their `then` list spliced) only when the row's value is truthy / falsy.  A row may
carry `spec:`, a mapping merged over the expanded spec: list keys (`expect`, `steps`, `assume`,
`known`) are appended to, `given` is merged key by key, any other key is replaced.

Expansion happens before validation, so every expanded spec goes through the same JSON Schema,
allow-list and compilation as a hand-written one; errors name the family file, the row and its line.
"""

from __future__ import annotations

import re
from typing import Any

from conformance.errors import SpecError
from conformance.lang.yamlmarks import format_path, line_of

FAMILY_KEYS = {"family", "title", "doc", "defaults", "template", "rows"}
ROW_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_WHOLE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_PART = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_APPEND = ("expect", "steps", "assume", "known")


def is_family(data: Any) -> bool:
    return isinstance(data, dict) and "family" in data


class _Missing(Exception):
    def __init__(self, key: str):
        self.key = key


def _fill(node: Any, row: dict) -> Any:
    if isinstance(node, str):
        whole = _WHOLE.match(node)
        if whole:
            if whole.group(1) not in row:
                raise _Missing(whole.group(1))
            return row[whole.group(1)]

        def sub(m: re.Match) -> str:
            if m.group(1) not in row:
                raise _Missing(m.group(1))
            return str(row[m.group(1)])
        return _PART.sub(sub, node)
    if isinstance(node, dict):
        return {k: _fill(v, row) for k, v in node.items()}
    if isinstance(node, list):
        out: list = []
        for item in node:
            if isinstance(item, dict) and set(item) == {"when", "then"}:
                key = str(item["when"]).strip()
                negate = key.startswith("not ")
                key = key[4:].strip() if negate else key
                if key not in row:
                    raise _Missing(key)
                if bool(row[key]) != negate:
                    out.extend(_fill(item["then"], row))
                continue
            whole = _WHOLE.match(item) if isinstance(item, str) else None
            if whole and isinstance(row.get(whole.group(1)), list):
                out.extend(row[whole.group(1)])
                continue
            out.append(_fill(item, row))
        return out
    return node


def _merge(spec: dict, extra: dict) -> dict:
    out = dict(spec)
    for key, value in extra.items():
        if key in _APPEND and isinstance(value, list):
            out[key] = list(out.get(key) or []) + value
        elif key == "given" and isinstance(value, dict):
            out[key] = {**(out.get(key) or {}), **value}
        else:
            out[key] = value
    return out


def expand(data: dict, lines: dict[tuple, int], file: str) -> tuple[list[dict], dict[tuple, int], list[SpecError]]:
    """A family mapping -> (spec dicts, their line map, errors).

    The returned line map is keyed like a list-of-specs file: ``(i, *path)`` points at the template's
    line for that path, and ``(i,)`` / ``(i, "id")`` at the row, so every later error stays located.
    """
    def err(path: tuple, message: str, hint: str = "") -> SpecError:
        line = line_of(lines, path)
        return SpecError(file, line, format_path(path), message, hint)

    unknown = [k for k in data if k not in FAMILY_KEYS]
    if unknown:
        return [], {}, [err((unknown[0],), f"unknown key {unknown[0]!r} in a family file",
                            f"allowed keys: {', '.join(sorted(FAMILY_KEYS))}")]
    name = data.get("family")
    if not isinstance(name, str) or not ROW_NAME.match(name):
        return [], {}, [err(("family",), f"family name must be a lower-case identifier, got {name!r}")]
    template, rows = data.get("template"), data.get("rows")
    if not isinstance(template, dict) or not template:
        return [], {}, [err(("template",), "a family needs a `template:` mapping (a spec body without id)")]
    if "id" in template:
        return [], {}, [err(("template", "id"), "the template has no id: each row's id is family/<row name>")]
    if not isinstance(rows, list) or not rows:
        return [], {}, [err(("rows",), "a family needs a non-empty `rows:` list")]
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        return [], {}, [err(("defaults",), f"defaults must be a mapping, got {type(defaults).__name__}")]

    specs: list[dict] = []
    out_lines: dict[tuple, int] = {}
    errors: list[SpecError] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.append(err(("rows", i), f"a row is a mapping, got {type(row).__name__}"))
            continue
        rname = row.get("name")
        if not isinstance(rname, str) or not ROW_NAME.match(rname):
            errors.append(err(("rows", i, "name"), f"each row needs a lower-case `name`, got {rname!r}"))
            continue
        if rname in seen:
            errors.append(err(("rows", i, "name"), f"duplicate row name {rname!r}"))
            continue
        seen.add(rname)
        values = {**defaults, **row, "family": name}
        extra = values.pop("spec", None) or {}
        try:
            body = _fill(template, values)
            title = _fill(data["title"], values) if "title" in data else None
            extra = _fill(extra, values)
        except _Missing as m:
            errors.append(err(("rows", i), f"row {rname!r} has no value for {{{{{m.key}}}}}",
                              "add it to the row or to the family's `defaults`"))
            continue
        if not isinstance(extra, dict):
            errors.append(err(("rows", i, "spec"), "a row's `spec:` must be a mapping of spec keys"))
            continue
        spec = {"id": f"{name}/{rname}", "title": body.pop("title", None) or title or f"{name}: {rname}", **body}
        spec = _merge(spec, extra)
        k = len(specs)
        specs.append(spec)
        for path, line in lines.items():
            if path[:1] == ("template",):
                out_lines[(k, *path[1:])] = line
        row_line = line_of(lines, ("rows", i))
        out_lines[(k,)] = row_line or 1
        out_lines[(k, "id")] = row_line or 1
        for key in extra:
            out_lines[(k, key)] = line_of(lines, ("rows", i, "spec", key)) or row_line or 1
    return specs, out_lines, errors
