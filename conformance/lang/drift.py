"""Documentation drift: is each spec's quoted promise still in the installed torch's docstring?

For every spec, `source.object` names the documented object (e.g. `torch.from_numpy`); its
docstring and the spec's `source.quote` are normalised (reST roles, literals, emphasis and
whitespace removed) and compared.  Status per spec:

- current   the quote is in the docstring
- reworded  the closest passage is similar (>= threshold) but not the same: the diff says how
- missing   nothing close enough is left
- no-quote  the spec cites nothing checkable (no object, no quote, or an object without docstring)

The results JSON carries these per run (so each torch version's report shows its own wording);
`conformance docs-check` (tools/docs_check.py) prints them and exits 1 on any reworded/missing quote.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import re
from dataclasses import asdict, dataclass
from typing import Any

import torch

from conformance.lang import names

THRESHOLD = 0.8
STATUSES = ("current", "reworded", "missing", "no-quote")

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`(~?[^`]*)`")      # :attr:`x`, :func:`~torch.x`
_LITERAL = re.compile(r"``([^`]*)``|`([^`]*)`")              # ``x`` and `x`
_EMPHASIS = re.compile(r"\*\*?([^*]+)\*\*?")                # *x*, **x**
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Plain words of a reST docstring or a quote: what a reader sees, whitespace collapsed."""
    # `~torch.x.y` renders as just `y` in Sphinx.
    text = _ROLE.sub(lambda m: m.group(1)[1:].split(".")[-1] if m.group(1).startswith("~") else m.group(1), text)
    text = _LITERAL.sub(lambda m: m.group(1) or m.group(2) or "", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = text.replace("\\", "")
    return _SPACE.sub(" ", text).strip().lower()


class ObjectNotFound(LookupError):
    pass


def resolve(dotted: str) -> Any:
    """The documented object, walked attribute by attribute from the already-imported allowed roots
    (torch, numpy, torchvision): nothing is imported, and every step must be on the allow-list
    (names.NameRefused otherwise).  ObjectNotFound when the installed packages do not have it."""
    try:
        return names.resolve_documented(dotted)
    except names.NotFound as e:
        raise ObjectNotFound(str(e)) from None


@dataclass(frozen=True)
class Drift:
    spec_id: str
    object: str | None
    status: str
    similarity: float | None = None
    closest: str | None = None
    diff: str | None = None
    reason: str | None = None


def _words(text: str) -> list[str]:
    return [w.strip(".,;:()") for w in text.split()]


def _best_window(quote: str, doc: str) -> tuple[float, str]:
    """The docstring passage (0.7x to 1.5x the quote's length) closest to the quote.

    Windows are ranked by how many quote words they contain in order, then by similarity, so a
    passage that kept every word and added some ranks above a shorter one that lost the end.
    """
    q, d, raw = _words(quote), _words(doc), doc.split()
    if not d:
        return 0.0, ""
    best: tuple[int, float] = (-1, 0.0)
    best_text = ""
    for size in sorted({max(1, round(len(q) * f / 10)) for f in range(7, 16)}):
        for start in range(0, max(1, len(d) - size + 1)):
            m = difflib.SequenceMatcher(None, q, d[start:start + size], autojunk=False)
            if m.quick_ratio() * (len(q) + size) / 2 < best[0]:
                continue  # cannot contain more quote words than the best so far
            score = (sum(b.size for b in m.get_matching_blocks()), m.ratio())
            if score > best:
                best, best_text = score, " ".join(raw[start:start + size])
    return round(best[1], 3), best_text


def word_diff(old: str, new: str) -> str:
    """`[-removed-]{+added+}` word diff: readable in a terminal, a JSON file and the HTML report."""
    a, b = old.split(), new.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(" ".join(a[i1:i2]))
        if op in ("delete", "replace"):
            out.append("[-" + " ".join(a[i1:i2]) + "-]")
        if op in ("insert", "replace"):
            out.append("{+" + " ".join(b[j1:j2]) + "+}")
    return " ".join(out)


def check_one(spec_id: str, source: dict[str, Any], threshold: float = THRESHOLD) -> Drift:
    obj_name, quote = source.get("object"), source.get("quote")
    if not obj_name or not quote:
        return Drift(spec_id, obj_name, "no-quote", reason="spec names no source.object" if not obj_name else "no quote")
    if source.get("quote_from") == "page":
        return Drift(spec_id, obj_name, "no-quote", reason="quote is from the documentation page, not a docstring")
    root = obj_name.split(".")[0]
    if root != "torch" and importlib.util.find_spec(root) is None:
        return Drift(spec_id, obj_name, "no-quote", reason=f"{root} is not installed: not checkable here")
    try:
        obj = resolve(obj_name)
    except ObjectNotFound as e:
        return Drift(spec_id, obj_name, "missing", 0.0, reason=f"object not found: {e}")
    except names.NameRefused as e:
        return Drift(spec_id, obj_name, "no-quote", reason=f"not checkable: {e}")
    doc = inspect.getdoc(obj) or ""
    if not doc.strip():
        return Drift(spec_id, obj_name, "no-quote", reason="the object has no docstring")
    nq, nd = normalise(quote), normalise(doc)
    if nq in nd:
        return Drift(spec_id, obj_name, "current", 1.0)
    ratio, closest = _best_window(nq, nd)
    diff = word_diff(nq, closest) if closest else None
    status = "reworded" if ratio >= threshold else "missing"
    return Drift(spec_id, obj_name, status, round(ratio, 3), closest, diff)


def check_sources(sources: dict[str, dict[str, Any]], threshold: float = THRESHOLD) -> list[Drift]:
    """spec id -> source mapping; one Drift each, sorted by spec id."""
    return [check_one(sid, src, threshold) for sid, src in sorted(sources.items())]


def summary(drifts: list[Drift]) -> dict[str, int]:
    out = {s: 0 for s in STATUSES}
    for d in drifts:
        out[d.status] += 1
    return out


def for_results(sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The `drift` block of a results document, for the installed torch."""
    drifts = check_sources(sources)
    return {
        "torch": torch.__version__,
        "summary": summary(drifts),
        "specs": {d.spec_id: {k: v for k, v in asdict(d).items() if k != "spec_id" and v is not None} for d in drifts},
    }
