"""The statistics view: what each spec's examples drew, from the results JSON's `stats` blocks.

Per spec and device: the examples run, how many drew two or more sides (shaped) and among those how
many had two equal sides, how many had a side 0 or 1, and the share of each call form per input.
`conformance run --stats` prints it after a run; `conformance stats RESULTS.json` prints a saved one.
"""

from __future__ import annotations

from typing import Any


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:5.1f}%" if d else "    -"


def _forms(forms: dict[str, dict[str, int]]) -> str:
    parts = []
    for name, counts in forms.items():
        total = sum(counts.values()) or 1
        shares = ", ".join(f"{form} {100 * n // total}%" for form, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        parts.append(f"{name}: {shares}")
    return "; ".join(parts)


def totals(doc: dict[str, Any]) -> dict[str, int]:
    """Sums over every result with stats: examples, shaped, equal_sides, size_0, size_1."""
    keys = ("examples", "shaped", "equal_sides", "equal_sides_within_a_shape", "size_0", "size_1")
    out = dict.fromkeys(keys, 0)
    for r in doc.get("results", []):
        for k in keys:
            out[k] += int((r.get("stats") or {}).get(k, 0))
    return out


def table(doc: dict[str, Any], forms: bool = True) -> str:
    """One line per spec x device that recorded stats (+ its call forms), then the totals."""
    rows = [r for r in doc.get("results", []) if (r.get("stats") or {}).get("examples")]
    width = max((len(f"{r['spec_id']}[{r['device']}]") for r in rows), default=10)
    lines = [f"{'spec':{width}}  examples  shaped  equal sides  size 0  size 1"]
    for r in sorted(rows, key=lambda r: (r["spec_id"], r["device"])):
        s = r["stats"]
        n, shaped = s.get("examples", 0), s.get("shaped", 0)
        lines.append(f"{r['spec_id'] + '[' + r['device'] + ']':{width}}  {n:8}  {shaped:6}  "
                     f"{_pct(s.get('equal_sides', 0), shaped):>11}  {_pct(s.get('size_0', 0), n):>6}  "
                     f"{_pct(s.get('size_1', 0), n):>6}")
        if forms and s.get("forms"):
            lines.append(f"{'':{width}}    forms: {_forms(s['forms'])}")
    t = totals(doc)
    lines.append(f"{'all':{width}}  {t['examples']:8}  {t['shaped']:6}  {_pct(t['equal_sides'], t['shaped']):>11}  "
                 f"{_pct(t['size_0'], t['examples']):>6}  {_pct(t['size_1'], t['examples']):>6}")
    lines.append("equal sides: of the examples with two or more drawn sides, those where two are equal "
                 "(in one shape or across inputs)")
    return "\n".join(lines)
