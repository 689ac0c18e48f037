"""Seen in a real browser: the MLflow UI (a real `mlflow server`) shows an AutoML experiment.

Headless Chromium (Debian's `chromium` + `chromium-driver`, driven by Selenium) opens the
experiment's runs table, the AutoML run's artifacts and a child run's charts. Screenshots are
saved under `test-artifacts/ui/`.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

import mlflow_automl as automl

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "ui"

# CI installs the browser and sets AUTOML_REQUIRE_BROWSER=1, so there a missing browser fails.
pytestmark = pytest.mark.skipif(
    (CHROMIUM is None or CHROMEDRIVER is None) and not os.environ.get("AUTOML_REQUIRE_BROWSER"),
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1600,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait_for(driver, predicate, timeout=45, what="page content"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            result = predicate(driver)
            if result:
                return result
        except Exception:  # the single-page app re-renders while we look
            pass
        time.sleep(0.5)
    _shot(driver, "timeout_" + what.replace(" ", "_"))
    raise AssertionError(f"timed out waiting for {what}")


def _shot(driver, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def _image_loaded(driver):
    # the chart is the only large raster image on the page (icons are SVG)
    return driver.execute_script(
        "return Array.from(document.images).some(i => i.complete && i.naturalWidth > 200);"
    )


def test_automl_run_in_the_mlflow_ui(server_store, penguins, browser):
    config = automl.AutoMLConfig(
        task="classification", training_data=penguins, label_column_name="species", iterations=4
    )
    run = automl.submit(config, experiment_name="ui-check")
    children = run.get_children()
    base = f"{server_store}/#/experiments/{run.experiment_id}"
    from selenium.webdriver.common.by import By

    # 1. the runs table: the AutoML run, expanded, lists its child runs
    browser.get(f"{base}/runs")
    parent_name = run.run.info.run_name
    _wait_for(
        browser,
        lambda d: parent_name in d.find_element(By.TAG_NAME, "body").text,
        what="the AutoML run in the runs table",
    )
    # the "+" button in the run-name cell expands a parent run's children
    expander = browser.find_element(
        By.CSS_SELECTOR, "button[data-component-id*='runnamecellrenderer']"
    )
    expander.click()
    child_name = children[0].info.run_name
    _wait_for(
        browser,
        lambda d: child_name in d.find_element(By.TAG_NAME, "body").text,
        what="child runs under the AutoML run",
    )
    _shot(browser, "01_runs_table")

    # 2. the AutoML run's artifacts: the leaderboard table renders
    browser.get(f"{base}/runs/{run.run_id}/artifacts/leaderboard.json")
    best_learner = run.get_leaderboard()["learner"][0]
    _wait_for(
        browser,
        lambda d: (
            "leaderboard.json" in d.page_source
            and best_learner in d.find_element(By.TAG_NAME, "body").text
        ),
        what="the leaderboard table",
    )
    _shot(browser, "02_leaderboard")

    # 3. the best child run's chart image loads
    best_child = run.tags["automl.best_child_run_id"]
    browser.get(f"{base}/runs/{best_child}/artifacts/charts/roc.png")
    _wait_for(browser, _image_loaded, what="the ROC chart image")
    _shot(browser, "03_child_chart")
