"""JUnit XML for CI systems: one <testsuite> per environment, one <testcase> per spec x device.

Built from the report's model, so the newest-run-wins rule and the statuses match the HTML page:
failed -> <failure>, error / crashed / timeout -> <error>, skipped / not run / n/a / xfail -> <skipped> (with the reason),
passed and xpassed -> a bare testcase.  Cells a column's runs do not hold are left out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:500] if (text or "").strip() else ""


def to_xml(report: Any) -> str:
    """`report` is a report.Report (junit sits below report: report imports junit, never the reverse)."""
    root = ET.Element("testsuites", name="torch-conformance")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for col in report.columns:
        run = col.newest
        suite = ET.SubElement(root, "testsuite", name=col.label, timestamp=run.doc["created"],
                              hostname=str(run.env.get("hostname") or ""))
        props = ET.SubElement(suite, "properties")
        for k, v in (("torch", col.torch), ("torch_git", run.env["torch"].get("git_version")), ("device", col.device),
                     ("device_model", col.model), ("numpy", run.env.get("numpy")), ("python", run.env.get("python")),
                     ("hypothesis_profile", run.env["hypothesis"]["profile"].get("name")), ("fault", col.fault)):
            if v is not None:
                ET.SubElement(props, "property", name=k, value=str(v))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        time = 0.0
        for row in report.rows:
            cell = row.cells[col.index]
            r = cell.result
            if r is None:
                continue
            counts["tests"] += 1
            time += float(r.get("duration") or 0.0)
            case = ET.SubElement(suite, "testcase", classname=f"conformance.{row.area}",
                                 name=f"{row.spec_id}[{r['device']}]", time=f"{float(r.get('duration') or 0):.3f}")
            if r.get("file"):
                case.set("file", str(r["file"]))
                if r.get("line"):
                    case.set("line", str(r["line"]))
            status = r["status"]
            if status in ("failed", "error", "crashed", "timeout"):   # crashed/timeout: <error>, the spec could not finish
                tag = "failure" if status == "failed" else "error"
                counts["failures" if status == "failed" else "errors"] += 1
                el = ET.SubElement(case, tag, message=_first_line(r.get("error")) or status,
                                   type=str(r.get("error_type") or status))
                body = [r.get("error") or ""]
                quote = (r.get("source") or {}).get("quote")
                if quote:
                    body.append(f"documented promise: {quote}")
                rep = r.get("reproduce") or {}
                if rep.get("command"):
                    body.append(f"reproduce: {rep['command']}")
                if rep.get("blob"):
                    body.append(rep["blob"])
                el.text = "\n".join(body)
            elif status in ("skipped", "xfailed"):
                counts["skipped"] += 1
                el = ET.SubElement(case, "skipped", message=str(cell.reason or status))
                if status == "xfailed":
                    el.set("type", "xfail")
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("time", f"{time:.3f}")
    for k, v in totals.items():
        root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
