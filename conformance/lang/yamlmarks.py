"""YAML -> plain Python data plus a map from key path to source line.

PyYAML's composer keeps marks on nodes; we walk the node tree once, building plain data and
recording the 1-based line of every mapping key and sequence item, so any later validation error
(schema, expression, unknown name) can point at file:line.  Duplicate keys are errors here because
PyYAML silently keeps the last one.
"""

from __future__ import annotations

from typing import Any

import yaml

Path_ = tuple  # a key path: ("expect", 2, "shape")


class DuplicateKey(Exception):
    def __init__(self, key: str, line: int, path: tuple):
        super().__init__(key)
        self.key, self.line, self.path = key, line, path


# libyaml's composer is ~10x faster than the pure-Python one and keeps the same marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _construct_scalar(node: yaml.ScalarNode) -> Any:
    # The composer already resolved the tag (int, float, bool, null, str); construct just this scalar.
    value = _CONSTRUCTOR.construct_object(node, deep=True)
    _CONSTRUCTOR.constructed_objects.clear()
    return value


def _walk(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            key = _construct_scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = path + (key,)
            if key in out:
                raise DuplicateKey(str(key), key_node.start_mark.line + 1, path)
            lines[child] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, child, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, path + (i,), lines) for i, item in enumerate(node.value)]
    if node.style in ("|", ">"):
        lines[path] = node.start_mark.line + 2  # block scalar: its text starts on the next line
    return _construct_scalar(node)


def load(text: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML text; return (data, {key_path: line}).  Raises yaml.YAMLError / DuplicateKey."""
    node = yaml.compose(text, Loader=_LOADER)
    lines: dict[tuple, int] = {}
    if node is None:
        return None, lines
    return _walk(node, (), lines), lines


def line_of(lines: dict[tuple, int], path: tuple) -> int | None:
    """The line of ``path`` or of its nearest recorded ancestor."""
    path = tuple(path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def format_path(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
