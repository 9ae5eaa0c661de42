"""The asset's page in a real browser (headless Chromium against the session's `dagster dev`):
before any run it shows the parameters and the values Materialize will use; after Materialize,
the materialization and the check evaluation show the values they used.

With ``NEXUS_SCREENSHOTS=<folder>`` the screenshots are saved there too (the docs' images,
docs/images/, are made that way)."""

import contextlib
import os
import shutil
from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from . import ui_support
from .test_asset_graph_ui import asset_job_runs, new_asset_job_runs
from .test_ui_launchpad import browser_page
from .ui_support import RUN_TIMEOUT, START_TIMEOUT, Webserver, require_chromium

dagster_dev = ui_support.dagster_dev
pytestmark = [
    pytest.mark.timeout(START_TIMEOUT + RUN_TIMEOUT + 120),
    pytest.mark.xdist_group("dagster_dev"),
]


@pytest.fixture
def chromium() -> Path:
    return require_chromium()


def screenshot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=folder / name)
    docs = os.environ.get("NEXUS_SCREENSHOTS")
    if docs:
        shutil.copy(folder / name, Path(docs) / name)


def metadata_row(page: Page, key: str) -> Locator:
    """The row of the metadata table (definition or event) whose key cell is ``key``."""
    return page.locator("tr", has=page.locator("td", has_text=key)).first


def test_the_asset_page_shows_the_parameters_before_a_run_and_the_values_after_materialize(
    chromium: Path, dagster_dev: Webserver, tmp_path: Path
) -> None:
    webserver = dagster_dev
    (webserver.data / "reports-lake").mkdir(exist_ok=True)
    (webserver.data / "reports-lake" / "sales.csv").write_text(
        "date,region,amount\n2026-11-01,north,120.5\n2026-11-02,east,210\n"
    )
    before = {r.run_id for r in asset_job_runs(webserver, "top_sales")}
    failure = tmp_path / "failure.png"
    with browser_page(chromium, webserver, "/assets/top_sales", failure, (2200, 1300)) as page:
        # Before any run: each parameter, its type, and the value Materialize resolves,
        # with its field and spec; the check's parameter with its asset.
        table = metadata_row(page, "nexus/parameters")
        expect(table).to_be_visible()
        for text in ("target_bucket", "reports-lake", "top_sales.top_n", "top_sales_job",
                     "check top_sales_has_rows", "How many of the largest sales to keep",
                     "(model default)"):  # fmt: skip
            expect(table.get_by_text(text, exact=True).first).to_be_visible()
        expect(table.get_by_role("row").filter(has_text="top_n")).to_contain_text("3")
        note = metadata_row(page, "nexus/materialize")
        expect(note).to_contain_text("asset_defaults spec `top_sales_job`")
        screenshot(page, tmp_path, "asset-page-parameters.png")

        button = page.get_by_role("button", name="materialization Materialize", exact=True)
        expect(button).to_be_enabled()
        button.click()
        # Dagster asks first when the upstream sales_ingestion_asset was never materialized
        # (earlier tests of the session may have materialized it).
        dialog = page.get_by_role("dialog").filter(has_text="Are you sure?")
        with contextlib.suppress(PlaywrightTimeoutError):
            dialog.get_by_role("button", name="Confirm").click(timeout=5_000)
        (run,) = new_asset_job_runs(webserver, "top_sales", before)
        assert run.run_config == {}  # the button gives no run config
        run_id = run.run_id
        assert webserver.wait_for_run(run_id) == dg.DagsterRunStatus.SUCCESS

        # After: the materialization shows its values as a table, beside its record.
        page.goto(f"{webserver.url}/assets/top_sales?view=events")
        expect(page.get_by_text(run_id[:8]).first).to_be_visible()
        values = metadata_row(page, "nexus/values")
        expect(values).to_be_visible()
        expect(values.get_by_role("row").filter(has_text="top_n")).to_contain_text(
            "top_sales.top_n"
        )
        expect(values.get_by_role("row").filter(has_text="target_bucket")).to_contain_text(
            "reports-lake"
        )
        expect(metadata_row(page, "nexus/spec")).to_contain_text("top_sales_job")
        screenshot(page, tmp_path, "materialization-values.png")

        # The run's own page shows the same table on its events, the check's included.
        page.goto(f"{webserver.url}/runs/{run_id}")
        evaluation = page.get_by_text("ASSET_CHECK_EVALUATION", exact=True).first
        expect(evaluation).to_be_visible()
        expect(page.get_by_text("top_sales.min_rows", exact=True).first).to_be_visible()
        screenshot(page, tmp_path, "run-values.png")
