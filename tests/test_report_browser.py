"""The report in a real headless Chromium (Playwright): counts, filters, details, and no network.

The page comes from a real run of the report fixture specs with a real fault (one failure, skips,
an xfail) on two devices.  A screenshot goes to reports/ (gitignored) for a human look.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_suite

from conformance.outputs import report

pytestmark = pytest.mark.browser

FIXTURES = ROOT / "tests" / "fixtures" / "report" / "specs"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
STATUSES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "total")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    d = tmp_path_factory.mktemp("browser")
    doc = run_suite(sorted(FIXTURES.glob("*.yaml")), d, "add_-returns-new", devices="cpu,meta")
    assert doc["summary"]["failed"] == 1, doc["_output"]
    page = d / "index.html"
    report.render([d / "results.json"], page)
    return page, json.loads((d / "results.json").read_text())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as e:  # noqa: BLE001 - any launch failure means: no browser here
            pytest.skip(f"no headless Chromium can be launched from {CHROMIUM}: {str(e).splitlines()[0]}")
        yield b
        b.close()


class Page:
    """One page load that records every request and every console error."""

    def __init__(self, browser: Any, path: Path):
        self.url = path.resolve().as_uri()
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.requests: list[str] = []   # anything but the page itself
        self.errors: list[str] = []
        # Any request that would leave the page is recorded and refused.
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda r: r.url != self.url and self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(self.url)

    def _route(self, route: Any) -> None:
        if route.request.url == self.url:
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def visible_specs(self) -> list[str]:
        return self.page.eval_on_selector_all("tr.spec", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.spec)")


@pytest.fixture
def page(browser: Any, rendered: tuple[Path, dict[str, Any]]) -> Iterator[Page]:
    p = Page(browser, rendered[0])
    yield p
    p.context.close()


def test_counts_shown_equal_the_json(page: Page, rendered: tuple[Path, dict[str, Any]]) -> None:
    doc = rendered[1]
    for s in STATUSES:
        assert page.page.inner_text(f"#overall [data-count={s}]") == str(doc["summary"][s]), s
    # per environment: one row per device with that device's counts
    for dev in ("cpu", "meta"):
        mine = [r for r in doc["results"] if r["device"] == dev]
        row = page.page.locator("#per-environment tbody tr", has_text=f" · {dev}")
        assert row.locator("[data-status=passed]").inner_text() == str(sum(r["status"] == "passed" for r in mine))
        assert row.locator("[data-status=skipped]").inner_text() == str(sum(r["status"] == "skipped" for r in mine))
    assert page.page.locator("td.c.fail").count() == doc["summary"]["failed"]
    assert page.errors == [] and page.requests == []


def test_only_failures_hides_passing_rows_and_search_filters(page: Page, rendered: tuple[Path, dict[str, Any]]) -> None:
    doc = rendered[1]
    every = sorted({r["spec_id"] for r in doc["results"]})
    failing = sorted({r["spec_id"] for r in doc["results"] if r["status"] in ("failed", "error")})
    assert sorted(page.visible_specs()) == every
    page.page.check("#only-bad")
    assert sorted(page.visible_specs()) == failing
    assert page.page.locator("tr.spec.bad").first.is_visible()
    assert page.page.locator("tr.spec:not(.bad)").first.is_hidden()
    assert page.page.inner_text("#shown") == str(len(failing))
    page.page.uncheck("#only-bad")
    page.page.fill("#q", "reshape")
    assert page.visible_specs() == ["shape/reshape-matches-numpy"]
    page.page.fill("#q", "")
    # per-area collapse hides that area's rows only
    page.page.click("tr.area button[data-area=views]")
    shown = page.visible_specs()
    assert not any(s.startswith("views/") for s in shown) and len(shown) == len(every) - sum(
        s.startswith("views/") for s in every)
    page.page.click("#expand-all")
    assert sorted(page.visible_specs()) == every
    assert page.errors == [] and page.requests == []


def test_failure_details_expand(page: Page, rendered: tuple[Path, dict[str, Any]]) -> None:
    entry = next(r for r in rendered[1]["results"] if r["status"] == "failed")
    row = page.page.locator(f'tr.spec[data-spec="{entry["spec_id"]}"]')
    detail = page.page.locator(f'#{row.get_attribute("id")}-d')
    assert detail.is_hidden()
    row.locator("td.c.fail button").click()
    assert detail.is_visible()
    section = detail.locator("section.cd.fail")
    assert section.is_visible()
    text = section.inner_text()
    assert "Falsifying example" in text and entry["reproduce"]["command"] in text
    assert entry["error"].splitlines()[0] in text
    snippet = section.locator("pre.snippet")
    assert snippet.is_visible() and "torch.manual_seed(" in snippet.inner_text()
    assert entry["source"]["quote"] in detail.inner_text()
    section.locator("button.copy").click()  # copying must not raise, whatever the clipboard allows
    shots = ROOT / "reports"
    shots.mkdir(exist_ok=True)
    page.page.screenshot(path=str(shots / "report-browser.png"), full_page=True)
    row.locator("td.c.fail button").click()  # a second click folds it again
    assert detail.is_hidden()
    assert page.errors == [] and page.requests == []
