"""YAML -> plain Python data plus a map from key path to source line.

We build plain data straight from libyaml's parser events, recording the 1-based line of every
mapping key and sequence item, so any later validation error (schema, expression, unknown name) can
point at file:line.  Duplicate keys are errors here because PyYAML silently keeps the last one.
Spec files are plain data: anchors, aliases and tags are refused (before anything is expanded), and
size, nesting and value count are bounded.
"""

from __future__ import annotations

from typing import Any

import yaml

Path_ = tuple  # a key path: ("expect", 2, "shape")


class DuplicateKey(Exception):
    def __init__(self, key: str, line: int, path: tuple):
        super().__init__(key)
        self.key, self.line, self.path = key, line, path


# Spec files are small, plain data.  These bounds keep a malformed or hostile file cheap to refuse.
MAX_CHARS = 1_000_000     # characters in one file
MAX_DEPTH = 64            # nested mappings/sequences
MAX_NODES = 50_000        # scalars, mappings and sequences in one file (the largest shipped: ~4,000)

ALIAS_MESSAGE = "YAML anchors and aliases are not allowed in spec files"


class Refused(Exception):
    """A YAML feature or size that spec files do not use; raised before anything is expanded."""

    def __init__(self, line: int | None, message: str, hint: str = ""):
        super().__init__(message)
        self.line, self.message, self.hint = line, message, hint


# libyaml's parser (C) emits events; plain data is built from them in one pass, without a node
# graph: an anchor or alias is refused where it appears, so nothing is ever expanded (no "billion
# laughs", no recursive structure), and nesting is bounded without recursion.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"
_SCALARS: dict[str, Any] = {
    _TAG + "null": lambda node: None,
    _TAG + "bool": _CONSTRUCTOR.construct_yaml_bool,
    _TAG + "int": _CONSTRUCTOR.construct_yaml_int,
    _TAG + "float": _CONSTRUCTOR.construct_yaml_float,
}   # every other resolved tag (str, timestamp, merge `<<`, value `=`) stays the text as written
_NO_KEY = object()


def _scalar(loader: Any, event: yaml.ScalarEvent) -> Any:
    if event.style:  # quoted and block scalars are text
        return event.value
    tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    make = _SCALARS.get(tag)
    if make is None:
        return event.value
    try:
        return make(yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark))
    except ValueError:  # an integer of more digits than Python converts
        shown = event.value if len(event.value) <= 40 else event.value[:37] + "..."
        raise Refused(event.start_mark.line + 1, f"number too large: {shown} ({len(event.value)} characters)",
                      "quote it if it is meant as text") from None


def _check(event: Any) -> None:
    line = event.start_mark.line + 1
    if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
        raise Refused(line, ALIAS_MESSAGE)
    if getattr(event, "tag", None) is not None:
        raise Refused(line, f"YAML tags are not allowed in spec files ({event.tag})",
                      "remove the tag; quote the value if it is meant as text")


def _compose(loader: Any, lines: dict[tuple, int]) -> Any:
    root: list[Any] = []
    stack: list[list[Any]] = []   # open containers: [container, its path, pending mapping key]
    nodes = documents = 0

    def place(line: int, container: bool) -> tuple | None:
        """The path of the value starting here (None: it is a mapping key); records its line."""
        if not stack:
            lines.setdefault((), line)
            return ()
        parent, path, key = stack[-1]
        if isinstance(parent, list):
            child = path + (len(parent),)
            lines.setdefault(child, line)
            return child
        if key is _NO_KEY:
            if container:
                raise Refused(line, "a mapping key must be a plain value, not a mapping or a list")
            return None
        return path + (key,)

    def attach(value: Any) -> None:
        if not stack:
            root.append(value)
            return
        frame = stack[-1]
        if isinstance(frame[0], list):
            frame[0].append(value)
        else:
            frame[0][frame[2]] = value
            frame[2] = _NO_KEY

    while loader.check_event():
        event = loader.get_event()
        _check(event)
        line = event.start_mark.line + 1
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise Refused(line, "a spec file holds one YAML document",
                              "remove the `---` separator; write a list of specs instead")
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            path = place(line, container=False)
            value = _scalar(loader, event)
            if path is None:  # a mapping key
                parent, ppath, _ = stack[-1]
                if value in parent:
                    raise DuplicateKey(str(value), line, ppath)
                stack[-1][2] = value
                lines[ppath + (value,)] = line
                continue
            if event.style in ("|", ">"):
                lines[path] = line + 1  # block scalar: its text starts on the next line
            attach(value)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            nodes += 1
            if len(stack) >= MAX_DEPTH:
                raise Refused(line, f"nesting deeper than {MAX_DEPTH} levels", "spec files are shallow data")
            path = place(line, container=True)
            assert path is not None
            stack.append([{} if isinstance(event, yaml.MappingStartEvent) else [], path, _NO_KEY])
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            attach(stack.pop()[0])
        if nodes > MAX_NODES:
            raise Refused(line, f"more than {MAX_NODES} values in one file", "split it into several spec files")
    return root[0] if root else None


def load(text: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML text; return (data, {key_path: line}).

    Raises yaml.YAMLError (syntax), DuplicateKey, or Refused (anchors, aliases, tags, size, depth),
    each before any alias could be expanded."""
    if len(text) > MAX_CHARS:
        raise Refused(1, f"spec file too large ({len(text)} characters; at most {MAX_CHARS})",
                      "split it into several spec files")
    lines: dict[tuple, int] = {}
    loader = _LOADER(text)
    try:
        return _compose(loader, lines), lines
    finally:
        loader.dispose()


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
