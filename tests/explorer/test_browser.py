"""The explorer page in a real browser: headless Chromium opens it from disk (file://),
clicks a node and a pass step, and the test reads what the page then shows. A screenshot is
kept in .artifacts/ (or $GRAPHC_ARTIFACTS), never committed. ``make browser`` installs
Chromium and its driver (``make test`` depends on it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.explorer.steps import ir_lines, mlp_step

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000")


def _find(*names: str) -> str:
    for name in names:
        path = shutil.which(name) or (f"/usr/lib/chromium/{name}"
                                      if os.path.exists(f"/usr/lib/chromium/{name}") else None)
        if path:
            return path
    pytest.fail(f"{' or '.join(names)} not found: run `make browser` (installs Debian's "
                "chromium and chromium-driver)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _find("chromium", "chromium-browser")
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(_find("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()


def _artifact(name: str) -> Path:
    folder = Path(os.environ.get("GRAPHC_ARTIFACTS", ROOT / ".artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def _click(driver, element) -> None:
    from selenium.webdriver import ActionChains

    ActionChains(driver).move_to_element(element).click().perform()


def test_click_a_node_and_a_pass_step(browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    fn = mlp_step()
    page = Path(fn.explore(str(tmp_path / "report.html"))).resolve()
    browser.get(page.as_uri())
    assert browser.title == "graphc explorer: @mlp_step"

    # a node: its IR line (the first fused_matmul line of fn.ir()) and its line in the IR
    first = next(i for i, n in enumerate(fn.graph.nodes) if n.op.name == "fused_matmul")
    _click(browser, browser.find_element(By.CSS_SELECTOR, f"#g-n{first} > rect"))
    assert browser.find_element(By.ID, "node-ir").text == ir_lines(fn, "fused_matmul")[0]
    assert "steps.py:" in browser.find_element(By.ID, "details").text
    browser.find_element(By.CSS_SELECTOR, 'button[data-tab="ir"]').click()
    assert browser.find_element(By.CSS_SELECTOR, "#finalir .at").text.strip() == \
        ir_lines(fn, "fused_matmul")[0]

    # a pass step: the lines fuse changed are highlighted, an unchanged pass shows none
    browser.find_element(By.CSS_SELECTOR, 'button[data-tab="pipeline"]').click()
    names = ["input"] + [r.name for r in fn.passes.records]
    k = names.index("fuse")
    browser.find_element(By.CSS_SELECTOR, f'.step[data-step="{k}"]').click()
    shown = browser.find_element(By.ID, "stepir").text.splitlines()
    assert shown == fn.passes.ir_after("fuse").rstrip("\n").splitlines()
    marked = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#stepir .chg")]
    before = set(fn.passes.ir_after(names[k - 1]).splitlines())
    new = [line for line in fn.passes.ir_after("fuse").splitlines() if line not in before]
    assert new and set(new) <= set(marked) and set(marked) <= set(shown)
    browser.save_screenshot(str(_artifact("explorer-pipeline.png")))
    browser.find_element(By.CSS_SELECTOR, f'.step[data-step="{names.index("memplan")}"]').click()
    assert browser.find_elements(By.CSS_SELECTOR, "#stepir .chg") == []

    # a fusion boundary links to its nodes; the page logged no script error
    browser.find_element(By.CSS_SELECTOR, 'button[data-tab="fusion"]').click()
    browser.find_element(By.CSS_SELECTOR, "#tab-fusion li.link").click()
    assert browser.find_elements(By.CSS_SELECTOR, ".node.hl")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    browser.save_screenshot(str(_artifact("explorer.png")))
